"""The cascade's decisions against the transformer's, and how much transformer work it keeps.

Both models encode the same prompts once: --n distinct public English prompts, --n prompts of
services/dev/ood_streams.py's mixed stream (a shared tool preamble, long notes, code behind a shared
header, signed tickets; most prompts repeat an earlier request in other words), and --product
prompts of bench/product_stream.py (one product, a long shared preamble, five languages; greedy
per language over the texts the transformer can read, as the worker does; the preamble is left
in, the static model's worst case: the worker strips a preamble it has seen often). For each
floor: decisions that differ from the transformer's own greedy rule at its threshold (0.85)
over every pair (``greedy_reference``), as the brute-force cascade (``cascade_reference``) makes
them; the share of prompts with a static candidate (whose transformer vector is computed) and the
share of prompts whose transformer vector is ever computed (they, plus their candidates, once
each): the transformer's work against encoding every prompt. Encoding speeds of both models on
the same texts give the expected speed-up of the embedding work alone.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from bench.harness import Recorder, embedder, public_prompts
from services.dev.ood_streams import stream
from services.dev.product_stream import product_prompts
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import cascade_reference, greedy_reference


def work(
    static: np.ndarray, floor: float, k: int, keep: list[bool], sure: float | None
) -> tuple[int, int]:
    """Prompts with a static candidate among the earlier kept ones, and prompts whose
    transformer vector is computed (those, and each candidate once)."""
    kept: list[int] = []
    with_cand, computed = 0, set()
    for i in range(len(static)):
        if kept:
            s = static[kept] @ static[i]
            order = np.argsort(-s, kind="stable")[:k]
            close = [kept[j] for j in order if s[j] >= floor]
            if close and sure is not None and float(s[order[0]]) >= sure:
                with_cand += 1
            elif close:
                with_cand += 1
                computed.add(i)
                computed.update(close)
        if keep[i]:
            kept.append(i)
    return with_cand, len(computed)


def streams(n: int, product: int, transformer: Embedder) -> dict[str, list[list[str]]]:
    pub, _ = public_prompts(n, "en")
    prod = product_prompts(product)
    by_lang: dict[str, list[str]] = {}
    texts = [t for t, _, _ in prod]
    ratios = transformer.unknown_token_ratio(texts)
    for (t, lang, _), r in zip(prod, ratios, strict=True):
        if r <= Settings().max_unknown_token_ratio:
            by_lang.setdefault(lang, []).append(t)
    ood = [t for t, _ in stream("mixed", n)]
    return {"public": [pub], "ood": [ood], "product": list(by_lang.values())}


def arguments(ap: argparse.ArgumentParser) -> None:
    s = Settings()
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--product", type=int, default=1500)
    ap.add_argument("--k", type=int, default=s.cascade_k)
    ap.add_argument("--floors", type=float, nargs="+", default=[0.6, 0.65, 0.7, 0.75, 0.8, 0.85])
    ap.add_argument(
        "--sure",
        type=float,
        nargs="+",
        default=[0.0, s.cascade_sure],
        help="static cosines at or above which a candidate is a duplicate unverified (0 = off)",
    )


def run(args: argparse.Namespace, rec: Recorder) -> int:
    s = Settings(embedding_backend="cascade")
    emb = embedder(s=s)
    assert emb.verifier is not None
    threshold = s.near_dup_threshold
    rows = []
    for name, groups in streams(args.n, args.product, emb.verifier).items():
        flat = [t for g in groups for t in g]
        t0 = time.perf_counter()
        svecs = [emb.encode(g) for g in groups]
        static_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        tvecs = [emb.verifier.encode(g) for g in groups]
        trans_s = time.perf_counter() - t0
        refs = [greedy_reference(tv, threshold) for tv in tvecs]
        for floor, sure_ in [(f, x) for f in args.floors for x in args.sure]:
            sure = sure_ or None
            diff = cand = comp = 0
            for sv, tv, ref in zip(svecs, tvecs, refs, strict=True):
                got = cascade_reference(sv, tv, floor, threshold, args.k, sure)
                diff += sum(a != b for a, b in zip(got, ref, strict=True))
                c, m = work(sv, floor, args.k, got, sure)
                cand, comp = cand + c, comp + m
            n = len(flat)
            share = comp / n
            rows.append(
                {
                    "stream": name,
                    "n": n,
                    "floor": floor,
                    "sure": sure,
                    "near_dups_transformer": sum(r.count(False) for r in refs),
                    "decisions_differ": diff,
                    "agree": round(1 - diff / n, 4),
                    "with_candidate": round(cand / n, 4),
                    "transformer_share": round(share, 4),
                    "static_prompts_s": round(n / static_s),
                    "transformer_prompts_s": round(n / trans_s),
                    # embedding time per prompt, transformer only / cascade
                    "embed_speedup": round(
                        (1 / (n / trans_s)) / (1 / (n / static_s) + share / (n / trans_s)), 2
                    ),
                }
            )
    rec.header(f"threshold {threshold} (transformer), k {args.k}")
    print(
        f"{'stream':8s} {'n':>5s} {'floor':>5s} {'differ':>8s} {'agree':>7s} {'w/cand':>7s} {'T share':>7s} {'embed x':>7s}"
    )
    for r in rows:
        print(
            f"{r['stream']:8s} {r['n']:>5d} {r['floor']:>5.2f} {r['sure'] or 0:>5.2f} "
            f"{r['decisions_differ']:>8d} "
            f"{r['agree']:>7.2%} {r['with_candidate']:>7.1%} {r['transformer_share']:>7.1%} "
            f"{r['embed_speedup']:>7.2f}"
        )
    print(
        "near duplicates (transformer): "
        + ", ".join(
            f"{r['stream']} {r['near_dups_transformer']}"
            for r in rows
            if r["floor"] == args.floors[0]
        )
    )
    for r in rows:
        params = {k: r.pop(k) for k in ("stream", "n", "floor", "sure")}
        rec.add(r, **params, threshold=threshold)
    return 0
