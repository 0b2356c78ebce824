"""The cleaning chain on one core: throughput, personal-data recall, false positives.

The chain is ``services.clean.chain.Cleaner``, exactly as the ingest stage runs it: parsing,
normalization (mojibake repair, NFKC, controls), redaction, language identification and the
filter chain, with the time of each step.
Prompts: the public set (../shared/data, when present) repeated to --n, else the generator's
chat log. The share of kept public prompts in which redaction finds anything (they should hold no
personal data: every hit is a false positive or a public example value); recall per type of
personal data is the ``pii`` suite's.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections import Counter

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as the figures say

from bench.harness import Recorder, prompt_set
from services.clean.chain import Cleaned, Cleaner, Invalid, Refused
from services.clean.filters import Doc, run_chain
from services.clean.language import detect_language_scored
from services.clean.text import normalize, strip_html
from services.settings import Settings


def step_seconds(cleaner: Cleaner, raws: list[bytes]) -> dict[str, float]:
    """Seconds per step of the chain, timed from outside: each step's function over the whole
    set, in the chain's order, on what the step before let through."""
    s, t = cleaner.s, [time.perf_counter()]
    events = [e for e in map(cleaner.parse, raws) if not isinstance(e, Invalid)]
    t.append(time.perf_counter())
    events = [e for e in events if len(e.prompt) <= 4 * s.max_chars]
    texts = [normalize(strip_html(e.prompt) if s.strip_html else e.prompt) for e in events]
    kept = [(e, x) for e, x in zip(events, texts, strict=True) if x]
    t.append(time.perf_counter())
    redacted = cleaner.redactor.redact_batch([x for _, x in kept])
    t.append(time.perf_counter())
    langs = [
        detect_language_scored(x, e.lang) for (e, _), (x, _) in zip(kept, redacted, strict=True)
    ]
    t.append(time.perf_counter())
    for (x, pii), (lang, score) in zip(redacted, langs, strict=True):
        run_chain(cleaner.chain, Doc(x, lang, score, pii))
    t.append(time.perf_counter())
    steps = ("parse", "normalize", "redact", "language", "filters")
    return {step: t[i + 1] - t[i] for i, step in enumerate(steps)}


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument(
        "--set",
        choices=["public", "chat"],
        default="public",
        help="public prompts (long, instruction style) or the generator's chat log",
    )


def run(args: argparse.Namespace, rec: Recorder) -> int:
    texts, origin = prompt_set(args.set, args.n)
    raws = [json.dumps({"event_id": str(i), "prompt": t}).encode() for i, t in enumerate(texts)]
    Cleaner(Settings()).screen_batch(raws[:200])  # warm-up: regexes, the language model
    cleaner = Cleaner(Settings())
    t0 = time.perf_counter()
    verdicts = cleaner.screen_batch(raws)
    total = time.perf_counter() - t0
    steps = step_seconds(cleaner, raws)

    rec.header("one process, one thread", f"{len(texts)} prompts from {origin}")
    print(f"cleaning chain (services.clean.chain.Cleaner): {len(texts) / total:,.0f} prompts/s")
    for name, secs in steps.items():
        print(f"  {name:<10} {secs / len(texts) * 1e6:6.1f} µs/prompt")
    dropped = Counter(v.reason.value for v in verdicts if isinstance(v, Refused))
    print(f"filter drops on this set: {dict(dropped.most_common())}")
    distinct = {v.pid: (v.text, v.pii) for v in verdicts if isinstance(v, Cleaned)}
    flagged = [(t, k) for t, k in distinct.values() if k]
    print(
        f"kept prompts with a redaction: {len(flagged)} of {len(distinct)} "
        f"({len(flagged) / max(len(distinct), 1):.2%}); recall per type: the pii suite"
    )
    for t, k in flagged[:8]:
        print(f"  {k} {t[:100]!r}")
    rec.add(
        {
            "prompts_per_s": len(texts) / total,
            "us_per_prompt": {k: v / len(texts) * 1e6 for k, v in steps.items()},
            "dropped": dict(dropped),
            "flagged_share": len(flagged) / max(len(distinct), 1),
        },
        origin=origin,
    )
    return 0
