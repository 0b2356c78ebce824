"""Redis-backed stores against a real redis-server."""

import base64
from collections import Counter

import numpy as np
import pytest

from services.contract.envelope import InMsg
from services.contract.records import CurateItem
from services.dedup.index import VectorIndex
from services.diversity.current import CurrentTopics
from services.embed.clusters import TopicModel
from services.pipeline.curate.stage import CurateStage
from services.state.curate_state import RedisCurateState
from services.state.ledger import EmitLedger, PartitionProgress, Pending
from services.state.seen import RedisSeenStore
from services.state.vector_log import RedisVectorLog

pytestmark = pytest.mark.integration


async def test_seen_store_first_claim_wins_and_replays_are_not_duplicates(redis, fresh):
    seen = RedisSeenStore(redis, fresh().namespace, ttl_s=60)
    owners = await seen.claim([("a" * 32, "ev/0/1"), ("a" * 32, "ev/0/2"), ("b" * 32, "ev/0/3")])
    assert owners == [None, "ev/0/1", None]
    # a replay of message ev/0/1 after a crash owns its key; another message does not
    assert await seen.claim([("a" * 32, "ev/0/1"), ("a" * 32, "ev/1/9")]) == [None, "ev/0/1"]
    keys = [k.decode() for k in await redis.keys(seen.key("*"))]
    assert sorted(keys) == [seen.key("a" * 32), seen.key("b" * 32)]
    assert 0 < await redis.ttl(keys[0]) <= 60


async def test_vector_log_reloads_an_index_incrementally(redis, fresh):
    log = RedisVectorLog(redis, fresh().namespace, dim=4)
    vecs = np.eye(4, dtype=np.float32)
    await log.append("en", [(f"{i:032x}", vecs[i], f"ev/0/{i}") for i in range(3)])
    index = VectorIndex(4)
    assert await log.sync("en", index, chunk=2) == 3
    await log.append("en", [(f"{3:032x}", vecs[3], "ev/0/3")])
    assert await log.sync("en", index) == 1
    assert index.ids == [f"{i:032x}" for i in range(4)]
    assert index.owners_of([f"{2:032x}"]) == ["ev/0/2"]
    sims, ids = index.search(vecs[3:4], k=1)
    assert ids[0][0] == f"{3:032x}" and sims[0][0] == pytest.approx(1.0)


async def test_ledger_round_trip(redis, fresh):
    ledger = EmitLedger(redis, fresh().namespace, "ingest")
    assert await ledger.load([("t", 0)]) == {("t", 0): PartitionProgress()}
    await ledger.save({("t", 0): PartitionProgress(5, Pending(5, 9, {"o:0": 3}))})
    got = await ledger.load([("t", 0), ("t", 1)])
    assert got[("t", 0)].pending == Pending(5, 9, {"o:0": 3}) and got[("t", 1)].upto == 0


async def test_vector_log_trims_behind_a_snapshot_and_a_lagging_reader_catches_up(redis, fresh):
    ns = fresh().namespace
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 8)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = [f"{i:032x}" for i in range(300)]
    writer, reader = RedisVectorLog(redis, ns, dim=8), RedisVectorLog(redis, ns, dim=8)
    live, replica = VectorIndex(8), VectorIndex(8)
    await writer.append("en", [(ids[i], x[i], f"ev/0/{i}") for i in range(100)])
    await writer.sync("en", live)
    await reader.sync("en", replica)
    await writer.append("en", [(ids[i], x[i], f"ev/0/{i}") for i in range(100, 200)])
    await writer.sync("en", live)
    assert await writer.snapshot("en", live, keep=20) == 200
    assert await writer.bounds("en") == (180, 200)
    assert await redis.llen(writer.key("en")) == 20
    # entries 100..199 of the replica were trimmed: it loads the snapshot, then tails
    await writer.append("en", [(ids[i], x[i], f"ev/0/{i}") for i in range(200, 300)])
    assert await reader.sync("en", replica, chunk=30) == 200
    await writer.sync("en", live)
    assert replica.ids == live.ids == ids
    assert replica.owners_of(ids) == [f"ev/0/{i}" for i in range(300)]
    assert replica.search(x, 1)[1] == live.search(x, 1)[1]
    # trimming never moves the base back, nor past the end of the log
    assert await writer.trim("en", 100) == 180
    assert await writer.trim("en", 10_000) == 300 and await writer.bounds("en") == (300, 300)


async def test_curate_across_trims_and_restarts_never_loses_or_repeats_an_acceptance(
    redis, fresh, tmp_path, monkeypatch
):
    """The curate stage with a snapshot (and a trim) every 20 acceptances, two shards, near
    duplicates across them: a restarted stage (snapshots in Redis, or in files) replays the
    same messages to the same decisions, and nothing is accepted twice."""
    monkeypatch.setattr(RedisVectorLog, "TRIM_KEEP", 5)
    dim = 16
    rng = np.random.default_rng(3)
    base = rng.normal(size=(60, dim)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    noise = rng.normal(scale=0.05, size=(60, dim)).astype(np.float32)
    dups = base + noise
    dups /= np.linalg.norm(dups, axis=1, keepdims=True)
    vecs = np.concatenate([base, dups])  # 60 prompts, then a near duplicate of each
    for snapshot_dir in ("", str(tmp_path / "snapshots")):
        s = fresh(
            curate_partitions=2,
            quota_max_share=1.0,
            mix_max_synthetic=1.0,
            index_snapshot_every=20,
            index_snapshot_dir=snapshot_dir,
        )
        msgs = []
        for i, v in enumerate(vecs):
            item = CurateItem(
                event_id=f"e-{i}",
                prompt_id=f"{i:032x}",
                text=f"prompt {i}",
                lang="en",
                source="real",
                user=None,
                vector=base64.b64encode(v.tobytes()).decode(),
                cluster=0,
                shard=i % 2 if i < 60 else (i + 1) % 2,  # each duplicate on the other shard
                quality=0.5,
                difficulty=0.5,
                src=f"{s.topic_curate}/0/{i}",
            )
            msgs.append(InMsg(s.topic_curate, 0, i, None, item.model_dump_json().encode()))

        def stage(s=s) -> CurateStage:
            return CurateStage(
                s,
                RedisCurateState(redis, s, RedisVectorLog(redis, s.namespace, dim)),
                dim,
                CurrentTopics(TopicModel.load(), None),
            )

        live = stage()
        first = {}
        for b in range(0, len(msgs), 10):
            first |= {o.src: o.label for o in await live.process(msgs[b : b + 10])}
        assert Counter(first.values()) == {"accepted": 60, "rejected:near_duplicate": 60}
        vlog = RedisVectorLog(redis, s.namespace, dim)
        for shard in (0, 1):
            base_offset, end = await vlog.bounds(f"en:{shard}")
            assert end == 30 and base_offset > 0  # trimmed behind a snapshot
        if snapshot_dir:
            assert list((tmp_path / "snapshots").iterdir())
        # a restarted worker: every replayed message gets its first decision back
        again = stage()
        second = {}
        for b in range(0, len(msgs), 10):
            second |= {o.src: o.label for o in await again.process(msgs[b : b + 10])}
        assert second == first
        for shard in (0, 1):
            assert (await vlog.bounds(f"en:{shard}"))[1] == 30  # nothing appended twice
