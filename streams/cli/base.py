"""What every command uses: the settings (with the dev stack's addresses), the wait for the
broker, one-line errors and the argument types.

An operator's mistake (a bad or misspelt ``FLYWHEEL_*`` variable, no broker, a missing file) is
reported in one line on stderr and a non-zero exit, not a traceback: docs/operations.md,
"Command-line errors".
"""

from __future__ import annotations

import argparse
import os
import socket
import time
from pathlib import Path
from typing import IO, Any

from services.errors import FlywheelError
from services.settings import Settings
from services.settings.load import load_settings

CONNECT_TIMEOUT_S = 10.0  # how long a command waits for the broker before giving up


class CliError(FlywheelError):
    """A problem the operator can fix; main prints it as one line and exits 1."""


def settings() -> Settings:
    """Settings from the environment; without FLYWHEEL_KAFKA_BOOTSTRAP / FLYWHEEL_REDIS_URL the
    running dev stack (``flywheel dev up``) supplies them."""
    from services.dev.devstack import DevStack

    base = load_settings()
    stack = DevStack(base.state_dir).status()
    if stack is None:
        return base
    overrides: dict[str, Any] = {
        k.removeprefix("FLYWHEEL_").lower(): v
        for k, v in stack.env().items()
        if k not in os.environ
    }
    return load_settings(**overrides) if overrides else base


def broker_settings(args: argparse.Namespace) -> Settings:
    """``settings()`` once the broker accepts connections: commands that need it fail in one
    line, after ``--connect-timeout`` seconds, instead of a client's traceback."""
    s = settings()
    wait_for_broker(s.kafka_bootstrap, args.connect_timeout)
    return s


def wait_for_broker(bootstrap: str, timeout_s: float) -> None:
    """Return once one of the ``host:port[,...]`` addresses accepts a TCP connection; raise
    ``CliError`` naming them after ``timeout_s``."""
    addresses = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port.isdigit():
            addresses.append((host.strip("[]"), int(port)))
    if not addresses:
        raise CliError(f"FLYWHEEL_KAFKA_BOOTSTRAP={bootstrap}: expected host:port[,host:port]")
    deadline = time.monotonic() + timeout_s
    while True:
        for address in addresses:
            try:
                with socket.create_connection(address, timeout=min(1.0, max(timeout_s, 0.1))):
                    return
            except OSError:
                pass
        if time.monotonic() >= deadline:
            raise CliError(
                f"cannot reach the Kafka broker at {bootstrap} (FLYWHEEL_KAFKA_BOOTSTRAP) within "
                f"{timeout_s:g} s; start the local stack with `flywheel dev up`"
            )
        time.sleep(0.2)


def existing_file(path: Path) -> Path:
    """``path`` when it is a file, else ``CliError`` before any work is done."""
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    return path


def writable_file(path: Path) -> None:
    """Refuse an output path that cannot be written before any work is done."""
    if path.is_dir():
        raise CliError(f"cannot write {path}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise CliError(f"cannot write {path}: permission denied")


def open_out(path: str, mode: str) -> IO[Any]:
    """``open`` with an OSError (a full disk, a read-only file system) as one line."""
    try:
        return open(path, mode, encoding=None if "b" in mode else "utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def count(text: str) -> int:
    """An argument type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: expected a count >= 0")
    return value


def share(text: str) -> float:
    """An argument type: a number from 0 to 1."""
    value = float(text)
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value
