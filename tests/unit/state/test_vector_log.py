"""Vector log: compact entries (int8 x scale), legacy float32 entries, trimming behind snapshots,
readers that fell behind a trim, snapshots in files."""

from __future__ import annotations

import numpy as np
import pytest

from services.dedup.index import VectorIndex
from services.settings import Settings
from services.state.curate_state import RedisCurateState
from services.state.stores import RedisVectorLog, StateLost, read_snapshot_file
from tests.unit.dedup.test_index_lifecycle import DIM, FakeRedis, clustered, owners, pids, small_ivf


def entries(x: np.ndarray, start: int) -> list[tuple[str, np.ndarray, str]]:
    n = len(x)
    return list(zip(pids(start, n), x, owners(start, n), strict=True))


def legacy(pid: str, v: np.ndarray, owner: str) -> bytes:
    """An entry as written before quantization: pid, float32 vector, owner."""
    return bytes.fromhex(pid) + v.astype(np.float32).tobytes() + owner.encode()


def test_entries_are_int8_with_a_scale_and_decode_within_quantization_error():
    x = clustered(200, 1)
    vlog = RedisVectorLog(FakeRedis(), "t", DIM)  # type: ignore[arg-type]
    raw = [vlog.encode(*e) for e in entries(x, 0)]
    assert {len(r) - len(o.encode()) for r, o in zip(raw, owners(0, 200), strict=True)} == {
        16 + 8 + DIM
    }
    got_pids, vecs, got_owners = vlog.decode(raw)
    assert [bytes(p).hex() for p in got_pids] == pids(0, 200) and got_owners == owners(0, 200)
    step = np.abs(x).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(vecs - x) <= step * 0.5 + 1e-6)
    assert np.allclose(vecs, RedisVectorLog.quantized(x))
    # cosines move by far less than the gap between thresholds anyone would set
    assert np.abs(vecs @ x.T - x @ x.T).max() < 0.01


async def test_legacy_float32_entries_load_next_to_new_ones():
    x = clustered(60, 2)
    redis = FakeRedis()
    vlog = RedisVectorLog(redis, "t", DIM)  # type: ignore[arg-type]
    old = [legacy(*e) for e in entries(x[:30], 0)]
    await redis.rpush(vlog.key("en"), *old)
    await vlog.append("en", entries(x[30:], 30))  # a new worker appends to the same log
    index = VectorIndex(DIM, ann_after=None)
    assert await vlog.sync("en", index, chunk=25) == 60  # one chunk holds both formats
    assert index.ids == pids(0, 60) and index.owners_of(pids(0, 60)) == owners(0, 60)
    sims, ids = index.search(x, 1)
    assert [i[0] for i in ids] == pids(0, 60)
    assert np.allclose(sims[:30, 0], 1.0, atol=1e-5)  # legacy entries are exact


def test_an_unknown_entry_format_is_refused_with_one_clear_line():
    vlog = RedisVectorLog(FakeRedis(), "t", DIM)  # type: ignore[arg-type]
    entry = bytearray(vlog.encode(pids(0, 1)[0], clustered(1, 3)[0], "o/0/1"))
    entry[16] = 0x07
    with pytest.raises(ValueError, match="format \\[7\\] unknown to this version"):
        vlog.decode([bytes(entry)])


async def test_snapshot_trims_the_log_and_readers_behind_the_trim_catch_up(monkeypatch):
    monkeypatch.setattr(RedisVectorLog, "TRIM_KEEP", 50)
    x = clustered(900, 4)
    redis = FakeRedis()
    writer = RedisVectorLog(redis, "t", DIM)  # type: ignore[arg-type]
    reader = RedisVectorLog(redis, "t", DIM)  # type: ignore[arg-type]
    live, replica = small_ivf(), small_ivf()
    await writer.append("en", entries(x[:400], 0))
    await writer.sync("en", live)
    await reader.sync("en", replica)
    assert len(replica) == 400
    await writer.append("en", entries(x[400:500], 400))
    await writer.sync("en", live)
    assert await writer.snapshot("en", live) == 500
    assert await writer.bounds("en") == (450, 500)  # trimmed up to 500 - TRIM_KEEP
    assert len(redis.lists[writer.key("en")]) == 50
    # a replica at 400, below the base offset 450: loads the snapshot, then the tail
    await writer.append("en", entries(x[500:600], 500))
    assert await reader.sync("en", replica) == 200 and len(replica) == 600
    # a replica inside the kept range just tails; a cold one loads the snapshot
    await writer.sync("en", live)
    await writer.snapshot("en", live, keep=0)
    assert await writer.bounds("en") == (600, 600)
    await writer.append("en", entries(x[600:], 600))
    cold = small_ivf()
    assert await RedisVectorLog(redis, "t", DIM).sync("en", cold) == 900  # type: ignore[arg-type]
    await reader.sync("en", replica)
    await writer.sync("en", live)
    for index in (replica, cold):
        assert index.ids == live.ids == pids(0, 900)
        assert index.owners_of(pids(0, 900)) == owners(0, 900)
        assert index.search(x[::9], 2)[1] == live.search(x[::9], 2)[1]


async def test_a_trimmed_log_without_its_snapshot_is_refused_not_guessed():
    x = clustered(100, 5)
    redis = FakeRedis()
    vlog = RedisVectorLog(redis, "t", DIM)  # type: ignore[arg-type]
    await vlog.append("en", entries(x, 0))
    live = VectorIndex(DIM, ann_after=None)
    await vlog.sync("en", live)
    await vlog.snapshot("en", live, keep=10)
    redis.hashes.clear()  # the snapshot is lost; the log starts at 90
    with pytest.raises(StateLost, match="below the base offset 90"):
        await RedisVectorLog(redis, "t", DIM).sync("en", VectorIndex(DIM))  # type: ignore[arg-type]


async def test_snapshots_in_files_keep_only_a_path_in_redis(tmp_path):
    x = clustered(700, 6)
    redis = FakeRedis()
    vlog = RedisVectorLog(redis, "t", DIM, snapshot_dir=tmp_path)  # type: ignore[arg-type]
    live = small_ivf()
    await vlog.append("en", entries(x[:500], 0))
    await vlog.sync("en", live)
    await vlog.snapshot("en", live, keep=0)
    first = tmp_path / "t:vectors:snap:en:500.snap"
    assert redis.hashes["t:vectors:snap:en:500"] == {b"file": str(first).encode()}
    assert set(read_snapshot_file(first)) == set(live.state())
    await vlog.append("en", entries(x[500:], 500))
    await vlog.sync("en", live)
    await vlog.snapshot("en", live, keep=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t:vectors:snap:en:700.snap"]
    assert await vlog.bounds("en") == (700, 700) and not redis.lists[vlog.key("en")]
    cold = small_ivf()
    assert await RedisVectorLog(redis, "t", DIM).sync("en", cold) == 700  # type: ignore[arg-type]
    assert cold.ids == live.ids and cold.search(x[::7], 2)[1] == live.search(x[::7], 2)[1]


async def test_dedup_horizon_forgets_old_acceptances_in_writer_and_replicas():
    day = 86_400.0
    x = clustered(400, 7)
    redis = FakeRedis()
    writer = RedisVectorLog(redis, "t", DIM)  # type: ignore[arg-type]
    reader = RedisVectorLog(redis, "t", DIM)  # type: ignore[arg-type]
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
    assert await RedisVectorLog(redis, "t", DIM).sync("en", cold) == 400  # type: ignore[arg-type]
    assert (cold.first, cold.ids) == (200, pids(200, 200))
    # the horizon never moves back, and nothing younger than it is forgotten
    assert await writer.advance_horizon("en", 400, horizon, now=t0 + 10.9 * day) == 200
    assert await writer.advance_horizon("en", 400, horizon, now=t0 + 11 * day) == 300


async def test_curate_state_marks_the_horizon_and_snapshots_where_settings_say(tmp_path):
    redis = FakeRedis()
    s = Settings(dedup_horizon_days=8, index_snapshot_every=50, index_snapshot_dir=str(tmp_path))
    state = RedisCurateState(redis, s, RedisVectorLog(redis, s.namespace, DIM))  # type: ignore[arg-type]
    assert state.vectors.snapshot_dir == tmp_path
    x = clustered(60, 8)
    index = VectorIndex(DIM, ann_after=None)
    await state.vectors.append("en:0", entries(x, 0))
    await state.sync_vectors("en:0", index)
    assert await state.maybe_snapshot("en:0", index)
    assert [p.name for p in tmp_path.iterdir()] == [f"{s.namespace}:vectors:snap:en:0:60.snap"]
    marks = redis.hashes[f"{s.namespace}:vectors:marks:en:0"]
    assert list(marks.values()) == [b"60"]  # the log's position now, for the horizon
    off = Settings(index_snapshot_every=0)
    quiet = RedisCurateState(redis, off, RedisVectorLog(redis, "other", DIM))  # type: ignore[arg-type]
    assert not await quiet.maybe_snapshot("en:0", index)
    assert not redis.hashes.get("other:vectors:marks:en:0")
