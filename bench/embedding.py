"""Raw embedding throughput and agreement of the backends, measured in one run.

    .venv/bin/python bench/embedding.py [--n 2000] [--repeat 3]

For each backend: prompts/s (best of --repeat passes after a warm-up), mean and minimum cosine of
its vectors to torch fp32, and how many greedy near-duplicate decisions (at the default
threshold) differ from torch fp32's on the same prompts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.common import machine, public_prompts, stamp  # noqa: E402
from services.embedding import Embedder  # noqa: E402
from services.index import greedy_reference  # noqa: E402
from services.settings import Settings  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=64)
    args = ap.parse_args()
    s = Settings()
    texts, origin = public_prompts(args.n)
    print(f"# {stamp()} | {machine()}\n# {len(texts)} prompts from {origin}, batch {args.batch}")
    vecs: dict[str, np.ndarray] = {}
    print(f"{'backend':<10} {'prompts/s':>10} {'mean cos':>9} {'min cos':>8} {'decisions≠':>10}")
    for backend in ("torch", "onnx", "onnx-int8"):
        emb = Embedder(s.embedding_model, backend, s.state_dir / "models", args.batch).setup()
        emb.encode(texts[:128])
        best = 0.0
        for _ in range(args.repeat):
            t = time.perf_counter()
            out = emb.encode(texts)
            best = max(best, len(texts) / (time.perf_counter() - t))
        vecs[backend] = out
        cos = np.sum(out * vecs["torch"], axis=1)
        ref = greedy_reference(vecs["torch"], s.near_dup_threshold)
        mine = greedy_reference(out, s.near_dup_threshold)
        diff = sum(a != b for a, b in zip(ref, mine, strict=True))
        print(f"{backend:<10} {best:>10.1f} {cos.mean():>9.4f} {cos.min():>8.4f} {diff:>10d}")


if __name__ == "__main__":
    main()
