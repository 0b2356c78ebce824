# The two commands of the README:  make demo  (set up and run the main job)  and  make test.
.PHONY: setup demo test test-unit lint bench clean

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/flywheel demo --events $${EVENTS:-3000}

test: setup
	.venv/bin/ruff check services streams tests bench
	.venv/bin/mypy
	.venv/bin/pytest -q

test-unit: setup
	.venv/bin/pytest -q tests/unit

lint: setup
	.venv/bin/ruff check services streams tests bench
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/pipeline.py

clean:
	-.venv/bin/flywheel dev down
	rm -rf .flywheel
