"""Fault injection on the real stack. Every scenario checks the accounting invariant (every input
event in exactly one output) and that no prompt_id is accepted twice."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest

from services.dev.accounting import read_outputs
from services.dev.devstack import free_port, redis_server_bin
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce
from tests.integration.harness import check_invariant

SLOW_DOWNSTREAM = Path(__file__).with_name("slow_downstream")

pytestmark = pytest.mark.chaos


def log_of(n: int) -> list[bytes]:
    return [raw for raw, _ in ChatLogGenerator(seed=n, bad_rate=0.01).events(2000)]


def test_sigkill_at_random_moments_ten_trials(fresh, tmp_path):
    s = fresh(partitions=4, session_timeout_s=6)
    messages = log_of(31)
    produce(s, messages)
    rng = random.Random(2026)
    for trial in range(10):
        worker = WorkerProcess(s, tmp_path / f"worker-{trial}.log").start()
        try:
            # kill at a random moment: after a random number of new outputs, or a random delay
            target = min(read_outputs(s).total + rng.randint(20, 150), len(messages))
            deadline = time.monotonic() + rng.uniform(8, 25)
            while read_outputs(s).total < target and time.monotonic() < deadline:
                assert worker.alive(), worker.log_tail()
                time.sleep(rng.uniform(0.05, 0.5))
        finally:
            worker.kill(signal.SIGKILL)
    with WorkerProcess(s, tmp_path / "worker-final.log") as worker:
        out = wait_outputs(s, len(messages), worker, timeout_s=400)
    check_invariant(s, out)


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of this test only, with an fsync-always append-only file, so that SIGKILL loses
    nothing it acknowledged (what production Redis should run with)."""
    port = free_port()
    cmd = [
        redis_server_bin(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--dir",
        str(tmp_path),
    ]

    def start() -> subprocess.Popen:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return proc
            time.sleep(0.05)
        raise RuntimeError("redis did not start")

    state = {"proc": start()}
    yield port, state, start
    state["proc"].kill()


def test_redis_killed_and_restarted_mid_stream(fresh, tmp_path, own_redis):
    port, state, start = own_redis
    s = fresh(partitions=4, redis_url=f"redis://127.0.0.1:{port}/0")
    messages = log_of(32)
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, messages[:1000])
        wait_outputs(s, 300, worker, timeout_s=300)
        state["proc"].send_signal(signal.SIGKILL)
        state["proc"].wait()
        produce(s, messages[1000:])
        time.sleep(5)  # the worker retries with backoff meanwhile
        assert worker.alive()
        state["proc"] = start()
        out = wait_outputs(s, len(messages), worker, timeout_s=400)
    check_invariant(s, out)


def test_broker_frozen_for_20_seconds(fresh, tmp_path, stack):
    s = fresh(partitions=4)
    messages = log_of(33)
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, messages[:1200])
        wait_outputs(s, 300, worker, timeout_s=300)
        os.kill(stack.broker_pid, signal.SIGSTOP)
        try:
            time.sleep(20)
        finally:
            os.kill(stack.broker_pid, signal.SIGCONT)
        produce(s, messages[1200:])
        out = wait_outputs(s, len(messages), worker, timeout_s=400)
        assert worker.alive()
    check_invariant(s, out)


def test_slow_downstream_applies_back_pressure(fresh, tmp_path):
    """Producing to the annotation topic stalls 1.5 s per batch: the curate stage slows down,
    its input backs up in Kafka (lag), not in the worker's memory, and nothing is lost."""
    s = fresh(partitions=2, curate_partitions=2)
    s = s.model_copy(update={"batch_max": 32})
    slow = {
        "PYTHONPATH": os.pathsep.join([str(SLOW_DOWNSTREAM), os.environ.get("PYTHONPATH", "")]),
        "FLYWHEEL_TEST_SLOW_TOPIC": s.topic_annotation,
        "FLYWHEEL_TEST_SLOW_S": "1.5",
    }
    messages = log_of(34)[:1200]
    from services.ops.lag import LagMonitor

    monitor = LagMonitor(s.kafka_bootstrap, s.app_id, [s.topic_curate])
    max_curate_lag = 0
    with WorkerProcess(s, tmp_path / "worker.log", slow) as worker:
        produce(s, messages)
        deadline = time.monotonic() + 400
        while read_outputs(s).total < len(messages) and time.monotonic() < deadline:
            assert worker.alive(), worker.log_tail()
            max_curate_lag = max(max_curate_lag, sum(r.lag for r in monitor.poll()))
            time.sleep(1)
        out = wait_outputs(s, len(messages), worker, timeout_s=60)
        rss_mb = (
            int(open(f"/proc/{worker.proc.pid}/status").read().split("VmHWM:")[1].split()[0]) / 1024
        )
    monitor.close()
    check_invariant(s, out)
    assert max_curate_lag > 0  # the backlog waited in Kafka
    assert rss_mb < 2048  # and not in memory
