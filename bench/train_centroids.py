"""Train the versioned topic centroids (services/embed/data/topics-*.npz) from public prompts.

    .venv/bin/python bench/train_centroids.py [--k 64] [--backend onnx] [--model PATH] [--out FILE]

Embeds the public prompts the model can read (../shared/data/public_prompts.jsonl, [UNK] share
<= 0.3; vectors cached in .flywheel/bench/public_vectors*.npz for bench/sharding.py), runs
spherical k-means (FAISS, fixed seed) and stores the unit centroids with a few characteristic
words per cluster (for dashboards) and the fingerprint of the model that embedded them
(``TopicModel.check`` refuses them for another model). The default output is topics-v1.npz
for the transformer backends and topics-static-v1.npz for ``--backend static``. The files are
committed: workers never train at run time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss
import numpy as np

from bench.common import SHARED, machine, stamp
from services.clean.text import normalize
from services.embed.embedder import Embedder

CACHE = Path(".flywheel/bench/public_vectors.npz")  # default model; other models get their own
TRANSFORMER = ("torch", "onnx", "onnx-int8")  # one vector space (services/embed/fingerprint.py)
STOP = set(
    "the a an and or of to in on for with is are be can you your me my i it this that what how "
    "please write give make from as by at about into using use do does which who why when "
    "between some its their them they we our not will would should could have has was were if "
    "than then there these those one two each any all more most also so just like other".split()
)


def public_vectors(model: str = "", backend: str = "onnx") -> tuple[list[str], np.ndarray, str]:
    """Texts, vectors and the fingerprint of the model that embedded them (cached)."""
    name = "public_vectors" + (f"-{Path(model).name}" if model else "")
    name += "" if backend in TRANSFORMER else f"-{backend}"
    cache = CACHE.with_name(name + ".npz")
    emb = Embedder(model, backend, Path(".flywheel") / "models", 16).setup()
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if "model" not in data.files or str(data["model"]) == emb.fingerprint:
            return [str(t) for t in data["texts"]], data["vectors"], emb.fingerprint
    seen: dict[str, None] = {}
    for line in SHARED.read_text().split("\n"):
        if line.strip():
            text = normalize(json.loads(line)["prompt"])
            if text:
                seen.setdefault(text, None)
    texts = list(seen)
    ratios = emb.unknown_token_ratio(texts)
    texts = [t for t, r in zip(texts, ratios, strict=True) if r <= 0.3]
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vecs = np.empty((len(texts), emb.dim), dtype=np.float32)
    for start in range(0, len(order), 512):
        rows = order[start : start + 512]
        vecs[rows] = emb.encode([texts[i] for i in rows])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=np.array(texts), vectors=vecs, model=np.array(emb.fingerprint))
    return texts, vecs, emb.fingerprint


def words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z][a-z+#]{2,}", text.lower()) if w not in STOP]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--k", type=int, default=64)
    ap.add_argument(
        "--out",
        default=None,
        help="default: services/embed/data/topics-v1.npz, or "
        "topics-static-v1.npz with --backend static",
    )
    ap.add_argument("--model", default="", help="local sentence-transformers model (default: ours)")
    ap.add_argument("--backend", default="onnx", help="embedding backend (services/embed)")
    args = ap.parse_args()
    out = Path(
        args.out
        or f"services/embed/data/topics-{'' if args.backend in TRANSFORMER else args.backend + '-'}v1.npz"
    )
    texts, vecs, fingerprint = public_vectors(args.model, args.backend)
    km = faiss.Kmeans(vecs.shape[1], args.k, niter=30, seed=1234, spherical=True, verbose=False)
    km.train(vecs)
    cents = km.centroids / np.linalg.norm(km.centroids, axis=1, keepdims=True)
    assign = np.argmax(vecs @ cents.T, axis=1)
    df = Counter(w for t in texts for w in set(words(t)))
    labels = []
    sizes = np.bincount(assign, minlength=args.k)
    for c in range(args.k):
        tf = Counter(w for i in np.flatnonzero(assign == c) for w in set(words(texts[i])))
        top = sorted(tf, key=lambda w: -tf[w] * np.log(len(texts) / df[w]))[:3]
        labels.append(" ".join(top))
    np.savez(
        out,
        version=np.array(out.stem),
        model=np.array(fingerprint),
        centroids=cents.astype(np.float32),
        labels=np.array(labels),
        weights=(sizes / sizes.sum()).astype(np.float32),
    )
    print(f"{stamp()} | {machine()}")
    print(f"{len(texts)} readable public prompts -> {args.k} clusters -> {out} ({fingerprint})")
    print(f"cluster sizes: min {sizes.min()} median {int(np.median(sizes))} max {sizes.max()}")
    for c in np.argsort(-sizes)[:10]:
        print(f"  {c:3d} {sizes[c]:5d}  {labels[c]}")


if __name__ == "__main__":
    main()
