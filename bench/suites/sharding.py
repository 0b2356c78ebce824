"""Near duplicates missed by semantic sharding, against one global index.

Stream (shuffled, fixed seed): the public prompts the model can read (vectors cached in
.flywheel/bench), a light edit (case, punctuation, transposed letters, filler words) of
2,000 of them, and every paraphrase form of the generator's English templates. The greedy rule
runs once over one global index and once with every prompt sent to its shard (one index per
shard, as the curate stage does). A near duplicate is *missed* when the global run rejects it
and the sharded run accepts it. Two shard keys are compared:
- grouped: nearest of the 64 topic centroids, clusters grouped into N shards with no shard above
  ``slack`` x the mean load (the deployed key; FLYWHEEL_SHARD_SLACK, default 2);
- direct: nearest of N centroids trained directly on the same vectors.

``--stream tool|mixed|long|code|ticket`` replaces the public prompts by a stream unlike them
(services/dev/ood_streams.py, embedded by the transformer). The curate stage does not depend on
the shard key for meeting (it searches every shard's index: services/dedup/union.py); these
figures are what searching one shard only would miss (``ood-curation`` measures the deployed
design through the worker).
"""

from __future__ import annotations

import argparse
import asyncio
import random

import faiss
import numpy as np

from bench.harness import CACHE, Recorder, embedder, public_vectors
from services.clean.text import normalize
from services.dev.generator import EN_TEMPLATES, _edit
from services.dev.ood_streams import stream as ood
from services.embed.clusters import TopicModel
from services.embed.preamble import MemoryCounts, Preambles
from services.settings import Settings


def stream(seed: int) -> np.ndarray:
    texts, vecs = public_vectors()
    cache = CACHE / "sharding_extra.npz"
    if cache.exists():
        extra = np.load(cache)["vectors"]
    else:
        rng = random.Random(seed)
        edits = [normalize(_edit(t, rng)) for t in rng.sample(texts, 2000)]
        paras = [f.format(x=slot) for forms, slots in EN_TEMPLATES for slot in slots for f in forms]
        extra = embedder("onnx", 16).encode(edits + paras)
        np.savez(cache, vectors=extra)
    allv = np.concatenate([vecs, extra]).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(allv))
    return allv[order]


def ood_stream(kind: str, n: int, seed: int, min_count: int) -> np.ndarray:
    """A generated stream as the worker embeds it: after the preambles it shares (counted in
    batches of 128, as micro-batches are)."""

    texts = [normalize(t) for t, _ in ood(kind, n, seed)]
    if min_count:
        pre = Preambles(MemoryCounts(), min_count)
        texts = [
            u for i in range(0, len(texts), 128) for u in asyncio.run(pre.strip(texts[i : i + 128]))
        ]
    return embedder("onnx", 16).encode(texts)


def greedy(vecs: np.ndarray, keys: np.ndarray, threshold: float) -> np.ndarray:
    """Accepted mask of the greedy rule, with one flat index per key value."""
    indexes: dict[int, faiss.IndexFlatIP] = {}
    accepted = np.zeros(len(vecs), dtype=bool)
    for i, (v, k) in enumerate(zip(vecs, keys, strict=True)):
        idx = indexes.setdefault(int(k), faiss.IndexFlatIP(vecs.shape[1]))
        best = idx.search(v[None], 1)[0][0][0] if idx.ntotal else -1.0
        if best < threshold:
            accepted[i] = True
            idx.add(v[None])
    return accepted


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--shards", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--slack", type=float, nargs="+", default=[1.25, 2.0, 100.0])
    ap.add_argument(
        "--stream", default="public", help="public | tool | mixed | long | code | ticket"
    )
    ap.add_argument("--n", type=int, default=3000, help="prompts of a generated --stream")


def run(args: argparse.Namespace, rec: Recorder) -> int:
    min_count = Settings().preamble_min_count
    vecs = (
        stream(args.seed)
        if args.stream == "public"
        else ood_stream(args.stream, args.n, args.seed, min_count)
    )
    topics = TopicModel.load()
    clusters = topics.assign(vecs)
    glob = greedy(vecs, np.zeros(len(vecs), dtype=np.int64), args.threshold)
    dups = int((~glob).sum())
    rec.header(f"topics {topics.version} | stream {args.stream}")
    print(f"stream {len(vecs)} prompts, threshold {args.threshold}: global index rejects {dups}")
    print("shards  key                   missed  missed%  shard sizes (min/max share)")
    for n in args.shards:
        direct = faiss.Kmeans(vecs.shape[1], n, niter=30, seed=1234, spherical=True)
        direct.train(vecs)
        keyings = [(f"grouped, slack {x:g}", topics.shards(n, x)[clusters]) for x in args.slack]
        keyings.append(("direct", np.argmax(vecs @ direct.centroids.T, axis=1)))
        for name, keys in keyings:
            acc = greedy(vecs, keys, args.threshold)
            missed = int((acc & ~glob).sum())
            share = np.bincount(keys, minlength=n) / len(keys)
            print(
                f"{n:6d}  {name:20s} {missed:6d}  {100 * missed / max(dups, 1):6.2f}%  "
                f"{share.min():.3f}/{share.max():.3f}"
            )
            metrics = {
                "missed": missed,
                "missed_share": missed / max(dups, 1),
                "rejects_global": dups,
            }
            rec.add(metrics | {"largest_shard": float(share.max())}, shards=n, key=name)
    return 0
