"""The ``cascade`` backend through the real worker: real broker, Redis, FAISS, the distilled
static model and the ONNX transformer.

The stream mixes the generator's chat log, streams unlike it (services/dev/ood_streams.py: a shared
tool preamble, long notes, code behind a shared header, support tickets with signatures) and
prompts the model cannot read. The worker's decisions must be the brute-force cascade's
(``cascade_reference``: static candidates at the floor, verified by the transformer), the
accounting invariant must hold, and a second worker, with an empty cache, must find the near
duplicates of the first one's acceptances through the texts and vectors kept in Redis.
"""

import json

import numpy as np
import pytest
import redis as redis_sync

from services.dev.generator import ChatLogGenerator
from services.dev.ood_streams import events as ood_events
from services.dev.workers import WorkerProcess, wait_outputs
from services.embed.embedder import Embedder
from services.settings import Settings
from streams.replay import produce
from tests.integration.harness import BORDERLINE, ROOT, check_invariant, screened, unreadable_events
from tests.oracles import cascade_reference, greedy_reference

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cascade_embedder():
    s = Settings(embedding_backend="cascade", state_dir=ROOT / ".flywheel")
    return Embedder.from_settings(s).setup()


def settings(fresh):
    return fresh(
        partitions=1,
        curate_partitions=1,
        embedding_backend="cascade",
        order_by_priority=False,
        quota_max_share=1.0,
        mix_max_synthetic=1.0,
        lang_allow=[],
        preamble_min_count=0,  # the reference embeds whole texts
    )


def reference(s, emb, raw_events, reached):
    """Expected accepted and near-duplicate event ids under the cascade rule, the transformer's
    own decisions on the same texts, and the ids to ignore (cosines within float noise of the
    floor, the sure cosine or the threshold; texts the model cannot read)."""
    cands = screened(s, raw_events, reached)
    ratios = emb.unknown_token_ratio([t for _, t, _ in cands])
    readable = [c for c, r in zip(cands, ratios, strict=True) if r <= s.max_unknown_token_ratio]
    ignore = {c[0] for c, r in zip(cands, ratios, strict=True) if r > s.max_unknown_token_ratio}
    lexical = len(ignore)
    accepted, near, transformer_keeps = set(), set(), {}
    for lang in {lang for _, _, lang in readable}:
        group = [c for c in readable if c[2] == lang]
        texts = [t for _, t, _ in group]
        static, trans = emb.encode(texts), emb.verifier.encode(texts)
        keep = cascade_reference(
            static,
            trans,
            s.cascade_floor,
            s.near_dup_threshold,
            s.cascade_k,
            s.cascade_sure or None,
        )
        for (eid, _, _), k in zip(
            group, greedy_reference(trans, s.near_dup_threshold), strict=True
        ):
            transformer_keeps[eid] = k
        kept: list[int] = []
        for i, ((eid, _, _), k) in enumerate(zip(group, keep, strict=True)):
            if kept:
                ss = static[kept] @ static[i]
                tt = trans[kept] @ trans[i]
                edges = [(ss, s.cascade_floor), (ss, s.cascade_sure), (tt, s.near_dup_threshold)]
                if any(np.any(np.abs(x - e) < BORDERLINE) for x, e in edges):
                    ignore.add(eid)
            (accepted if k else near).add(eid)
            if k:
                kept.append(i)
    return accepted, near, ignore, lexical, transformer_keeps


def test_worker_with_the_cascade_makes_the_brute_force_cascade_decisions(
    fresh, tmp_path, cascade_embedder
):
    s = settings(fresh)
    assert (s.near_dup_threshold, s.blocklist_threshold) == (0.85, 0.91)
    raw_events = [raw for raw, _ in ChatLogGenerator(seed=41).events(300)]
    raw_events += list(ood_events("mixed", 240, seed=5)) + unreadable_events()
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw_events)
        out = wait_outputs(s, len(raw_events), worker, timeout_s=400)
    check_invariant(s, out)
    got_accepted = {r["event_id"] for r in out.accepted}
    got_near = {r["event_id"] for r in out.rejected if r["reason"] == "near_duplicate"}
    accepted, near, ignore, lexical, transformer = reference(
        s, cascade_embedder, raw_events, got_accepted | got_near
    )
    assert len(near) > 50 and len(accepted) > 100
    assert len(ignore) - lexical <= 3  # float noise
    assert got_accepted - ignore == accepted - ignore
    assert got_near - ignore == near - ignore
    # the transformer's own decisions on nearly every prompt
    same = sum(transformer[e] == (e in got_accepted) for e in transformer)
    assert same / len(transformer) >= 0.97, (same, len(transformer))
    checks = {r["event_id"]: r["semantic_check"] for r in out.accepted}
    assert {checks[e] for e in accepted - ignore} == {"faiss"}
    # the texts the transformer reads later are the accepted (redacted) texts, nothing else
    r = redis_sync.Redis.from_url(s.redis_url.get_secret_value())
    keys = r.keys(f"{s.namespace}:cascade:text:*")
    by_pid = {rec["prompt_id"]: rec["text"] for rec in out.accepted}
    stored = {k.decode().rsplit(":", 1)[1]: r.get(k).decode() for k in keys}
    semantic = {rec["prompt_id"] for rec in out.accepted if rec["semantic_check"] == "faiss"}
    assert set(stored) == semantic
    assert all(stored[p] == by_pid[p] for p in stored)
    assert r.keys(f"{s.namespace}:cascade:vec:*")  # transformer vectors kept for candidates


def test_a_second_worker_verifies_against_the_first_ones_acceptances_from_redis(
    fresh, tmp_path, cascade_embedder
):
    s = settings(fresh)
    first = [raw for raw, _ in ChatLogGenerator(seed=43).events(200)]
    with WorkerProcess(s, tmp_path / "worker1.log") as worker:
        produce(s, first)
        out1 = wait_outputs(s, len(first), worker, timeout_s=300)
    accepted_texts = [rec["text"] for rec in out1.accepted if rec["semantic_check"] == "faiss"]
    assert len(accepted_texts) > 50
    # light edits of the first worker's acceptances: the transformer calls them duplicates
    edits = [t.rstrip(".?! ") + " please" for t in accepted_texts[:60]]
    trans = cascade_embedder.verifier.encode(accepted_texts[:60])
    tedit = cascade_embedder.verifier.encode(edits)
    expected_dups = int(np.sum(np.sum(trans * tedit, axis=1) >= s.near_dup_threshold))
    second = [
        json.dumps({"event_id": f"edit-{i}", "prompt": t, "user_id": f"u-e-{i}"}).encode()
        for i, t in enumerate(edits)
    ]
    with WorkerProcess(s, tmp_path / "worker2.log") as worker:  # a new process: empty cache
        produce(s, second)
        out = wait_outputs(s, len(first) + len(second), worker, timeout_s=300)
    check_invariant(s, out)
    near = {r["event_id"] for r in out.rejected if r["reason"] == "near_duplicate"}
    got = len([e for e in near if e.startswith("edit-")])
    assert expected_dups > 40 and got >= expected_dups - 2, (got, expected_dups)
