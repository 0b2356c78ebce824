"""Erasure of one user's prompts among many: the time ``RedisPrivacy.erase`` takes, by step.

On a redis-server of its own: ``--n`` accepted prompts spread over ``--shards`` vector logs
(int8 entries as curate writes them, pipelined RPUSH), each log with a snapshot of its first
90 % (the log trimmed behind it, as a worker's snapshots leave it), and the privacy keys the
curate commit writes for every prompt; ``--user-prompts`` of them belong to one user. Then the
request as the erasure agent runs it: ``resolve``, ``remember``, ``erase`` (erasure log, one
rewrite pass per log, every snapshot loaded, erased and written back, the keys, the lists).
Redis memory before and after, and the erasure's own records, are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import time

import numpy as np
import redis.asyncio as aioredis

from bench.harness import Recorder, redis_server
from services.dedup.index import VectorIndex, configure_faiss_threads
from services.dedup.minhash import MinHasher
from services.settings import Settings
from services.state.privacy import Origin, RedisPrivacy
from services.state.signature_log import RedisSignatureLog
from services.state.vector_log import RedisVectorLog

DIM = 384
CHUNK = 20_000


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=1_000_000, help="accepted prompts in Redis")
    ap.add_argument("--user-prompts", type=int, default=1_000, help="of them, the user's")
    ap.add_argument("--shards", type=int, default=4, help="vector logs they are spread over")


def run(args: argparse.Namespace, rec: Recorder) -> int:
    configure_faiss_threads(1)
    rec.header(f"{args.n:,} prompts in {args.shards} logs, {args.user_prompts:,} of one user")
    with redis_server() as port:
        return asyncio.run(_run(args, rec, port))


async def _run(args: argparse.Namespace, rec: Recorder, port: int) -> int:
    s = Settings(redis_url=f"redis://127.0.0.1:{port}/0", namespace="bench")
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    vectors = RedisVectorLog(redis, s.namespace, DIM)
    privacy = RedisPrivacy(redis, s, vectors, RedisSignatureLog(redis, s.namespace, MinHasher()))
    rng = np.random.default_rng(7)
    pids = [f"{i:032x}" for i in range(args.n)]
    mine = set(rng.choice(args.n, args.user_prompts, replace=False).tolist())
    t0 = time.perf_counter()
    for shard in range(args.shards):
        name = f"en:{shard}"
        rows = range(shard, args.n, args.shards)
        index = VectorIndex(DIM, ann_after=50_000)
        cut = int(len(rows) * 0.9)
        for lo in range(0, len(rows), CHUNK):
            part = rows[lo : lo + CHUNK]
            x = rng.standard_normal((len(part), DIM)).astype(np.float32)
            x /= np.linalg.norm(x, axis=1, keepdims=True)
            entries = [(pids[i], x[j], f"chat.events/0/{i}") for j, i in enumerate(part)]
            await vectors.append(name, entries)
            async with redis.pipeline(transaction=False) as pipe:
                privacy.queue(
                    pipe,
                    {
                        pids[i]: Origin(name, "u-bench" if i in mine else f"u{i % 5000}", f"e{i}")
                        for i in part
                    },
                )
                await pipe.execute()
            if lo < cut:
                keep = min(len(part), cut - lo)
                index.add(x[:keep], [e[0] for e in entries[:keep]], [e[2] for e in entries[:keep]])
        await vectors.snapshot(name, index)
    fill_s = time.perf_counter() - t0
    before = (await redis.info("memory"))["used_memory"] / 2**20
    print(f"filled in {fill_s:.0f} s; Redis {before:.0f} MB")

    t = time.perf_counter()
    found = await privacy.resolve(user="u-bench")
    resolve_s = time.perf_counter() - t
    found = await privacy.remember("bench/0/0", found)
    t = time.perf_counter()
    removed = await privacy.erase(found)
    erase_s = time.perf_counter() - t
    after = (await redis.info("memory"))["used_memory"] / 2**20
    print(
        f"erased {len(found):,} prompts: resolve {resolve_s:.2f} s, erase {erase_s:.1f} s; "
        f"removed {dict(removed)}; Redis {after:.0f} MB"
    )
    rec.add(
        {
            "n": args.n,
            "user_prompts": len(found),
            "resolve_s": round(resolve_s, 3),
            "erase_s": round(erase_s, 2),
            **{f"removed_{k}": v for k, v in removed.items()},
        }
    )
    await redis.aclose()
    return 0 if len(found) == args.user_prompts else 1
