"""Cold start of a curate worker and the Redis footprint of its state, at --n vectors.

1. decision agreement: greedy decisions over real prompt vectors (the ``index`` suite's) and
   near duplicates of them, with the held vectors as the log stores them (int8 x scale) versus
   float32, at several thresholds;
2. on a redis-server of its own, a ``RedisVectorLog`` filled with ``--n`` entries of the
   ``index`` suite's synthetic corpus (pipelined RPUSH), then: a cold ``sync`` of the whole log
   into a fresh default ``VectorIndex`` (flat, then the IVF switch: training and moving the
   vectors are included); a ``snapshot`` to Redis, which trims the log behind it; ``--tail``
   more entries and a cold ``sync`` (snapshot + tail); the same with the snapshot in a file
   (``snapshot_dir``), Redis keeping the log's tail only; then ``retire`` of the older half of
   the index (what the dedup horizon does).

Redis memory (INFO used_memory) is printed after each step, with a projection to ``--project``
vectors.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import redis as redis_sync
import redis.asyncio as aioredis

from bench.harness import Recorder, redis_server
from bench.suites.index import CHUNK, DIM, N_BASES, corpus, near_duplicates, queries, real_vectors
from services.dedup.index import VectorIndex, configure_faiss_threads
from services.settings import Settings
from services.state.vector_entries import encode_entries
from services.state.vector_log import RedisVectorLog
from tests.oracles import quantized

NAME = "en"


def used_mb(client: redis_sync.Redis) -> float:
    return float(client.info("memory")["used_memory"]) / 2**20


def agreement(thresholds: list[float], n_dups: int) -> dict[str, float]:
    """Share of identical greedy decisions: held vectors as the log stores them vs float32.

    The stream: the real prompt vectors and ``n_dups`` near duplicates of them (cosine
    0.85-0.97), shuffled. The candidate is float32 (as the embedder sends it), the held side
    quantized (as a replica or a restarted worker loads it from the log).
    """
    real = real_vectors()
    rng = np.random.default_rng(5)
    x = np.concatenate([real, near_duplicates(real, n_dups, rng)])
    x = x[rng.permutation(len(x))]
    xq = quantized(x)
    lo = min(thresholds) - 0.05
    pairs: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # i, j, f32, q8
    for start in range(0, len(x), 2048):
        q = x[start : start + 2048]
        exact, quant = q @ x.T, q @ xq.T
        rows, cols = np.nonzero(np.maximum(exact, quant) >= lo)
        keep = cols < rows + start  # earlier rows only
        rows, cols = rows[keep], cols[keep]
        pairs.append((rows + start, cols, exact[rows, cols], quant[rows, cols]))
    i_all = np.concatenate([p[0] for p in pairs])
    j_all = np.concatenate([p[1] for p in pairs])
    f32 = np.concatenate([p[2] for p in pairs])
    q8 = np.concatenate([p[3] for p in pairs])
    err = np.abs(q8 - f32)
    out: dict[str, float] = {
        "stream": len(x),
        "cos_err_mean": float(err.mean()),
        "cos_err_max": float(err.max()),
    }
    order = np.argsort(i_all, kind="stable")
    i_all, j_all, f32, q8 = i_all[order], j_all[order], f32[order], q8[order]
    bounds = np.searchsorted(i_all, np.arange(len(x) + 1))
    for t in thresholds:
        kept = {}
        for name, sims in (("f32", f32), ("q8", q8)):
            keep = np.zeros(len(x), dtype=bool)
            for i in range(len(x)):
                a, b = bounds[i], bounds[i + 1]
                near = j_all[a:b][sims[a:b] >= t]
                keep[i] = not keep[near].any()
            kept[name] = keep
        same = float(np.mean(kept["f32"] == kept["q8"]))
        out[f"agree_{t:.2f}"] = same
        print(
            f"decisions at threshold {t:.2f}: {100 * same:.3f}% identical over {len(x):,} "
            f"({int(kept['f32'].sum()):,} accepted with float32, {int(kept['q8'].sum()):,} "
            f"with int8; {int((kept['f32'] != kept['q8']).sum())} differ)",
            flush=True,
        )
    print(
        f"cosine error of int8 held vectors: mean {out['cos_err_mean']:.5f}, "
        f"max {out['cos_err_max']:.5f} (over {len(err):,} pairs at cosine >= {lo:.2f})",
        flush=True,
    )
    return out


def fill(client: redis_sync.Redis, vlog: RedisVectorLog, start: int, stop: int) -> float:
    """Append corpus rows [start, stop) to the log, 1,000 entries per RPUSH, 10 per round trip."""
    bases = real_vectors()[:N_BASES]
    key = vlog.key(NAME)
    t0 = time.perf_counter()
    for lo in range(start, stop, CHUNK):
        x = corpus(bases, lo, min(lo + CHUNK, stop))
        pids = np.frombuffer(np.random.default_rng(lo + 17).bytes(16 * len(x)), np.uint8)
        owners = [f"t.flywheel.curate/{i % 4}/{lo + i}" for i in range(len(x))]
        entries = encode_entries(pids.reshape(-1, 16), x, owners, DIM)
        pipe = client.pipeline(transaction=False)
        for b in range(0, len(x), 1000):
            pipe.rpush(key, *entries[b : b + 1000])
            if len(pipe) >= 10:
                pipe.execute()
        pipe.execute()
    return time.perf_counter() - t0


async def cold_sync(
    port: int, chunk: int, snapshot_dir: Path | None = None
) -> tuple[VectorIndex, float]:
    client = aioredis.Redis(port=port)
    try:
        index = VectorIndex(DIM)
        t0 = time.perf_counter()
        await RedisVectorLog(client, "bench", DIM, snapshot_dir=snapshot_dir).sync(
            NAME, index, chunk=chunk
        )
        return index, time.perf_counter() - t0
    finally:
        await client.aclose()


async def take_snapshot(port: int, index: VectorIndex, snapshot_dir: Path | None = None) -> float:
    client = aioredis.Redis(port=port)
    try:
        t0 = time.perf_counter()
        await RedisVectorLog(client, "bench", DIM, snapshot_dir=snapshot_dir).snapshot(NAME, index)
        return time.perf_counter() - t0
    finally:
        await client.aclose()


async def cold_sync_tail(port: int, index: VectorIndex, chunk: int) -> None:
    """Bring the live index up to date with the tail too (for the comparison)."""
    client = aioredis.Redis(port=port)
    try:
        await RedisVectorLog(client, "bench", DIM).sync(NAME, index, chunk=chunk)
    finally:
        await client.aclose()


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--tail", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=10_000, help="LRANGE entries per round trip")
    ap.add_argument("--faiss-threads", type=int, default=1)
    ap.add_argument("--dups", type=int, default=8_000, help="near duplicates in the agreement run")
    ap.add_argument("--thresholds", default="0.80,0.85,0.91")
    ap.add_argument("--project", type=int, default=100_000_000)


def run(args: argparse.Namespace, rec: Recorder) -> int:
    configure_faiss_threads(args.faiss_threads)
    rec.header()
    agree = agreement([float(t) for t in args.thresholds.split(",")], args.dups)
    with redis_server() as port:
        client = redis_sync.Redis(port=port)
        vlog = RedisVectorLog(client, "bench", DIM)  # type: ignore[arg-type]
        base_mb = used_mb(client)
        fill_s = fill(client, vlog, 0, args.n)
        log_mb = used_mb(client) - base_mb
        entry_b = log_mb * 2**20 / args.n
        print(
            f"fill {args.n:,} entries: {fill_s:.1f}s, Redis log {log_mb:.0f} MB "
            f"({entry_b:.0f} B/entry)",
            flush=True,
        )
        index, replay_s = asyncio.run(cold_sync(port, args.chunk))
        print(
            f"cold replay of {len(index):,} entries: {replay_s:.1f}s (kind {index.kind}, "
            f"IVF switch {index.switch_seconds or 0:.1f}s of it), "
            f"{index.memory_bytes() / len(index):.0f} B/vector",
            flush=True,
        )
        snap_s = asyncio.run(take_snapshot(port, index))
        after_mb = used_mb(client) - base_mb
        trimmed_mb = float(client.memory_usage(vlog.key(NAME)) or 0) / 2**20
        snap_mb = after_mb - trimmed_mb
        print(
            f"snapshot in Redis: {snap_s:.1f}s, snapshot {snap_mb:.0f} MB "
            f"({snap_mb * 2**20 / args.n:.0f} B/vector); log trimmed to "
            f"{client.llen(vlog.key(NAME)):,} entries, {trimmed_mb:.1f} MB",
            flush=True,
        )
        tail_fill_s = fill(client, vlog, args.n, args.n + args.tail)
        restored, restore_s = asyncio.run(cold_sync(port, args.chunk))
        print(
            f"snapshot + tail of {args.tail:,}: {restore_s:.1f}s -> {len(restored):,} vectors "
            f"(kind {restored.kind})",
            flush=True,
        )
        asyncio.run(cold_sync_tail(port, index, args.chunk))
        q = queries(corpus(real_vectors()[:N_BASES], 0, 20_000), real_vectors(), 256, seed=3)
        same = index.search(q, 2)[1] == restored.search(q, 2)[1]
        print(f"restored index answers like the live one: {same}")

        snap_dir = Path(tempfile.mkdtemp(prefix="flywheel-snapshots-"))
        file_snap_s = asyncio.run(take_snapshot(port, index, snap_dir))
        file_mb = sum(f.stat().st_size for f in snap_dir.iterdir()) / 2**20
        fill(client, vlog, args.n + args.tail, args.n + 2 * args.tail)
        from_file, file_restore_s = asyncio.run(cold_sync(port, args.chunk, snap_dir))
        asyncio.run(cold_sync_tail(port, index, args.chunk))
        same_file = index.search(q, 2)[1] == from_file.search(q, 2)[1]
        redis_file_mb = used_mb(client) - base_mb
        print(
            f"snapshot in a file: {file_snap_s:.1f}s, {file_mb:.0f} MB on disk; "
            f"snapshot + tail of {args.tail:,} from it: {file_restore_s:.1f}s (answers like the "
            f"live one: {same_file}); Redis now holds {redis_file_mb:.1f} MB "
            f"({client.llen(vlog.key(NAME)):,} log entries)",
            flush=True,
        )
        t0 = time.perf_counter()
        dropped = index.retire(len(index) // 2)  # what a dedup horizon does to every copy
        retire_s = time.perf_counter() - t0
        print(
            f"dedup horizon: retiring the older {dropped:,} rows took {retire_s:.1f}s; "
            f"{index.live:,} left, {index.memory_bytes() / 2**20:.0f} MB in memory",
            flush=True,
        )
        bound = (Settings().index_snapshot_every + RedisVectorLog.TRIM_KEEP) * entry_b
        redis_snap_b = snap_mb * 2**20 / args.n
        print(
            f"projection to {args.project:,} vectors (one index): snapshots in Redis "
            f"{(redis_snap_b * args.project + bound) / 2**30:.1f} GB; snapshots in files: at most "
            f"{bound / 2**20:.0f} MB of log tail (index_snapshot_every + "
            f"{RedisVectorLog.TRIM_KEEP:,} entries), whatever the count"
        )
        client.close()
        shutil.rmtree(snap_dir, ignore_errors=True)
    rec.add(
        {
            "fill_s": round(fill_s, 1),
            "redis_log_mb": round(log_mb, 1),
            "entry_b": round(entry_b, 1),
            "replay_s": round(replay_s, 1),
            "switch_s": round(index.switch_seconds or 0, 1),
            "snapshot_s": round(snap_s, 1),
            "redis_snapshot_mb": round(snap_mb, 1),
            "trimmed_log_mb": round(trimmed_mb, 2),
            "tail_fill_s": round(tail_fill_s, 1),
            "snapshot_plus_tail_s": round(restore_s, 1),
            "same_answers": same,
            "file_snapshot_s": round(file_snap_s, 1),
            "file_snapshot_mb": round(file_mb, 1),
            "file_plus_tail_s": round(file_restore_s, 1),
            "same_answers_file": same_file,
            "redis_mb_with_file_snapshots": round(redis_file_mb, 2),
            "retire_half_s": round(retire_s, 1),
            "kind": restored.kind,
            "nlist": restored.nlist,
            "ann_after": restored.ann_after,
        }
        | {k: round(v, 6) for k, v in agree.items()},
        entries=args.n,
    )
    return 0
