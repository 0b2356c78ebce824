"""``flywheel worker`` processes on the embedded stack, for the demo, the integration tests and
the benchmarks: one way to start, stop and wait for a worker, and settings of a run's own.

``isolated_settings`` gives a run topics, a consumer group and a Redis namespace nobody else
uses, so runs can share one stack. ``wait_outputs`` polls the output topics and fails early, with
the worker's log, when the worker has died.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from services.dev.accounting import Outputs, read_outputs
from services.dev.devstack import DevStackError, Stack
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
TOPICS = (
    "events",
    "annotation",
    "rejected",
    "dlq",
    "curate",
    "results",
    "gaps",
    "review",
    "erasure",
    "erased",
    "audit",
)


def isolated_settings(stack: Stack, prefix: str, **overrides: Any) -> Settings:
    """Settings for one run on a running stack: topics, consumer group and Redis namespace of
    its own (``<prefix><random>``), no metrics port, the repository's model cache."""
    run = f"{prefix}{uuid.uuid4().hex[:8]}"
    values: dict[str, Any] = {
        "kafka_bootstrap": stack.bootstrap,
        "redis_url": stack.redis_url,
        "app_id": run,
        "namespace": run,
        "state_dir": ROOT / ".flywheel",
        "metrics_port": 0,
    }
    for name in TOPICS:
        values[f"topic_{name}"] = f"{run}.{Settings.model_fields[f'topic_{name}'].default}"
    return Settings(**(values | overrides))


def start_worker(
    env: dict[str, str], log_path: Path, cwd: Path | None = None, append: bool = False
) -> subprocess.Popen:
    """A ``flywheel worker`` in its own process group (``stop_worker`` signals the group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "worker"],
        cwd=cwd,
        env=env,
        stdout=open(log_path, "ab" if append else "wb"),  # the child process owns it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_worker(proc: subprocess.Popen, timeout_s: float = 15) -> None:
    """SIGTERM (Faust shuts down cleanly), then SIGKILL if it has not exited in time."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass


class WorkerProcess:
    """One worker started with the settings ``s`` (as ``FLYWHEEL_*`` variables), its output
    appended to ``log_path``; a context manager that stops it cleanly."""

    def __init__(self, s: Settings, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.s = s
        self.log_path = log_path
        self.env = env or {}  # e.g. a fault injected from outside the product (tests/chaos)
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        env = {**os.environ, **self.s.to_env(), "HF_HUB_OFFLINE": "1", **self.env}
        self.proc = start_worker(env, self.log_path, cwd=ROOT, append=True)
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc is not None else -1

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is None:
            return
        if sig == signal.SIGKILL:
            if self.alive():
                os.killpg(self.proc.pid, sig)
                self.proc.wait(30)
        else:
            stop_worker(self.proc)

    def log_tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:] if self.log_path.exists() else ""

    def __enter__(self) -> WorkerProcess:
        return self if self.proc is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill(signal.SIGTERM)


def wait_outputs(
    s: Settings, expected: int, worker: WorkerProcess, timeout_s: float, poll_s: float = 1.0
) -> Outputs:
    """Poll the output topics until ``expected`` records are there; fail early if the worker
    dies, and after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        out = read_outputs(s)
        if out.total >= expected:
            return out
        if not worker.alive():
            raise DevStackError(f"worker died:\n{worker.log_tail()}")
        if time.monotonic() > deadline:
            raise DevStackError(
                f"only {out.total}/{expected} outputs after {timeout_s}s:\n{worker.log_tail()}"
            )
        time.sleep(poll_s)
