"""The vector log on the session's redis-server (its Lua scripts run in Redis itself): snapshots
and the tail replayed after them, trimming behind snapshots, readers that fell behind a trim,
snapshots in files, the dedup horizon."""

from __future__ import annotations

import numpy as np
import pytest

from services.dedup.index import ANN_KINDS, VectorIndex
from services.errors import StateLost
from services.settings import Settings
from services.state.curate_state import RedisCurateState
from services.state.snapshots import read_snapshot_file
from services.state.vector_log import RedisVectorLog
from tests.vectors import DIM, clustered, owners, pids, small_ivf

pytestmark = pytest.mark.integration


def entries(x: np.ndarray, start: int) -> list[tuple[str, np.ndarray, str]]:
    n = len(x)
    return list(zip(pids(start, n), x, owners(start, n), strict=True))


async def test_entries_of_several_owner_lengths_sync_in_one_chunk(redis, namespace):
    x = clustered(60, 2)
    vlog = RedisVectorLog(redis, namespace, DIM)
    await vlog.append("en", [(p, v, o * (1 + i % 3)) for i, (p, v, o) in enumerate(entries(x, 0))])
    index = VectorIndex(DIM, ann_after=None)
    assert await vlog.sync("en", index, chunk=25) == 60
    assert index.ids == pids(0, 60)
    assert index.owners_of(pids(0, 3)) == [o * (1 + i) for i, o in enumerate(owners(0, 3))]
    assert [i[0] for i in index.search(x, 1)[1]] == pids(0, 60)


async def test_without_a_snapshot_the_whole_log_is_replayed(redis, namespace):
    x = clustered(50, 8)
    vlog = RedisVectorLog(redis, namespace, DIM)
    await vlog.append("en", entries(x, 0))
    index = VectorIndex(DIM, ann_after=None)
    assert await vlog.restore("en", index) == 0
    assert await vlog.sync("en", index, chunk=7) == 50
    assert index.ids == pids(0, 50) and index.owners_of(pids(0, 50)) == owners(0, 50)
    sims, ids = index.search(x[:3], 1)
    # vectors come back from the log quantized (int8 x scale): within ~1e-2 at 32 dimensions
    assert [i[0] for i in ids] == pids(0, 3) and np.allclose(sims[:, 0], 1.0, atol=1e-2)


@pytest.mark.parametrize("ann", ANN_KINDS)
async def test_a_snapshot_then_the_tail_equals_a_full_replay(redis, namespace, monkeypatch, ann):
    monkeypatch.setattr(RedisVectorLog, "SNAPSHOT_PART", 10_000)  # several faiss:* parts
    x = clustered(700, 7)
    vlog = RedisVectorLog(redis, namespace, DIM)
    await vlog.append("en", entries(x[:500], 0))
    live = small_ivf(ann=ann)
    assert await vlog.sync("en", live, chunk=64) == 500 and live.kind == ann
    assert await vlog.snapshot("en", live) == 500
    await vlog.append("en", entries(x[500:600], 500))
    await vlog.sync("en", live)
    assert await vlog.snapshot("en", live) == 600  # replaces the first snapshot
    assert [k async for k in redis.scan_iter(f"{namespace}:vectors:snap:en:*")] == [
        f"{namespace}:vectors:snap:en:600".encode()
    ]
    await vlog.append("en", entries(x[600:], 600))
    cold = small_ivf(ann=ann)
    assert await vlog.sync("en", cold) == 700  # 600 from the snapshot, 100 replayed
    assert await vlog.snapshot_position("en") == 600
    await vlog.sync("en", live)
    assert not await vlog.maybe_snapshot("en", live, every=200)  # 700 - 600 < 200
    assert await vlog.maybe_snapshot("en", live, every=100)
    assert await RedisVectorLog(redis, namespace, DIM).snapshot_position("en") == 700
    assert cold.kind == ann and cold.ids == live.ids == pids(0, 700)
    assert cold.owners_of(pids(0, 700)) == owners(0, 700)
    s1, i1 = live.search(x[::7], 2)
    s2, i2 = cold.search(x[::7], 2)
    assert i1 == i2 and np.allclose(s1, s2)


async def test_snapshot_trims_the_log_and_readers_behind_the_trim_catch_up(
    redis, namespace, monkeypatch
):
    monkeypatch.setattr(RedisVectorLog, "TRIM_KEEP", 50)
    x = clustered(900, 4)
    writer = RedisVectorLog(redis, namespace, DIM)
    reader = RedisVectorLog(redis, namespace, DIM)
    live, replica = small_ivf(), small_ivf()
    await writer.append("en", entries(x[:400], 0))
    await writer.sync("en", live)
    await reader.sync("en", replica)
    assert len(replica) == 400
    await writer.append("en", entries(x[400:500], 400))
    await writer.sync("en", live)
    assert await writer.snapshot("en", live) == 500
    assert await writer.bounds("en") == (450, 500)  # trimmed up to 500 - TRIM_KEEP
    assert await redis.llen(writer.key("en")) == 50
    # a replica at 400, below the base offset 450: loads the snapshot, then the tail
    await writer.append("en", entries(x[500:600], 500))
    assert await reader.sync("en", replica) == 200 and len(replica) == 600
    # a replica inside the kept range just tails; a cold one loads the snapshot
    await writer.sync("en", live)
    await writer.snapshot("en", live, keep=0)
    assert await writer.bounds("en") == (600, 600)
    await writer.append("en", entries(x[600:], 600))
    cold = small_ivf()
    assert await RedisVectorLog(redis, namespace, DIM).sync("en", cold) == 900
    await reader.sync("en", replica)
    await writer.sync("en", live)
    for index in (replica, cold):
        assert index.ids == live.ids == pids(0, 900)
        assert index.owners_of(pids(0, 900)) == owners(0, 900)
        assert index.search(x[::9], 2)[1] == live.search(x[::9], 2)[1]


async def test_a_trimmed_log_without_its_snapshot_is_refused_not_guessed(redis, namespace):
    x = clustered(100, 5)
    vlog = RedisVectorLog(redis, namespace, DIM)
    await vlog.append("en", entries(x, 0))
    live = VectorIndex(DIM, ann_after=None)
    await vlog.sync("en", live)
    await vlog.snapshot("en", live, keep=10)
    await redis.delete(
        f"{namespace}:vectors:snap:en:100"
    )  # the snapshot is lost; the log starts at 90
    with pytest.raises(StateLost, match="below the base offset 90"):
        await RedisVectorLog(redis, namespace, DIM).sync("en", VectorIndex(DIM))


async def test_snapshots_in_files_keep_only_a_path_in_redis(redis, namespace, tmp_path):
    x = clustered(700, 6)
    vlog = RedisVectorLog(redis, namespace, DIM, snapshot_dir=tmp_path)
    live = small_ivf()
    await vlog.append("en", entries(x[:500], 0))
    await vlog.sync("en", live)
    await vlog.snapshot("en", live, keep=0)
    first = tmp_path / f"{namespace}:vectors:snap:en:500.snap"
    assert await redis.hgetall(f"{namespace}:vectors:snap:en:500") == {b"file": str(first).encode()}
    assert set(read_snapshot_file(first)) == set(live.state())
    await vlog.append("en", entries(x[500:], 500))
    await vlog.sync("en", live)
    await vlog.snapshot("en", live, keep=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{namespace}:vectors:snap:en:700.snap"]
    assert await vlog.bounds("en") == (700, 700) and not await redis.llen(vlog.key("en"))
    cold = small_ivf()
    assert await RedisVectorLog(redis, namespace, DIM).sync("en", cold) == 700
    assert cold.ids == live.ids and cold.search(x[::7], 2)[1] == live.search(x[::7], 2)[1]


async def test_dedup_horizon_forgets_old_acceptances_in_writer_and_replicas(redis, namespace):
    day = 86_400.0
    x = clustered(400, 7)
    writer = RedisVectorLog(redis, namespace, DIM)
    reader = RedisVectorLog(redis, namespace, DIM)
    live, replica = VectorIndex(DIM, ann_after=None), VectorIndex(DIM, ann_after=None)
    horizon = 8 * day  # marks every day
    t0 = 1000 * day
    for k in range(4):  # 100 acceptances on each of days 0..3
        await writer.append("en", entries(x[100 * k : 100 * (k + 1)], 100 * k))
        await writer.sync("en", live)
        assert await writer.advance_horizon("en", len(live), horizon, now=t0 + k * day) == 0
    # day 9.5: only day 0 ended more than 8 days ago (its mark: position 100); on day 10, day 1 too
    assert await writer.advance_horizon("en", len(live), horizon, now=t0 + 9.5 * day) == 100
    assert await writer.advance_horizon("en", len(live), horizon, now=t0 + 10 * day) == 200
    await writer.sync("en", live)
    await reader.sync("en", replica)
    for index in (live, replica):
        assert (len(index), index.live, index.first) == (400, 200, 200)
        assert index.ids == pids(200, 200)
        assert index.owners_of(pids(150, 1)) == [None]  # forgotten: may be accepted again
    # a cold worker loads a snapshot that holds the live rows only
    await writer.snapshot("en", live)
    cold = VectorIndex(DIM, ann_after=None)
    assert await RedisVectorLog(redis, namespace, DIM).sync("en", cold) == 400
    assert (cold.first, cold.ids) == (200, pids(200, 200))
    # the horizon never moves back, and nothing younger than it is forgotten
    assert await writer.advance_horizon("en", 400, horizon, now=t0 + 10.9 * day) == 200
    assert await writer.advance_horizon("en", 400, horizon, now=t0 + 11 * day) == 300


async def test_curate_state_marks_the_horizon_and_snapshots_where_settings_say(
    redis, namespace, tmp_path
):
    s = Settings(
        namespace=namespace,
        dedup_horizon_days=8,
        index_snapshot_every=50,
        index_snapshot_dir=str(tmp_path),
    )
    state = RedisCurateState(redis, s, RedisVectorLog(redis, s.namespace, DIM))
    assert state.vectors.snapshot_dir == tmp_path
    x = clustered(60, 8)
    index = VectorIndex(DIM, ann_after=None)
    await state.vectors.append("en:0", entries(x, 0))
    await state.sync_vectors("en:0", index)
    assert await state.maybe_snapshot("en:0", index)
    assert [p.name for p in tmp_path.iterdir()] == [f"{s.namespace}:vectors:snap:en:0:60.snap"]
    marks = await redis.hgetall(f"{s.namespace}:vectors:marks:en:0")
    assert list(marks.values()) == [b"60"]  # the log's position now, for the horizon
    off = Settings(index_snapshot_every=0)
    quiet = RedisCurateState(redis, off, RedisVectorLog(redis, f"{namespace}o", DIM))
    assert not await quiet.maybe_snapshot("en:0", index)
    # no snapshots; the horizon is the retention period's when none is set: it still marks
    assert await redis.hgetall(f"{namespace}o:vectors:marks:en:0")
