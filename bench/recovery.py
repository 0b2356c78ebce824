"""Cold start of a curate worker: rebuild the vector index from Redis, with and without a snapshot.

    .venv/bin/python bench/recovery.py [--n 1000000] [--tail 10000]

Starts its own redis-server (free port, temp dir, no persistence), fills a ``RedisVectorLog``
with ``--n`` entries of the bench/index.py synthetic corpus (pipelined RPUSH), then measures:

1. replay: ``sync`` of the whole log into a fresh default ``VectorIndex`` (flat, then the
   IVF-SQ8 switch at ``ann_after``: training and moving the vectors are included);
2. ``snapshot`` of that index to Redis;
3. snapshot + tail: ``--tail`` more entries are appended, then ``sync`` into another fresh
   index loads the snapshot and replays only the tail.

Redis memory (INFO used_memory) is printed after the fill and after the snapshot. One JSON
line per run goes to bench/index_results.jsonl.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import redis as redis_sync
import redis.asyncio as aioredis

from bench.common import machine, stamp
from bench.index import CHUNK, DIM, N_BASES, RESULTS, corpus, queries, real_vectors
from services.dedup.index import VectorIndex, configure_faiss_threads
from services.dev.devstack import free_port, redis_server_bin
from services.state.stores import RedisVectorLog

NAME = "en"


def start_redis(workdir: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    proc = subprocess.Popen(
        [redis_server_bin(), "--port", str(port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no", "--dir", str(workdir)],
        stdout=(workdir / "redis.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    client = redis_sync.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis_sync.ConnectionError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)
    client.close()
    return proc, port


def used_mb(client: redis_sync.Redis) -> float:
    return float(client.info("memory")["used_memory"]) / 2**20


def fill(client: redis_sync.Redis, vlog: RedisVectorLog, start: int, stop: int) -> float:
    """Append corpus rows [start, stop) to the log, 1,000 entries per RPUSH, 10 per round trip."""
    bases = real_vectors()[:N_BASES]
    key = vlog.key(NAME)
    t0 = time.perf_counter()
    for lo in range(start, stop, CHUNK):
        x = corpus(bases, lo, min(lo + CHUNK, stop))
        pids = np.random.default_rng(lo + 17).bytes(16 * len(x))
        pipe = client.pipeline(transaction=False)
        for b in range(0, len(x), 1000):
            entries = [
                pids[16 * i : 16 * i + 16]
                + x[i].tobytes()
                + f"t.flywheel.curate/{i % 4}/{lo + i}".encode()
                for i in range(b, min(b + 1000, len(x)))
            ]
            pipe.rpush(key, *entries)
            if len(pipe) >= 10:
                pipe.execute()
        pipe.execute()
    return time.perf_counter() - t0


async def cold_sync(port: int, chunk: int) -> tuple[VectorIndex, float]:
    client = aioredis.Redis(port=port)
    try:
        index = VectorIndex(DIM)
        t0 = time.perf_counter()
        await RedisVectorLog(client, "bench", DIM).sync(NAME, index, chunk=chunk)
        return index, time.perf_counter() - t0
    finally:
        await client.aclose()


async def take_snapshot(port: int, index: VectorIndex) -> float:
    client = aioredis.Redis(port=port)
    try:
        t0 = time.perf_counter()
        await RedisVectorLog(client, "bench", DIM).snapshot(NAME, index)
        return time.perf_counter() - t0
    finally:
        await client.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--tail", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=10_000, help="LRANGE entries per round trip")
    ap.add_argument("--faiss-threads", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS))
    args = ap.parse_args()
    configure_faiss_threads(args.faiss_threads)
    print(f"# {stamp()} | {machine()} | load avg {os.getloadavg()[0]:.1f} (shared machine)")
    workdir = Path(tempfile.mkdtemp(prefix="flywheel-recovery-"))
    proc, port = start_redis(workdir)
    try:
        client = redis_sync.Redis(port=port)
        vlog = RedisVectorLog(client, "bench", DIM)  # type: ignore[arg-type]
        base_mb = used_mb(client)
        fill_s = fill(client, vlog, 0, args.n)
        log_mb = used_mb(client) - base_mb
        print(f"fill {args.n:,} entries: {fill_s:.1f}s, Redis log {log_mb:.0f} MB", flush=True)

        index, replay_s = asyncio.run(cold_sync(port, args.chunk))
        print(
            f"cold replay of {len(index):,} entries: {replay_s:.1f}s (kind {index.kind}, "
            f"IVF switch {index.switch_seconds or 0:.1f}s of it), "
            f"{index.memory_bytes() / len(index):.0f} B/vector",
            flush=True,
        )
        snap_s = asyncio.run(take_snapshot(port, index))
        snap_mb = used_mb(client) - base_mb - log_mb
        print(f"snapshot: {snap_s:.1f}s, Redis snapshot {snap_mb:.0f} MB", flush=True)

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
        row = {
            "date": stamp(),
            "machine": machine(),
            "load_avg": round(os.getloadavg()[0], 2),
            "bench": "recovery",
            "entries": args.n,
            "fill_s": round(fill_s, 1),
            "redis_log_mb": round(log_mb, 1),
            "replay_s": round(replay_s, 1),
            "switch_s": round(index.switch_seconds or 0, 1),
            "snapshot_s": round(snap_s, 1),
            "redis_snapshot_mb": round(snap_mb, 1),
            "tail": args.tail,
            "tail_fill_s": round(tail_fill_s, 1),
            "snapshot_plus_tail_s": round(restore_s, 1),
            "same_answers": same,
            "kind": restored.kind,
            "nlist": restored.nlist,
            "ann_after": restored.ann_after,
        }
        if args.out:
            with open(args.out, "a") as fh:
                fh.write(json.dumps(row) + "\n")
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


async def cold_sync_tail(port: int, index: VectorIndex, chunk: int) -> None:
    """Bring the live index up to date with the tail too (for the comparison)."""
    client = aioredis.Redis(port=port)
    try:
        await RedisVectorLog(client, "bench", DIM).sync(NAME, index, chunk=chunk)
    finally:
        await client.aclose()


if __name__ == "__main__":
    main()
