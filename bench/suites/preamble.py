"""What a shared preamble does to near-duplicate decisions, and what stripping it changes.

For each generated stream (services/dev/ood_streams.py) and the public prompts (when present):
distinct prompts after cleaning, prompts whose leading text ``Preambles`` strips (counts kept in
memory here, in Redis in the worker: same logic), and the prompts the greedy rule keeps at the
default threshold in arrival order when the model reads the whole text and when it reads the
text after the preamble. Transformer (ONNX) embeddings.
"""

from __future__ import annotations

import argparse
import asyncio

from bench.harness import Recorder, embedder, public_texts
from services.clean.text import normalize
from services.dev.ood_streams import stream
from services.embed.preamble import MemoryCounts, Preambles
from services.settings import Settings
from tests.oracles import greedy_reference


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--streams", nargs="+", default=["tool", "travel", "code", "mixed"])
    ap.add_argument("--min-count", type=int, default=Settings().preamble_min_count)
    ap.add_argument("--public", action=argparse.BooleanOptionalAction, default=True)


def run(args: argparse.Namespace, rec: Recorder) -> int:
    s = Settings()
    emb = embedder("onnx", 64)
    rec.header(f"threshold {s.near_dup_threshold}, min count {args.min_count}")
    print(
        "| stream | distinct prompts | preamble stripped | kept, whole text | kept, after preamble |"
    )
    print("|---|---|---|---|---|")
    sets = {k: [t for t, _ in stream(k, args.n)] for k in args.streams}
    if args.public and public_texts():
        sets["public"] = public_texts()
    for name, raw in sets.items():
        texts = list(dict.fromkeys(normalize(t) for t in raw))
        stripped = asyncio.run(Preambles(MemoryCounts(), args.min_count).strip(texts))
        changed = sum(a != b for a, b in zip(texts, stripped, strict=True))
        whole = sum(greedy_reference(emb.encode(texts), s.near_dup_threshold))
        after = whole
        if changed:
            after = sum(greedy_reference(emb.encode(stripped), s.near_dup_threshold))
        print(f"| {name} | {len(texts)} | {changed} | {whole} | {after} |", flush=True)
        metrics = {"distinct": len(texts), "stripped": changed, "kept_whole": whole}
        rec.add(metrics | {"kept_after": after}, stream=name)
    return 0
