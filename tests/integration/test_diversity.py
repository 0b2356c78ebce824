"""Sharding, state, replay, quotas and mix through the real stack (broker, Redis, model, FAISS)."""

from __future__ import annotations

import base64
import json
import signal
from collections import Counter

import pytest

from services.clean.text import normalize, prompt_id
from services.contract.envelope import InMsg
from services.contract.records import SCHEMA_VERSION, CurateItem
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from services.diversity.current import CurrentTopics
from services.diversity.gaps import GapStore
from services.diversity.quota import QuotaPolicy, RedisWindow
from services.embed.clusters import TopicModel
from services.embed.embedder import Embedder
from services.embed.scoring import score
from services.pipeline.curate.stage import CurateStage
from services.state.curate_state import RedisCurateState
from services.state.vector_log import RedisVectorLog
from streams.replay import produce
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.integration


def _event(eid: str, prompt: str, source: str = "real") -> bytes:
    return json.dumps({"event_id": eid, "prompt": prompt, "source": source}).encode()


def test_quotas_and_mix_hold_over_a_generated_stream(fresh, tmp_path):
    s = fresh(
        partitions=2,
        curate_partitions=4,
        quota_max_share=0.08,
        quota_min_window=25,
        mix_max_synthetic=0.05,
    )
    raw = [r for r, _ in ChatLogGenerator(seed=33).events(900)]
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw)
        out = wait_outputs(s, len(raw), worker, timeout_s=420)
    check_invariant(s, out)
    reasons = out.reasons()
    assert reasons["quota"] > 0 and reasons["mix"] > 0, reasons
    total = len(out.accepted)
    base = max(total, s.quota_min_window)
    clusters = Counter(r["cluster"] for r in out.accepted if r["cluster"] is not None)
    assert clusters and max(clusters.values()) <= s.quota_max_share * base, clusters
    synthetic = sum(r["source"] == "synthetic" for r in out.accepted)
    assert synthetic <= s.mix_max_synthetic * base
    for rec in out.accepted:
        assert rec["schema_version"] == SCHEMA_VERSION
        if rec["semantic_check"] == "faiss":
            assert 0 <= rec["cluster"] < 64
        scores = rec["scores"]
        assert 0 <= scores["quality"] <= 1 and 0 <= scores["difficulty"] <= 1


def test_a_restarted_worker_rejects_a_near_duplicate_of_an_earlier_acceptance(fresh, tmp_path):
    s = fresh(partitions=1, curate_partitions=4)
    first = "How do I configure connection pooling for PostgreSQL in a Django application?"
    again = "how do I configure connection pooling for postgresql in a django app?"
    with WorkerProcess(s, tmp_path / "w1.log") as worker:
        produce(s, [_event("a-1", first)])
        out = wait_outputs(s, 1, worker, timeout_s=180)
        worker.kill(signal.SIGKILL)  # no clean shutdown: state must come from Redis
    assert [r["event_id"] for r in out.accepted] == ["a-1"]
    with WorkerProcess(s, tmp_path / "w2.log") as worker:
        produce(s, [_event("a-2", again)])
        out = wait_outputs(s, 2, worker, timeout_s=180)
    check_invariant(s, out)
    (rej,) = out.rejected
    assert rej["event_id"] == "a-2" and rej["reason"] == "near_duplicate"
    assert rej["duplicate_of"] == prompt_id(normalize(first))


async def test_a_replayed_batch_changes_nothing(fresh, redis):
    """The same curate batch twice, the second time by a 'new worker' (memory forgotten):
    same outcome per message, nothing added to the logs or the window."""
    s = fresh(curate_partitions=1, quota_max_share=0.2, quota_min_window=5)
    emb = Embedder.from_settings(s, "onnx").setup()
    texts = [
        "Write a haiku about autumn leaves falling in the rain",
        "write a haiku about autumn leaves falling in the rain!",
        "Explain the difference between TCP and UDP with examples",
        "What is the capital of Australia and why was it chosen?",
        "Summarize the plot of Hamlet in five sentences",
        "Give me a recipe for vegan banana bread without sugar",
        "Explain how a hash map handles collisions",
        "Explain how hash maps handle collisions?",
        "请帮我写一首关于秋天的诗，要求押韵",
        "请帮我写一首关于秋天的诗，要求押韵！",
    ]
    topics = TopicModel.load()
    msgs = []
    for i, text in enumerate(texts):
        clean = normalize(text)
        vec = emb.encode([clean])[0] if emb.unknown_token_ratio([clean])[0] <= 0.3 else None
        cluster = None if vec is None else int(topics.assign(vec[None])[0])
        item = CurateItem(
            event_id=f"r-{i}",
            prompt_id=prompt_id(clean),
            text=clean,
            lang="zh" if vec is None else "en",
            source="synthetic" if i % 3 == 0 else "real",
            user=None,
            vector=None if vec is None else base64.b64encode(vec.tobytes()).decode(),
            cluster=cluster,
            shard=None if vec is None else 0,
            quality=0.5,
            difficulty=0.5,
            src=f"{s.topic_curate}/0/{i}",
        )
        msgs.append(InMsg(s.topic_curate, 0, i, None, item.model_dump_json().encode()))

    def stage() -> CurateStage:
        return CurateStage(
            s,
            RedisCurateState(redis, s, RedisVectorLog(redis, s.namespace, emb.dim)),
            emb.dim,
            CurrentTopics(TopicModel.load(), None),
        )

    first = {o.src: o.label for o in await stage().process(msgs)}
    window = RedisWindow(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
    policy = QuotaPolicy(1, 1, 1)
    before = (await window.load(policy, {})).total
    logs = sorted([k async for k in redis.scan_iter(f"{s.namespace}:*")])
    lengths = {k: await redis.llen(k) for k in logs if await redis.type(k) == b"list"}
    bias = GapStore(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
    noted = await bias.bias(topics)  # decided and duplicate prompts per cluster and origin
    decided = sum(o["decided"] for c in noted.values() for o in c.values())
    duplicates = sum(o["duplicates"] for c in noted.values() for o in c.values())
    assert decided == 8 and duplicates >= 1, noted  # the 8 English prompts
    second = {o.src: o.label for o in await stage().process(msgs)}
    assert await bias.bias(topics) == noted  # a replay notes nothing again
    assert second == first
    labels = Counter(first.values())
    assert labels["accepted"] == before >= 3, labels
    assert labels["rejected:mix"] + labels["rejected:quota"] >= 1, labels  # refusals replay too
    assert (await window.load(policy, {})).total == before
    assert {k: await redis.llen(k) for k in lengths} == lengths
    near = [src for src, label in first.items() if label == "rejected:near_duplicate"]
    assert len(near) >= 2  # the edits, English and Chinese (lexical path)


async def test_within_a_batch_the_better_of_two_near_duplicates_is_kept(fresh, redis):
    """Llama 3's order: of two near duplicates in one micro-batch, the one with the higher
    quality x difficulty is decided first and kept, whatever the arrival order."""
    emb = Embedder.from_settings(fresh(), "onnx").setup()
    plain = "write a poem about the sea"
    better = "Write a poem about the sea, in four rhyming stanzas."
    vecs = emb.encode([normalize(plain), normalize(better)])
    assert float(vecs[0] @ vecs[1]) >= 0.85  # near duplicates for the model

    def msgs(s, texts_scores):
        out = []
        for i, ((text, q, d), vec) in enumerate(zip(texts_scores, vecs, strict=True)):
            item = CurateItem(
                event_id=f"o-{i}",
                prompt_id=prompt_id(normalize(text)),
                text=normalize(text),
                lang="en",
                source="real",
                user=None,
                vector=base64.b64encode(vec.tobytes()).decode(),
                cluster=0,
                shard=0,
                quality=q,
                difficulty=d,
                src=f"{s.topic_curate}/0/{i}",
            )
            out.append(InMsg(s.topic_curate, 0, i, None, item.model_dump_json().encode()))
        return out

    scored = [(plain, *score(plain, "en")), (better, *score(better, "en"))]
    assert scored[1][1] * scored[1][2] > scored[0][1] * scored[0][2]
    for ordered, kept in ((True, "o-1"), (False, "o-0")):
        s = fresh(curate_partitions=1, quota_max_share=1.0, order_by_priority=ordered)
        stage = CurateStage(
            s,
            RedisCurateState(redis, s, RedisVectorLog(redis, s.namespace, emb.dim)),
            emb.dim,
            CurrentTopics(TopicModel.load(), None),
        )
        outs = await stage.process(msgs(s, scored))
        accepted = [json.loads(o.value)["event_id"] for o in outs if o.label == "accepted"]
        assert accepted == [kept], (ordered, [o.label for o in outs])
