"""On one partition, the pipeline's decisions equal the brute-force greedy rule (Llama 3 style):
in arrival order, keep a prompt iff its max cosine to every prompt kept before is below the
threshold. Real worker, broker, Redis, model and FAISS; the reference is computed here."""

import json

import numpy as np
import pytest

from services.embedding import Embedder
from services.generator import ChatLogGenerator
from services.index import greedy_reference
from services.language import detect_language
from services.text import normalize, prompt_id
from tests.integration.harness import WorkerProcess, check_invariant, produce, wait_outputs

pytestmark = pytest.mark.integration

BORDERLINE = 1e-4  # float noise between batched and unbatched encoding


def reference(s, raw_events):
    """Expected accepted and near-duplicate event ids, plus the borderline ones to ignore."""
    seen, cands = set(), []
    for raw in raw_events:
        ev = json.loads(raw)
        text = normalize(ev["prompt"])
        if not (s.min_chars <= len(text) <= s.max_chars) or prompt_id(text) in seen:
            continue
        seen.add(prompt_id(text))
        cands.append((ev["event_id"], text, detect_language(text, ev.get("lang"))))
    emb = Embedder(s.embedding_model, s.embedding_backend, s.state_dir / "models", 16).setup()
    ratios = emb.unknown_token_ratio([t for _, t, _ in cands])
    accepted = {eid for (eid, _, _), r in zip(cands, ratios) if r > s.max_unknown_token_ratio}
    near, borderline = set(), set()
    readable = [c for c, r in zip(cands, ratios) if r <= s.max_unknown_token_ratio]
    for lang in {lang for _, _, lang in readable}:
        group = [c for c in readable if c[2] == lang]
        vecs = emb.encode([t for _, t, _ in group])
        keep = greedy_reference(vecs, s.near_dup_threshold)
        kept_rows = []
        for i, ((eid, _, _), k) in enumerate(zip(group, keep)):
            if kept_rows and abs(float(np.max(vecs[kept_rows] @ vecs[i])) - s.near_dup_threshold) < BORDERLINE:
                borderline.add(eid)
            (accepted if k else near).add(eid)
            if k:
                kept_rows.append(i)
    return accepted, near, borderline


def test_one_partition_decisions_equal_brute_force_greedy(fresh, tmp_path):
    s = fresh(partitions=1, curate_partitions=1)
    raw_events = [raw for raw, meta in ChatLogGenerator(seed=21).events(700)]
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw_events)
        out = wait_outputs(s, len(raw_events), worker, timeout_s=300)
    check_invariant(s, out)
    accepted, near, borderline = reference(s, raw_events)
    got_accepted = {r["event_id"] for r in out.accepted}
    got_near = {r["event_id"] for r in out.rejected if r["reason"] == "near_duplicate"}
    assert len(near) > 20 and len(accepted) > 50  # both outcomes are exercised
    assert len(borderline) <= 2
    assert got_accepted - borderline == accepted - borderline
    assert got_near - borderline == near - borderline
