"""Heuristic scores of the public prompts: throughput, distribution, examples (docs/scoring.md).

Prompts: ../shared/data/public_prompts.jsonl (when present), or the generator's chat log, whose
greetings, typos, placeholders and junk exercise the quality penalties. Each prompt is cleaned
as the ingest stage cleans it (normalization, redaction, language), then scored; only
``services.embed.scoring.score`` is timed. Throughput is over every prompt (duplicates included), best
and median of --repeat passes, wall clock and CPU time (the machine is shared, so CPU time is the
steadier figure). Quantiles, feature rates and examples are over the distinct cleaned prompts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one thread, as the figures say

from bench.harness import Recorder, prompt_set
from services.clean.language import detect_language_scored
from services.clean.pii import redact
from services.clean.text import normalize
from services.embed.scoring import PromptScores, features, score

QUANTILES = (0.0, 0.01, 0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95, 0.99, 1.0)
DIFFICULTY_FEATURES = ("structure", "constraints", "code", "math", "asks")


def cleaned_prompts(which: str) -> tuple[list[tuple[str, str]], str]:
    """(cleaned text, language) of every prompt, cleaned as the ingest stage cleans it."""
    raw, origin = prompt_set(which)
    out = []
    for text in raw:
        clean = redact(normalize(text))[0]
        out.append((clean, detect_language_scored(clean)[0]))
    return out, origin


def throughput(prompts: list[tuple[str, str]], repeat: int) -> dict[str, float]:
    for text, lang in prompts[:500]:  # warm-up
        score(text, lang)
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        for text, lang in prompts:
            score(text, lang)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    n = len(prompts)
    out = {}
    for name, secs in (("wall", walls), ("cpu", cpus)):
        best, median = min(secs), statistics.median(secs)
        print(
            f"{name:<4} best {n / best:>9,.0f} prompts/s ({best / n * 1e6:5.1f} µs/prompt), "
            f"median {n / median:>9,.0f} prompts/s ({median / n * 1e6:5.1f} µs/prompt)"
        )
        out[f"{name}_best_per_s"], out[f"{name}_median_per_s"] = n / best, n / median
    return out


def quantile_table(scored: list[tuple[PromptScores, str, str]]) -> None:
    cols = " | ".join(f"p{int(q * 100)}" for q in QUANTILES)
    print(f"| score | lang | n | mean | {cols} |")
    print("|---|---|---|---|" + "---|" * len(QUANTILES))
    for name in ("quality", "difficulty", "priority"):
        for lang in ("all", "en", "zh"):
            values = sorted(getattr(s, name) for s, _, lg in scored if lang == "all" or lg == lang)
            if not values:
                continue
            qs = " | ".join(f"{values[round(q * (len(values) - 1))]:.3f}" for q in QUANTILES)
            mean = statistics.fmean(values)
            print(f"| {name} | {lang} | {len(values):,} | {mean:.3f} | {qs} |")


def feature_rates(prompts: list[tuple[str, str]]) -> None:
    measured = [features(text, lang) for text, lang in prompts]
    n = len(measured)
    print("share of prompts where a feature is present (> 0) or a quality signal fires:")
    for name in DIFFICULTY_FEATURES:
        print(f"  {name:<12} {sum(getattr(f, name) > 0 for f in measured) / n:6.1%}")
    print(f"  {'no request':<12} {sum(f.request == 0 for f in measured) / n:6.1%}")
    print(f"  {'penalised':<12} {sum(f.penalty < 1 for f in measured) / n:6.1%}")


def short(text: str, width: int = 72) -> str:
    flat = text.replace("\n", "⏎ ")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def examples(scored: list[tuple[PromptScores, str, str]], k: int) -> None:
    """Lowest and highest of each score per language; ties go to the shorter text (easier to
    show), then to the text itself (deterministic)."""
    for name in ("quality", "difficulty", "priority"):
        for lang in ("en", "zh"):
            rows = [(getattr(s, name), len(t), t, s) for s, t, lg in scored if lg == lang]
            low = sorted(rows)[:k]
            high = sorted(rows, key=lambda r: (-r[0], r[1], r[2]))[:k]
            for label, chosen in (("lowest", low), ("highest", high)):
                print(f"{name} {lang} {label}:")
                for _, _, text, s in chosen:
                    print(f"  q={s.quality:.3f} d={s.difficulty:.3f}  {short(text)}")


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--examples", type=int, default=4)
    ap.add_argument(
        "--set",
        choices=["public", "chat"],
        default="public",
        help="public prompts (curated instructions) or the generator's chat log (with junk)",
    )


def run(args: argparse.Namespace, rec: Recorder) -> int:
    prompts, origin = cleaned_prompts(args.set)
    rec.header(
        f"one process, one thread; {origin}; langs: en {sum(lg == 'en' for _, lg in prompts):,}, "
        f"zh {sum(lg == 'zh' for _, lg in prompts):,}, "
        f"other {sum(lg not in ('en', 'zh') for _, lg in prompts):,}"
    )
    speed = throughput(prompts, args.repeat)
    distinct = list(dict.fromkeys(prompts))
    scored = [(score(text, lang), text, lang) for text, lang in distinct]
    print(f"\n{len(distinct):,} distinct cleaned prompts")
    quantile_table(scored)
    print()
    feature_rates(distinct)
    print()
    examples(scored, args.examples)
    rec.add(speed | {"prompts": len(prompts), "distinct": len(distinct)})
    return 0
