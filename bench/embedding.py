"""Raw embedding throughput and agreement of the backends, measured in one run.

    .venv/bin/python bench/embedding.py [--n 2000] [--repeat 3] [--backends torch onnx openvino]

For each backend: prompts/s (best of --repeat passes after a warm-up) encoding the prompts the
way the worker does (calls of one micro-batch, FLYWHEEL_BATCH_MAX, each split into encoder
batches of --batch), mean and minimum cosine of its vectors to the first backend's (torch fp32
by default), and how many greedy near-duplicate decisions (at the default threshold) differ from
the first backend's on the same prompts. FLYWHEEL_ONNX_THREADS, FLYWHEEL_ONNX_SPINNING and
FLYWHEEL_OPENVINO_PRECISION apply as in the worker. ``--scan`` also prints the effect of the
encoder batch and the call size for the chosen backend.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from bench.common import machine, public_prompts, stamp
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import greedy_reference


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=None, help="encoder batch (default: settings)")
    ap.add_argument("--lang", choices=["en", "mixed"], default="en")
    ap.add_argument("--scan", default=None, help="backend whose batch sizes to scan")
    ap.add_argument(
        "--backends",
        nargs="+",
        default=["torch", "onnx", "onnx-int8", "openvino"],
        help="the first is the reference the others are compared with",
    )
    args = ap.parse_args()
    s = Settings()
    batch = args.batch or s.embed_batch_size
    texts, origin = public_prompts(args.n, args.lang)
    print(f"# {stamp()} | {machine()}")
    print(f"# {len(texts)} prompts from {origin}; calls of {s.batch_max}, encoder batch {batch}")
    vecs: dict[str, np.ndarray] = {}
    print(f"{'backend':<10} {'prompts/s':>10} {'mean cos':>9} {'min cos':>8} {'decisions≠':>10}")
    for backend in args.backends:
        emb = Embedder(s.embedding_model, backend, s.state_dir / "models", batch).setup()
        emb.encode(texts[:128])
        best, out = 0.0, emb.encode(texts)
        for _ in range(args.repeat):
            best = max(best, rate(emb, texts, s.batch_max))
        vecs[backend] = out
        cos = np.sum(out * vecs[args.backends[0]], axis=1)
        ref = greedy_reference(vecs[args.backends[0]], s.near_dup_threshold)
        mine = greedy_reference(out, s.near_dup_threshold)
        diff = sum(a != b for a, b in zip(ref, mine, strict=True))
        print(f"{backend:<10} {best:>10.1f} {cos.mean():>9.4f} {cos.min():>8.4f} {diff:>10d}")
    if args.scan:
        emb = Embedder(s.embedding_model, args.scan, s.state_dir / "models", batch).setup()
        print(f"\n{args.scan}: prompts/s by encoder batch (rows) and call size (columns)")
        sizes = [64, 128, 256, len(texts)]
        print("batch " + " ".join(f"{c:>6}" for c in sizes))
        for b in (8, 16, 32, 64):
            emb.batch_size = b
            print(f"{b:>5} " + " ".join(f"{rate(emb, texts, c):>6.0f}" for c in sizes))


def rate(emb: Embedder, texts: list[str], call: int) -> float:
    t = time.perf_counter()
    for i in range(0, len(texts), call):
        emb.encode(texts[i : i + call])
    return len(texts) / (time.perf_counter() - t)


if __name__ == "__main__":
    main()
