"""The ``static`` backend through the real worker, and model fingerprints on the real Redis.

Real broker, Redis, FAISS and the real distilled model (distilled offline into the shared
state dir on first use). The stream mixes the generator's chat log with a stream unlike it
(services/dev/product_stream.py: one product, a long shared preamble, five languages) and prompts
the model cannot read, which must take the lexical path.
"""

import numpy as np
import pytest

from services.dedup.index import VectorIndex
from services.dev.generator import ChatLogGenerator
from services.dev.product_stream import product_events
from services.dev.workers import WorkerProcess, wait_outputs
from services.embed.embedder import Embedder
from services.embed.fingerprint import ModelMismatch
from services.settings import BACKEND_DEFAULTS, Settings
from services.state.vector_log import RedisVectorLog
from streams.replay import produce
from tests.integration.harness import (
    ROOT,
    UNREADABLE,
    check_invariant,
    greedy_outcomes,
    unreadable_events,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def static_embedder(tmp_path_factory):
    return Embedder.from_settings(Settings(state_dir=ROOT / ".flywheel"), "static").setup()


def test_static_vectors_equal_model2vec_and_unreadable_texts_are_flagged(static_embedder):
    texts = ["How do I merge two git branches?", "Comment réinitialiser le wifi ?", *UNREADABLE]
    vecs = static_embedder.encode(texts)
    direct = static_embedder._static.model.encode(texts)  # noqa: SLF001 - model2vec itself
    assert vecs.dtype == np.float32 and vecs.shape == (len(texts), 384)
    assert np.allclose(vecs, direct, atol=1e-6)
    assert np.allclose(np.linalg.norm(vecs[:2], axis=1), 1, atol=1e-5)
    ratios = static_embedder.unknown_token_ratio(texts)
    assert ratios[:2] == [0.0, 0.0] and all(r > 0.3 for r in ratios[2:])
    assert "/static-" in static_embedder.fingerprint


def test_worker_with_static_backend_keeps_the_invariant_and_the_greedy_rule(
    fresh, tmp_path, static_embedder
):
    s = fresh(
        partitions=1,
        curate_partitions=1,
        embedding_backend="static",
        order_by_priority=False,
        quota_max_share=1.0,
        mix_max_synthetic=1.0,
        lang_allow=[],
        preamble_min_count=0,  # the reference embeds whole texts
    )
    assert s.near_dup_threshold == BACKEND_DEFAULTS["static"]["near_dup_threshold"]
    raw_events = [raw for raw, _ in ChatLogGenerator(seed=33).events(400)]
    raw_events += list(product_events(250, seed=5)) + unreadable_events()
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw_events)
        out = wait_outputs(s, len(raw_events), worker, timeout_s=300)
    check_invariant(s, out)
    got_accepted = {r["event_id"] for r in out.accepted}
    got_near = {r["event_id"] for r in out.rejected if r["reason"] == "near_duplicate"}
    accepted, near, borderline, lexical = greedy_outcomes(s, raw_events, got_accepted | got_near)
    assert len(near) > 20 and len(accepted) > 50
    assert len(borderline) - lexical <= 2
    assert got_accepted - borderline == accepted - borderline
    assert got_near - borderline == near - borderline
    checks = {r["event_id"]: r["semantic_check"] for r in out.accepted}
    assert {checks[f"un-{i}"] for i in range(len(UNREADABLE))} == {"minhash"}
    assert {checks[e] for e in accepted - borderline} == {"faiss"}


async def test_vector_log_records_its_model_and_refuses_another(redis, fresh):
    ns = fresh().namespace
    vec = np.eye(4, dtype=np.float32)
    a = RedisVectorLog(redis, ns, 4, model="m@1/transformer")
    await a.sync("en:0", VectorIndex(4))  # an empty log: nothing recorded yet
    assert await redis.get(f"{ns}:vectors:model") is None
    await a.append("en:0", [("0" * 32, vec[0], "ev/0/0")])
    assert await redis.get(f"{ns}:vectors:model") == b"m@1/transformer"
    same = RedisVectorLog(redis, ns, 4, model="m@1/transformer")
    assert await same.sync("en:0", VectorIndex(4)) == 1
    other = RedisVectorLog(redis, ns, 4, model="m@1/static-ab")
    with pytest.raises(ModelMismatch, match="m@1/transformer"):
        await other.sync("en:0", VectorIndex(4))
    with pytest.raises(ModelMismatch):
        await other.append("blocklist", [("1" * 32, vec[1], "feedback")])
    assert await redis.llen(f"{ns}:vectors:blocklist") == 0


async def test_a_log_holding_entries_without_a_recorded_model_is_refused(redis, fresh):
    ns = fresh().namespace
    vec = np.eye(4, dtype=np.float32)
    await RedisVectorLog(redis, ns, 4).append("en:0", [("0" * 32, vec[0], "ev/0/0")])
    for model in ("m@1/static-ab", "m@1/transformer"):
        with pytest.raises(ModelMismatch, match="records no model"):
            await RedisVectorLog(redis, ns, 4, model=model).sync("en:0", VectorIndex(4))
    assert await redis.get(f"{ns}:vectors:model") is None
