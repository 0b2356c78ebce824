"""``python -m bench <suite> [options]``; ``python -m bench --list`` lists the suites.

Every suite prints its figures; ``--record`` also appends them to ``bench/results/<suite>.jsonl``
(schema: bench/harness.py). A suite module has a docstring (its first line is its summary),
``arguments(parser)`` and ``run(args, recorder)``.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import sys
from pathlib import Path

SUITES = [
    "pipeline",
    "soak",
    "race",
    "ood-curation",
    "gaps",
    "embedding",
    "threshold",
    "cascade",
    "preamble",
    "sharding",
    "index",
    "union-index",
    "recovery",
    "lexical",
    "scoring",
    "cleaning",
    "pii",
    "agreement",
    "followups",
    "conversations",
    "contamination",
    "erasure",
]


def module_name(suite: str) -> str:
    return "bench.suites." + suite.replace("-", "_")


def summary(suite: str) -> str:
    """The first line of a suite's docstring, read without importing it (suites import models)."""
    spec = importlib.util.find_spec(module_name(suite))
    assert spec is not None and spec.origin is not None
    doc = ast.get_docstring(ast.parse(Path(spec.origin).read_text(encoding="utf-8"))) or ""
    return doc.split("\n\n")[0].replace("\n", " ")


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("--list", "-h", "--help"):
        print(__doc__.split("\n")[0] if argv and argv[0] != "--list" else "suites:")
        for suite in SUITES:
            print(f"  {suite:14s} {summary(suite)}")
        return 0
    suite = argv[0]
    if suite not in SUITES:
        print(f"unknown suite {suite!r}; python -m bench --list", file=sys.stderr)
        return 2
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    module = importlib.import_module(module_name(suite))
    ap = argparse.ArgumentParser(
        prog=f"python -m bench {suite}",
        description=module.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    module.arguments(ap)
    ap.add_argument(
        "--record", action="store_true", help=f"append the results to bench/results/{suite}.jsonl"
    )
    args = ap.parse_args(argv[1:])
    from bench.harness import RESULTS, Recorder

    params = {k: v for k, v in vars(args).items() if k != "record"}
    recorder = Recorder(suite, params, RESULTS / f"{suite}.jsonl" if args.record else None)
    return int(module.run(args, recorder) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
