"""Where to put the near-duplicate threshold: cosine distributions of labelled pairs.

    .venv/bin/python bench/threshold.py [--backend onnx]

Pairs from the generator's English templates (services/dev/generator.py):
- same request: a paraphrase form of the same template and slot, or a light edit (typo, case,
  punctuation, filler words) of it: these should be merged;
- different request: same template, different slot ("How do I parse JSON in Go?" vs "How do I
  merge two git branches?"): these must be kept apart; they share most of their words, so they
  are the hard negatives.
And the greedy rule applied to 2,000 distinct public prompts (../shared/data, when present):
the share it would reject, i.e. how much a threshold removes from a set that is mostly distinct.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from bench.common import machine, public_prompts, stamp  # noqa: E402
from services.clean.text import normalize  # noqa: E402
from services.dedup.greedy import greedy_reference  # noqa: E402
from services.dev.generator import EN_TEMPLATES, _edit  # noqa: E402
from services.embed.embedder import Embedder  # noqa: E402
from services.settings import Settings  # noqa: E402

THRESHOLDS = [0.80, 0.85, 0.88, 0.90, 0.92, 0.95]


def pairs(
    rng: random.Random,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    paraphrase, edits, different = [], [], []
    for forms, slots in EN_TEMPLATES:
        for slot in slots:
            texts = [f.format(x=slot) for f in forms]
            for i in range(len(texts)):
                for j in range(i + 1, len(texts)):
                    paraphrase.append((texts[i], texts[j]))
                edits.append((texts[i], normalize(_edit(texts[i], rng))))
            for other in slots:
                if other != slot:
                    different.append((forms[0].format(x=slot), forms[0].format(x=other)))
    return paraphrase, edits, different


def cosines(emb: Embedder, pairs_: list[tuple[str, str]]) -> np.ndarray:
    a = emb.encode([p[0] for p in pairs_])
    b = emb.encode([p[1] for p in pairs_])
    return np.sum(a * b, axis=1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default=None)
    args = ap.parse_args()
    s = Settings()
    backend = args.backend or s.embedding_backend
    emb = Embedder(s.embedding_model, backend, s.state_dir / "models", 16).setup()
    paraphrase, edits, different = pairs(random.Random(5))
    cp, ce, cd = cosines(emb, paraphrase), cosines(emb, edits), cosines(emb, different)
    texts, origin = public_prompts(2000, "en")
    vecs = emb.encode(texts)

    print(f"# {stamp()} | {machine()} | backend {backend}")
    print(
        f"# pairs: {len(paraphrase)} paraphrase, {len(edits)} light edit, {len(different)} different request"
    )
    print(
        f"# median cosine: paraphrase {np.median(cp):.3f}, edit {np.median(ce):.3f}, different {np.median(cd):.3f}"
    )
    print(
        "| threshold | light edits merged | paraphrases merged | different requests merged (false) | "
        f"public prompts rejected ({origin}) |"
    )
    print("|---|---|---|---|---|")
    for t in THRESHOLDS:
        rejected = 1 - sum(greedy_reference(vecs, t)) / len(texts)
        print(
            f"| {t:.2f} | {np.mean(ce >= t):.1%} | {np.mean(cp >= t):.1%} | {np.mean(cd >= t):.2%} | {rejected:.2%} |"
        )


def examples(texts: list[str], vecs: np.ndarray, per_band: int = 4) -> None:
    """Public prompt pairs in each cosine band, to judge by eye what a threshold merges."""
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1)
    for lo, hi in ((0.80, 0.85), (0.85, 0.90), (0.90, 0.95)):
        idx = np.argwhere(np.triu((sims >= lo) & (sims < hi)))
        print(f"\n{lo:.2f}-{hi:.2f}: {len(idx)} pairs")
        for i, j in idx[:: max(1, len(idx) // per_band)][:per_band]:
            print(f"  {sims[i, j]:.3f} | {texts[i][:80]!r} | {texts[j][:80]!r}")


if __name__ == "__main__":
    main()
