# The two commands of the README:  make demo  (set up and run the main job)  and  make test.
.PHONY: setup demo test unit integration chaos test-unit lint bench soak clean

setup:
	./scripts/setup.sh

demo: setup
	.venv/bin/flywheel demo --events $${EVENTS:-3000}

test:
	./scripts/setup.sh --test
	.venv/bin/ruff check services streams tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache
	.venv/bin/pytest -q

# One tier at a time: unit needs nothing running; integration and chaos start the embedded stack.
unit:
	./scripts/setup.sh --test
	.venv/bin/pytest -q tests/unit

integration:
	./scripts/setup.sh --test
	.venv/bin/pytest -q -m integration tests/integration

chaos:
	./scripts/setup.sh --test
	.venv/bin/pytest -q -m chaos tests/chaos

test-unit: unit

lint: setup
	.venv/bin/ruff check services streams tests bench
	.venv/bin/mypy
	.venv/bin/lint-imports --no-cache

bench: setup
	.venv/bin/python -m bench embedding
	.venv/bin/python -m bench cleaning
	.venv/bin/python -m bench pipeline --baseline

soak: setup
	.venv/bin/python -m bench soak --minutes 30

clean:
	-.venv/bin/flywheel dev down
	rm -rf .flywheel
