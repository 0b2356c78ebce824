"""Near duplicates missed by semantic sharding, against one global index.

    .venv/bin/python bench/sharding.py [--shards 2 4 8 16] [--threshold 0.85]

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
(bench/ood_streams.py, embedded by the transformer). The curate stage no longer depends on the
shard key for meeting (it searches every shard's index: services/dedup/union.py); these figures
are what ``FLYWHEEL_DEDUP_SCOPE=shard`` would miss, and bench/ood_curation.py measures the
deployed design through the worker.
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss
import numpy as np

from bench.common import SHARED, machine, stamp
from services.clean.text import normalize
from services.dev.generator import EN_TEMPLATES, _edit
from services.embed.centroids import encode_by_length, readable
from services.embed.clusters import TopicModel
from services.embed.embedder import Embedder
from services.settings import Settings

CACHE = Path(".flywheel/bench/sharding_extra.npz")
PUBLIC = Path(".flywheel/bench/public_vectors.npz")


def public_vectors() -> tuple[list[str], np.ndarray]:
    """The public prompts the model can read and their vectors (cached)."""
    emb = Embedder("", "onnx", Path(".flywheel") / "models", 16).setup()
    if PUBLIC.exists():
        data = np.load(PUBLIC, allow_pickle=False)
        if str(data["model"]) == emb.fingerprint:
            return [str(t) for t in data["texts"]], data["vectors"]
    seen = {normalize(json.loads(line)["prompt"]): None for line in SHARED.open() if line.strip()}
    texts = readable(emb, [t for t in seen if t])
    vecs = encode_by_length(emb, texts)
    PUBLIC.parent.mkdir(parents=True, exist_ok=True)
    np.savez(PUBLIC, texts=np.array(texts), vectors=vecs, model=np.array(emb.fingerprint))
    return texts, vecs


def stream(seed: int) -> np.ndarray:
    texts, vecs = public_vectors()
    if CACHE.exists():
        extra = np.load(CACHE)["vectors"]
    else:
        rng = random.Random(seed)
        edits = [normalize(_edit(t, rng)) for t in rng.sample(texts, 2000)]
        paras = [f.format(x=slot) for forms, slots in EN_TEMPLATES for slot in slots for f in forms]
        emb = Embedder("", "onnx", Path(".flywheel") / "models", 16).setup()
        extra = emb.encode(edits + paras)
        np.savez(CACHE, vectors=extra)
    allv = np.concatenate([vecs, extra]).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(allv))
    return allv[order]


def ood_stream(kind: str, n: int, seed: int, min_count: int) -> np.ndarray:
    """A generated stream as the worker embeds it: after the preambles it shares (counted in
    batches of 128, as micro-batches are)."""
    import asyncio

    from services.dev.ood_streams import stream as ood
    from services.embed.preamble import MemoryCounts, Preambles

    texts = [normalize(t) for t, _ in ood(kind, n, seed)]
    if min_count:
        pre = Preambles(MemoryCounts(), min_count)
        texts = [
            u for i in range(0, len(texts), 128) for u in asyncio.run(pre.strip(texts[i : i + 128]))
        ]
    return Embedder("", "onnx", Path(".flywheel") / "models", 16).setup().encode(texts)


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shards", type=int, nargs="+", default=[2, 4, 8, 16])
    ap.add_argument("--threshold", type=float, default=0.85)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--slack", type=float, nargs="+", default=[1.25, 2.0, 100.0])
    ap.add_argument(
        "--stream", default="public", help="public | tool | mixed | long | code | ticket"
    )
    ap.add_argument("--n", type=int, default=3000, help="prompts of a generated --stream")
    args = ap.parse_args()
    ap_min = Settings().preamble_min_count
    vecs = (
        stream(args.seed)
        if args.stream == "public"
        else ood_stream(args.stream, args.n, args.seed, ap_min)
    )
    topics = TopicModel.load()
    clusters = topics.assign(vecs)
    glob = greedy(vecs, np.zeros(len(vecs), dtype=np.int64), args.threshold)
    dups = int((~glob).sum())
    print(f"{stamp()} | {machine()} | topics {topics.version} | stream {args.stream}")
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
                f"{n:6d}  {name:20s} {missed:6d}  {100 * missed / dups:6.2f}%  "
                f"{share.min():.3f}/{share.max():.3f}"
            )


if __name__ == "__main__":
    main()
