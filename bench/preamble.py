"""What a shared preamble does to near-duplicate decisions, and what stripping it changes.

    .venv/bin/python bench/preamble.py [--n 3000] [--streams tool travel code mixed] [--min-count 50]

For each stream (bench/ood_streams.py) and for the public prompts (../shared/data, when
present): distinct prompts after cleaning, prompts whose leading text ``Preambles`` strips
(counts kept in memory here, in Redis in the worker: same logic), and the prompts the greedy rule
keeps at the default threshold in arrival order when the model reads the whole text and when it
reads the text after the preamble. Transformer (ONNX) embeddings.
"""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.common import SHARED, machine, stamp
from services.clean.text import normalize
from services.dev.ood_streams import stream
from services.embed.embedder import Embedder
from services.embed.preamble import MemoryCounts, Preambles
from services.settings import Settings
from tests.oracles import greedy_reference


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--streams", nargs="+", default=["tool", "travel", "code", "mixed"])
    ap.add_argument("--min-count", type=int, default=Settings().preamble_min_count)
    args = ap.parse_args()
    s = Settings()
    emb = Embedder(s.embedding_model, "onnx", Path(".flywheel") / "models", 64).setup()
    print(f"# {stamp()} | {machine()} | threshold {s.near_dup_threshold}, min count {args.min_count}")
    print("| stream | distinct prompts | preamble stripped | kept, whole text | kept, after preamble |")
    print("|---|---|---|---|---|")
    sets = {k: [t for t, _ in stream(k, args.n)] for k in args.streams}
    if SHARED.exists():
        import json

        lines = SHARED.read_text().split("\n")
        sets["public"] = [json.loads(x)["prompt"] for x in lines if x.strip()]
    for name, raw in sets.items():
        texts = list(dict.fromkeys(normalize(t) for t in raw))
        stripped = asyncio.run(Preambles(MemoryCounts(), args.min_count).strip(texts))
        changed = sum(a != b for a, b in zip(texts, stripped, strict=True))
        whole = sum(greedy_reference(emb.encode(texts), s.near_dup_threshold))
        after = (
            whole if not changed else sum(greedy_reference(emb.encode(stripped), s.near_dup_threshold))
        )
        print(f"| {name} | {len(texts)} | {changed} | {whole} | {after} |", flush=True)


if __name__ == "__main__":
    main()
