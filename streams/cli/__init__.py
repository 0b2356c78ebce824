"""The ``flywheel`` command line.

An operator's mistake (a bad or misspelt ``FLYWHEEL_*`` variable, no broker, a missing file) is
reported in one line on stderr and a non-zero exit, not a traceback: docs/operations.md,
"Command-line errors".
"""

from __future__ import annotations

import argparse
import sys

from services.settings.load import SettingsError, load_settings, unknown_variables
from streams.cli import data, evalsets, models, privacy, stack
from streams.cli.base import CONNECT_TIMEOUT_S, CliError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flywheel", description=__doc__)
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the Kafka broker (default {CONNECT_TIMEOUT_S:g})",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    for group in (stack, data, models, evalsets, privacy):
        group.add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for warning in unknown_variables():
            print(f"flywheel: {warning}", file=sys.stderr)
        load_settings()  # every command: a bad variable is reported before anything runs
        return int(args.fn(args) or 0)
    except SettingsError as exc:
        for line in str(exc).splitlines():
            print(f"flywheel: {line}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"flywheel {args.cmd}: {exc}", file=sys.stderr)
        return 1
