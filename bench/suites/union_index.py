"""The cost of searching every shard: one index of N vectors against N vectors in P shards.

A curate batch searches its own shard's index and read replicas of the others
(services/dedup/union.py), so every worker holds every shard of its language and each
decision searches P indexes of N/P vectors instead of one. Same corpus, queries and candidate
stream as the ``index`` suite (synthetic mixtures of real prompt vectors, half near duplicates);
the corpus is dealt to the shards round-robin. Reported in one run: curate decisions/s
(``GreedyCurator`` on 128-candidate batches, accepted vectors added to shard 0 as the deciding
worker does), recall@1 of the union's nearest neighbour against exact search, and the bytes
per vector a worker holds (all shards).
"""

from __future__ import annotations

import argparse
import time

import faiss
import numpy as np

from bench.harness import Recorder
from bench.suites.index import (
    DIM,
    N_BASES,
    Stream,
    corpus,
    held_rows,
    make_index,
    queries,
    real_vectors,
)
from services.dedup.greedy import GreedyCurator
from services.dedup.index import (
    DEFAULT_ANN_AFTER,
    DEFAULT_K_FACTOR,
    DEFAULT_NLIST,
    DEFAULT_NPROBE,
    configure_faiss_threads,
)
from services.dedup.union import UnionIndex, per_shard


def build(n_shards: int, size: int, bases: np.ndarray, args: argparse.Namespace):
    shard_args = argparse.Namespace(**vars(args))
    if args.scale:  # lists as the curate stage sizes them (services/dedup/union.py per_shard)
        shard_args.nlist, nprobe = per_shard(args.nlist, args.nprobe, n_shards)
    else:
        nprobe = args.nprobe
    parts = [make_index(args.config, shard_args) for _ in range(n_shards)]
    for p in parts:
        p.nprobe = nprobe
    exact = faiss.IndexFlatIP(DIM)
    t0 = time.perf_counter()
    for lo in range(0, size, 10_000):
        chunk = corpus(bases, lo, min(lo + 10_000, size))
        pids = np.random.default_rng(lo).bytes(16 * len(chunk))
        ids = [pids[16 * i : 16 * i + 16].hex() for i in range(len(chunk))]
        owners = [f"bench.log/0/{lo + i}" for i in range(len(chunk))]
        for s in range(n_shards):
            rows = list(range(s, len(chunk), n_shards))
            if rows:
                parts[s].add(chunk[rows], [ids[i] for i in rows], [owners[i] for i in rows])
        exact.add(chunk)
    return parts, exact, time.perf_counter() - t0


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--size", type=int, default=1_000_000)
    ap.add_argument("--shards", type=int, nargs="+", default=[4, 8])
    ap.add_argument("--config", default="ivf_pq4fs_sq8")
    ap.add_argument("--faiss-threads", type=int, default=2)
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--queries", type=int, default=2048)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument(
        "--probe-factors", type=int, nargs="+", default=[1, 2, 4],
        help="probes per shard = factor x nprobe / shards (1: as many codes scanned as one index)",
    )  # fmt: skip
    ap.add_argument(
        "--scale", action=argparse.BooleanOptionalAction, default=True,
        help="each shard gets 1/P of the IVF lists and probes, as the curate stage does",
    )  # fmt: skip


def run(args: argparse.Namespace, rec: Recorder) -> int:
    args.ann_after, args.nlist, args.k_factor = DEFAULT_ANN_AFTER, DEFAULT_NLIST, DEFAULT_K_FACTOR
    args.nprobe = DEFAULT_NPROBE
    configure_faiss_threads(args.faiss_threads)
    real = real_vectors()
    bases = real[:N_BASES]
    rec.header(
        f"faiss threads {args.faiss_threads} | {args.config} | "
        f"lists/probes per shard {'scaled 1/P' if args.scale else 'unscaled'}"
    )
    print(
        "| shards searched | lists per shard | probes per shard | vectors | decisions/s | recall@1 "
        "| bytes/vector held | build s |\n|---|---|---|---|---|---|---|---|"
    )
    for n_shards in [1, *args.shards]:
        parts, exact, secs = build(n_shards, args.size, bases, args)
        near = parts[0] if n_shards == 1 else UnionIndex(parts[0], parts[1:])
        held = held_rows(exact, args.size)
        q = queries(held, real, args.queries, seed=args.size)
        true_sims, _ = exact.search(q, 1)
        factors = args.probe_factors if n_shards > 1 else [n_shards]
        for factor in factors:  # probes per shard = factor x nprobe / shards
            for p in parts:
                p.nprobe = max(1, -(-factor * args.nprobe // n_shards))
            got = near.nearest_other(q, [f"q{i}" for i in range(len(q))])
            sims = np.array([s for _, s in got])
            recall = float(np.mean(np.abs(sims - true_sims[:, 0]) < 1e-3))
            curator = GreedyCurator(near, args.threshold)
            stream = Stream(bases, 99)
            decided, spent = 0, 0.0
            for i in range(400):
                batch = stream.batch(held, 128)
                t0 = time.perf_counter()
                curator.decide(batch)
                spent += time.perf_counter() - t0
                decided += len(batch)
                if i >= 2 and spent >= args.seconds:
                    break
            held_bytes = sum(p.memory_bytes() for p in parts) / sum(len(p) for p in parts)
            print(
                f"| {n_shards} | {parts[0].nlist} | {parts[0].nprobe} | {args.size:,} | "
                f"{decided / spent:,.0f} | {recall:.3f} | {held_bytes:.0f} | {secs:.0f} |",
                flush=True,
            )
            rec.add(
                {"decisions_per_s": decided / spent, "recall_at_1": recall, "bytes_per_vector": held_bytes},
                shards=n_shards, probes_per_shard=parts[0].nprobe, lists_per_shard=parts[0].nlist,
            )  # fmt: skip
        del parts, exact, near
    return 0
