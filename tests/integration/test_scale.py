"""Horizontal scale on the embedded broker: three worker processes in one consumer group over six
partitions; one is killed while events flow. Partitions move to the survivors, every event still
ends in exactly one output, and no prompt_id is accepted twice."""

import signal
import time

import pytest

from services.dev.accounting import read_outputs
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from services.ops.lag import LagMonitor
from streams.replay import produce
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.integration


def test_three_workers_one_killed_mid_stream(fresh, tmp_path):
    s = fresh(partitions=6, curate_partitions=6, session_timeout_s=8)
    messages = [raw for raw, _ in ChatLogGenerator(seed=13, bad_rate=0.01).events(1800)]
    workers = [WorkerProcess(s, tmp_path / f"worker-{i}.log").start() for i in range(3)]
    try:
        produce(s, messages[:900])
        wait_outputs(s, 200, workers[0], timeout_s=300)
        workers[1].kill(signal.SIGKILL)  # dies without leaving the group
        produce(s, messages[900:])
        out = wait_outputs(s, len(messages), workers[0], timeout_s=420)
        assert workers[2].alive()
        # The survivors took over the dead worker's partitions: all six drain to zero lag.
        monitor = LagMonitor(s.kafka_bootstrap, s.app_id, [s.topic_events])
        try:
            deadline = time.monotonic() + 60
            rows = monitor.poll()
            while sum(r.lag for r in rows) and time.monotonic() < deadline:
                time.sleep(1)
                rows = monitor.poll()
        finally:
            monitor.close()
        assert len(rows) == 6 and sum(r.lag for r in rows) == 0, rows
    finally:
        for w in workers:
            w.kill(signal.SIGTERM)
    check_invariant(s, out)
    assert read_outputs(s).duplicated_prompt_ids() == []
