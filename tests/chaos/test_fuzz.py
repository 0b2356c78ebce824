"""10,000+ malformed or hostile events through a real worker: all accounted for, worker alive."""

import pytest

from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce
from tests.chaos.hostile import hypothesis_events, random_bytes
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.chaos


def test_hostile_events_are_all_accounted_for(fresh, tmp_path):
    s = fresh(partitions=4)
    messages = hypothesis_events(7000) + random_bytes(3200)
    assert len(messages) >= 10_000
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, messages)
        out = wait_outputs(s, len(messages), worker, timeout_s=600)
        assert worker.alive()
    check_invariant(s, out)
    assert len(out.dlq) > 3000 and out.rejected and out.accepted
    assert not [d for d in out.dlq if d["fw-error"] == "internal_error"]
