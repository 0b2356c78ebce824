"""Where to put the near-duplicate threshold, per embedding backend.

Cosine distributions of labelled pairs, and the threshold of a non-transformer backend that
agrees best with the transformer's decisions.

Pairs from the generator's English templates (services/dev/generator.py):
- same request: a paraphrase form of the same template and slot, or a light edit (typo, case,
  punctuation, filler words) of it: these should be merged;
- different request: same template, different slot ("How do I parse JSON in Go?" vs "How do I
  merge two git branches?"): these must be kept apart; they share most of their words, so they
  are the hard negatives.
And the greedy rule applied to 2,000 distinct public prompts (../shared/data, when present):
the share it would reject, i.e. how much a threshold removes from a set that is mostly distinct.

Picking a backend's default (the transformer's, 0.85, was chosen on the table above): the
threshold, on a 0.01 grid, whose greedy rejections on the public prompts best match the
transformer's at 0.85 (F1 of the rejected sets), among those that merge no larger share of
different requests than the transformer does. services/settings.py BACKEND_DEFAULTS holds it.
"""

from __future__ import annotations

import argparse
import random

import numpy as np

from bench.harness import Recorder, embedder, public_prompts
from services.clean.text import normalize
from services.dev.generator import EN_TEMPLATES, _edit
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import greedy_reference

THRESHOLDS = [0.80, 0.85, 0.88, 0.90, 0.92, 0.95]
GRID = [round(0.80 + 0.01 * i, 2) for i in range(18)]  # 0.80 .. 0.97
REFERENCE = "onnx"  # the transformer family's decisions are the ones to keep


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


def rejected(vecs: np.ndarray, t: float) -> np.ndarray:
    return ~np.array(greedy_reference(vecs, t))


def f1(ref: np.ndarray, mine: np.ndarray) -> tuple[float, float, float]:
    tp = float(np.sum(ref & mine))
    p = tp / max(1, int(mine.sum()))
    r = tp / max(1, int(ref.sum()))
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def table(backend: str, s: Settings, texts: list[str], origin: str) -> dict[str, object]:
    emb = embedder(backend, 16)
    paraphrase, edits, different = pairs(random.Random(5))
    cp, ce, cd = cosines(emb, paraphrase), cosines(emb, edits), cosines(emb, different)
    vecs = emb.encode(texts)
    print(f"\n## backend {backend} ({emb.fingerprint})")
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
        rej = rejected(vecs, t).mean()
        print(
            f"| {t:.2f} | {np.mean(ce >= t):.1%} | {np.mean(cp >= t):.1%} | {np.mean(cd >= t):.2%} | {rej:.2%} |"
        )
    return {"vecs": vecs, "cp": cp, "ce": ce, "cd": cd}


def pick(backend: str, mine: dict, ref: dict, ref_t: float) -> float:
    """The grid threshold that best reproduces the reference's rejections (see module doc)."""
    ref_rej = rejected(ref["vecs"], ref_t)
    ref_false = float(np.mean(ref["cd"] >= ref_t))
    print(f"\n## {backend} against {REFERENCE} at {ref_t:.2f} ({int(ref_rej.sum())} rejected)")
    print(
        "| threshold | precision | recall | F1 | different merged | edits merged | paraphrases merged |"
    )
    print("|---|---|---|---|---|---|---|")
    best, best_f1 = GRID[-1], -1.0
    for t in GRID:
        p, r, f = f1(ref_rej, rejected(mine["vecs"], t))
        false = float(np.mean(mine["cd"] >= t))
        print(
            f"| {t:.2f} | {p:.3f} | {r:.3f} | {f:.3f} | {false:.2%} | "
            f"{np.mean(mine['ce'] >= t):.1%} | {np.mean(mine['cp'] >= t):.1%} |"
        )
        if false <= ref_false and f > best_f1:
            best, best_f1 = t, f
    print(
        f"# picked for {backend}: {best:.2f} (F1 {best_f1:.3f}; different merged <= {ref_false:.2%})"
    )
    return best


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--backend", nargs="+", default=None, help="default: the settings' backend")
    ap.add_argument("--n", type=int, default=2000, help="public prompts")


def run(args: argparse.Namespace, rec: Recorder) -> int:
    s = Settings()
    backends = args.backend or [s.embedding_backend]
    texts, origin = public_prompts(args.n, "en")
    rec.header(f"backends {' '.join(backends)}")
    results = {b: table(b, s, texts, origin) for b in backends}
    if any(b != REFERENCE for b in backends):
        ref = results.get(REFERENCE) or table(REFERENCE, s, texts, origin)
        ref_t = Settings(embedding_backend=REFERENCE).near_dup_threshold
        for b in backends:
            if b != REFERENCE:
                rec.add({"picked": pick(b, results[b], ref, ref_t)}, backend=b)
    return 0
