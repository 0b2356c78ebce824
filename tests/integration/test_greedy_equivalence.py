"""On one partition, the pipeline's decisions equal the brute-force greedy rule (Llama 3 style):
in arrival order, keep a prompt iff its max cosine to every prompt kept before is below the
threshold. Real worker, broker, Redis, model and FAISS; the reference is computed here."""

import numpy as np
import pytest

from services.clean.chain import Cleaned, Cleaner
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from services.embed.embedder import Embedder
from streams.replay import produce
from tests.integration.harness import check_invariant
from tests.oracles import greedy_reference

pytestmark = pytest.mark.integration

BORDERLINE = 1e-4  # float noise between batched and unbatched encoding


def screened(s, raw_events, reached) -> list[tuple[str, str, str]]:
    """(event id, cleaned text, language) of the events in ``reached``, from the ingest stage's
    own screening."""
    cleaner = Cleaner(s)
    cands = []
    for raw in raw_events:
        cand = cleaner.screen(raw)
        if isinstance(cand, Cleaned) and cand.event.event_id in reached:
            cands.append((cand.event.event_id, cand.text, cand.lang))
    return cands


def reference(s, raw_events, reached):
    """Expected accepted and near-duplicate event ids, plus the ones to ignore: borderline
    cosines, and texts the model cannot read (they take the lexical path, tested elsewhere).

    ``reached``: the events the pipeline sent through the semantic check (accepted or
    near_duplicate); the stages before it are other tests' business. Their cleaned text comes
    from the ingest stage's own screening."""
    cands = screened(s, raw_events, reached)
    emb = Embedder(s.embedding_model, s.embedding_backend, s.state_dir / "models", 16).setup()
    ratios = emb.unknown_token_ratio([t for _, t, _ in cands])
    readable = [c for c, r in zip(cands, ratios, strict=True) if r <= s.max_unknown_token_ratio]
    accepted: set[str] = set()
    near: set[str] = set()
    borderline = {c[0] for c, r in zip(cands, ratios, strict=True) if r > s.max_unknown_token_ratio}
    lexical = len(borderline)
    for lang in {lang for _, _, lang in readable}:
        group = [c for c in readable if c[2] == lang]
        vecs = emb.encode([t for _, t, _ in group])
        keep = greedy_reference(vecs, s.near_dup_threshold)
        kept_rows: list[int] = []
        for i, ((eid, _, _), k) in enumerate(zip(group, keep, strict=True)):
            if kept_rows:
                best = float(np.max(vecs[kept_rows] @ vecs[i]))
                if abs(best - s.near_dup_threshold) < BORDERLINE:
                    borderline.add(eid)
            (accepted if k else near).add(eid)
            if k:
                kept_rows.append(i)
    return accepted, near, borderline, lexical


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
    accepted, near, borderline, lexical = reference(s, raw_events, got_accepted | got_near)
    assert len(near) > 20 and len(accepted) > 50  # both outcomes are exercised
    assert len(borderline) - lexical <= 2
    assert got_accepted - borderline == accepted - borderline
    assert got_near - borderline == near - borderline
