"""The cleaning chain on one core: throughput, personal-data recall, false positives.

    .venv/bin/python bench/cleaning.py [--n 20000]

The chain is what ``IngestStage._screen`` runs on a valid event after decoding: normalization
(mojibake repair, NFKC, controls), redaction, language identification and the filter chain.
Prompts: the public set (../shared/data, when present) repeated to --n, else the generator's
chat log. Recall per type on the tests' labelled corpus (tests/pii_corpus.py), and the share of
public prompts in which redaction finds anything (they should hold no personal data: every hit is
a false positive or a public example value).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.common import SHARED, machine, stamp  # noqa: E402
from services.clean.filters import Doc, default_chain, run_chain  # noqa: E402
from services.clean.language import detect_language_scored  # noqa: E402
from services.clean.pii import placeholder, redact  # noqa: E402
from services.clean.text import normalize  # noqa: E402
from services.dev.generator import ChatLogGenerator  # noqa: E402
from services.settings import Settings  # noqa: E402
from tests.pii_corpus import labelled  # noqa: E402


def prompts(n: int, which: str = "public") -> tuple[list[str], str]:
    if which == "public" and SHARED.exists():
        texts = [json.loads(x)["prompt"] for x in SHARED.read_text().split("\n") if x.strip()]
        origin = SHARED.name
    else:
        texts = [
            json.loads(r)["prompt"]
            for r, m in ChatLogGenerator(seed=3).events(n)
            if m["kind"] != "malformed"
        ]
        origin = "the generator's chat log"
    return (texts * (n // len(texts) + 1))[:n], origin


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument(
        "--set",
        choices=["public", "chat"],
        default="public",
        help="public prompts (long, instruction style) or the generator's chat log",
    )
    args = ap.parse_args()
    chain = default_chain(Settings())
    texts, origin = prompts(args.n, args.set)
    for t in texts[:200]:  # warm-up: regex compilation, language model load
        detect_language_scored(t)

    stages = Counter()
    t0 = time.perf_counter()
    for text in texts:
        a = time.perf_counter()
        clean = normalize(text)
        b = time.perf_counter()
        clean, pii = redact(clean)
        c = time.perf_counter()
        lang, score = detect_language_scored(clean)
        d = time.perf_counter()
        run_chain(chain, Doc(clean, lang, score, pii))
        e = time.perf_counter()
        stages["normalize"] += b - a
        stages["redact"] += c - b
        stages["language"] += d - c
        stages["filters"] += e - d
    total = time.perf_counter() - t0

    print(f"# {stamp()} | {machine()} | one process, one thread")
    print(f"# {len(texts)} prompts from {origin}")
    print(f"cleaning chain: {len(texts) / total:,.0f} prompts/s")
    for name, secs in stages.items():
        print(f"  {name:<10} {secs / len(texts) * 1e6:6.1f} µs/prompt")
    dropped = Counter()
    for step in chain:
        for key, v in step.counts.items():
            if key.startswith("dropped_"):
                dropped[key.removeprefix("dropped_")] += v
    print(f"filter drops on this set: {dict(dropped.most_common())}")

    hits, totals = Counter(), Counter()
    for text, kind, value, valid in labelled(300, seed=7):
        if valid:
            out, kinds = redact(normalize(text))
            totals[kind] += 1
            hits[kind] += value not in out and placeholder(kind) in out
    print("recall on the labelled corpus (300 per type, en+zh):")
    for kind in totals:
        print(f"  {kind:<16} {hits[kind] / totals[kind]:.1%}")
    distinct = list(dict.fromkeys(texts))
    flagged = [(t, redact(normalize(t))[1]) for t in distinct]
    flagged = [(t, k) for t, k in flagged if k]
    print(
        f"public prompts with a redaction: {len(flagged)} of {len(distinct)} ({len(flagged) / len(distinct):.2%})"
    )
    for t, k in flagged[:8]:
        print(f"  {k} {t[:100]!r}")


if __name__ == "__main__":
    main()
