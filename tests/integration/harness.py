"""Runs real ``flywheel worker`` processes for the integration tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from services.dev.accounting import Outputs, read_outputs, topic_end_offsets
from services.settings import Settings
from streams.demo import stop_worker
from streams.replay import produce
from tests.conftest import ROOT, settings_env


class WorkerProcess:
    def __init__(self, s: Settings, log_path: Path) -> None:
        self.s = s
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        env = {**os.environ, **settings_env(self.s), "HF_HUB_OFFLINE": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=open(self.log_path, "ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

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


def wait_outputs(s: Settings, expected: int, worker: WorkerProcess, timeout_s: float) -> Outputs:
    """Poll the output topics until ``expected`` records are there; fail early if the worker dies."""
    deadline = time.monotonic() + timeout_s
    while True:
        out = read_outputs(s)
        if out.total >= expected:
            return out
        assert worker.alive(), f"worker died:\n{worker.log_tail()}"
        assert time.monotonic() < deadline, (
            f"only {out.total}/{expected} outputs after {timeout_s}s:\n{worker.log_tail()}"
        )
        time.sleep(1.0)


def check_invariant(s: Settings, out: Outputs) -> None:
    ends = topic_end_offsets(s.kafka_bootstrap, s.topic_events)
    assert out.missing(s.topic_events, ends) == []
    assert out.duplicated_srcs() == []
    assert out.total == sum(ends.values()), (
        out.total,
        ends,
        len(out.srcs),
        [k for k in out.srcs if not k.startswith(s.topic_events)][:5],
    )
    assert out.duplicated_prompt_ids() == []


__all__ = ["WorkerProcess", "check_invariant", "produce", "wait_outputs"]
