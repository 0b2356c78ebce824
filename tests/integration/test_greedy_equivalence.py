"""On one partition, the pipeline's decisions equal the brute-force greedy rule (Llama 3 style):
in arrival order, keep a prompt iff its max cosine to every prompt kept before is below the
threshold. Real worker, broker, Redis, model and FAISS; the reference is computed here."""

import pytest

from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce
from tests.integration.harness import check_invariant, greedy_outcomes

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_one_partition_decisions_equal_brute_force_greedy(fresh, tmp_path, backend):
    # Arrival order, no quotas and no mix: the plain greedy rule, for each transformer engine.
    s = fresh(
        partitions=1,
        curate_partitions=1,
        embedding_backend=backend,
        order_by_priority=False,
        quota_max_share=1.0,
        mix_max_synthetic=1.0,
        preamble_min_count=0,  # the reference embeds whole texts
    )
    raw_events = [raw for raw, meta in ChatLogGenerator(seed=21).events(700)]
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw_events)
        out = wait_outputs(s, len(raw_events), worker, timeout_s=300)
    check_invariant(s, out)
    got_accepted = {r["event_id"] for r in out.accepted}
    got_near = {r["event_id"] for r in out.rejected if r["reason"] == "near_duplicate"}
    accepted, near, borderline, lexical = greedy_outcomes(s, raw_events, got_accepted | got_near)
    assert len(near) > 20 and len(accepted) > 50  # both outcomes are exercised
    assert len(borderline) - lexical <= 2
    assert got_accepted - borderline == accepted - borderline
    assert got_near - borderline == near - borderline
