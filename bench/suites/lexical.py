"""The lexical near-duplicate check (services/dedup/lexical.py): coverage, quality, throughput.

(a) coverage: the share of [UNK] word pieces per public prompt with the real tokenizer, English
    vs Chinese, and the cosines the model gives unrelated pairs in each band of that share:
    where they reach the near-duplicate threshold, the semantic check is meaningless.
(b) quality: the prompts that take the lexical path (share above max_unknown_token_ratio) and a
    synthetic light edit of each (one character substituted, inserted or deleted, punctuation
    and spacing changed, a phrase appended or prefixed, two edits), against random pairs of
    those prompts, and the share of the (distinct) set that the greedy rule would reject, per
    n-gram size and threshold.
(c) throughput: signatures/s, and decisions/s in micro-batches of 128 against an index of
    10k and 100k signatures (filler texts drawn from the Chinese prompts' characters).
Needs ../shared/data/public_prompts.jsonl and the local model (FLYWHEEL_EMBEDDING_MODEL).
"""

from __future__ import annotations

import argparse
import os
import random
import time
import tracemalloc
from pathlib import Path

import numpy as np

from bench.harness import SHARED, Recorder, embedder, public_texts
from services.clean.language import detect_language_scored
from services.clean.text import normalize, prompt_id
from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.lsh import LshIndex
from services.dedup.minhash import NGRAM, THRESHOLD, MinHasher, shingle_text
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import greedy_lexical_reference, greedy_reference

NGRAMS = [2, 3, 4, 5]
THRESHOLDS = [0.5, 0.6, 0.7, 0.8]
BANDS = [0.0, 0.1, 0.2, 0.3, 0.5, 1.0]
APPENDED = ["请详细回答。", "谢谢！", "请用中文回答。", "简短一点。", "在线等，急"]
PREFIXED = ["请问，", "你好，", "帮我看看："]
PUNCT = [("，", ","), ("。", "."), ("？", "?"), ("：", ":"), ("！", "!")]
EDITS = ["sub1", "ins1", "del1", "punct", "append", "prefix", "two"]


def load_public() -> list[str]:
    texts = public_texts()
    if not texts:
        raise SystemExit(f"{SHARED} is missing: this benchmark measures the public prompts")
    return list(dict.fromkeys(t for t in map(normalize, texts) if t))


def edit(text: str, kind: str, rng: random.Random, alphabet: str) -> str:
    """A light edit of ``kind``, renormalized the way ingest would."""
    pos = rng.randrange(len(text) + 1)
    if kind == "sub1" and text:
        pos = min(pos, len(text) - 1)
        out = text[:pos] + rng.choice(alphabet) + text[pos + 1 :]
    elif kind == "ins1":
        out = text[:pos] + rng.choice(alphabet) + text[pos:]
    elif kind == "del1" and len(text) > 1:
        pos = min(pos, len(text) - 1)
        out = text[:pos] + text[pos + 1 :]
    elif kind == "punct":
        out = text
        for full, half in PUNCT:
            out = out.replace(full, half) if rng.random() < 0.5 else out.replace(half, full)
        out = out.rstrip("。.？?！!") + rng.choice(["", "？", "!!", "。", " "])
        out = out[:pos] + " " + out[pos:]
    elif kind == "append":
        out = text + rng.choice(["", "，", " "]) + rng.choice(APPENDED)
    elif kind == "prefix":
        out = rng.choice(PREFIXED) + text
    elif kind == "two":
        out = edit(
            edit(text, rng.choice(["sub1", "ins1", "del1"]), rng, alphabet), "sub1", rng, alphabet
        )
    else:
        out = text + rng.choice(alphabet)
    return normalize(out)


def coverage(
    emb: Embedder, texts: list[str], langs: list[str], threshold: float, cut: float
) -> list[float]:
    ratios = emb.unknown_token_ratio(texts)
    model = Path(os.environ.get("FLYWHEEL_EMBEDDING_MODEL") or "all-MiniLM-L6-v2").name
    print(f"\n## (a) coverage: share of [UNK] word pieces per prompt ({model} tokenizer)\n")
    edges = BANDS
    head = " | ".join(f"({lo:.1f}, {hi:.1f}]" for lo, hi in zip(edges, edges[1:], strict=False))
    print(f"| language | prompts | = 0 | {head} | above {cut} |")
    print("|---|---|---|" + "---|" * len(edges))
    r = np.array(ratios)
    for lang in ("en", "zh"):
        mask = np.array([g == lang for g in langs])
        sub = r[mask]
        cells = [f"{np.mean(sub == 0):.1%}"] + [
            f"{np.mean((sub > lo) & (sub <= hi)):.1%}"
            for lo, hi in zip(edges, edges[1:], strict=False)
        ]
        above = int(np.sum(sub > cut))
        print(f"| {lang} | {mask.sum()} | " + " | ".join(cells) + f" | {above} |")
    zh = [i for i, g in enumerate(langs) if g == "zh"]
    print(f"\nzh prompts at or below {cut}: {sum(r[i] <= cut for i in zh)} of {len(zh)}; examples:")
    for i in sorted(zh, key=lambda i: -r[i] if r[i] <= cut else 9)[:4]:
        print(f"  {r[i]:.2f} {texts[i][:70]!r}")

    # Cosines of unrelated pairs per band: texts are distinct public prompts, so pairs within a
    # band are (almost all) different requests.
    rng = np.random.default_rng(3)
    english = [i for i in range(len(texts)) if r[i] == 0 and langs[i] == "en"]
    pick = [i for i in range(len(texts)) if r[i] > 0] + [
        int(i) for i in rng.choice(english, 1000, replace=False)
    ]
    vecs = dict(zip(pick, emb.encode([texts[i] for i in pick]), strict=True))
    print(
        f"\ncosine of pairs of distinct prompts, both in the band (all pairs up to 3,000, else "
        f"3,000 random; near_dup_threshold {threshold}):\n"
    )
    print("| [UNK] share | prompts | pairs | median cosine | p99 cosine | pairs >= threshold |")
    print("|---|---|---|---|---|---|")
    bands = [(-0.01, 0.0)] + list(zip(edges, edges[1:], strict=False))
    for lo, hi in bands:
        members = [i for i in pick if lo < r[i] <= hi]
        label = "0 (1,000 English sampled)" if hi == 0 else f"({lo:.1f}, {hi:.1f}]"
        if len(members) < 5:
            print(f"| {label} | {len(members)} | too few | - | - | - |")
            continue
        every = [(a, b) for k, a in enumerate(members) for b in members[k + 1 :]]
        if len(every) > 3000:
            every = [every[int(k)] for k in rng.choice(len(every), 3000, replace=False)]
        cos = np.array([float(vecs[a] @ vecs[b]) for a, b in every])
        print(
            f"| {label} | {len(members)} | {len(cos)} | {np.median(cos):.3f} | "
            f"{np.percentile(cos, 99):.3f} | {np.mean(cos >= threshold):.2%} |"
        )
    print("\nshare of a distinct set the semantic greedy rule would reject at the threshold:")
    for label, members in (
        ("1,000 English prompts", [i for i in pick if r[i] == 0 and langs[i] == "en"]),
        (f"zh prompts at or below {cut}", [i for i in zh if r[i] <= cut]),
        (f"zh prompts above {cut}", [i for i in zh if r[i] > cut]),
    ):
        if not members:
            print(f"  {label}: none")
            continue
        kept = greedy_reference(np.stack([vecs[i] for i in members]), threshold)
        print(f"  {label}: {1 - sum(kept) / len(kept):.1%} of {len(kept)}")
    return ratios


def quality(pop: list[str], examples: tuple[int, float] | None) -> None:
    rng = random.Random(11)
    alphabet = "".join(sorted({c for t in pop for c in shingle_text(t) if ord(c) > 0x2E80}))
    pos_a, pos_b, kinds = [], [], []
    for text in pop:
        for kind in EDITS:
            edited = edit(text, kind, rng, alphabet)
            if edited != text:
                pos_a.append(text)
                pos_b.append(edited)
                kinds.append(kind)
    pairs = [(i, j) for i, j in (rng.sample(range(len(pop)), 2) for _ in range(20_000))]
    neg_a, neg_b = [pop[i] for i, _ in pairs], [pop[j] for _, j in pairs]
    short = np.array([len(shingle_text(t)) < 15 for t in pos_a])
    kinds_arr = np.array(kinds)
    print(
        f"\n## (b) quality: {len(pop)} distinct prompts that take the lexical path, "
        f"{len(pos_a)} light edits, {len(neg_a)} random pairs\n"
    )
    print(
        "| n | threshold | "
        + " | ".join(EDITS)
        + " | all edits | edits of texts < 15 chars | random pairs merged | distinct set rejected |"
    )
    print("|---|---|" + "---|" * (len(EDITS) + 4))
    for n in NGRAMS:
        h = MinHasher(ngram=n)
        pa, pb = h.signatures(pos_a), h.signatures(pos_b)
        est_pos = np.mean(pa == pb, axis=1)
        est_neg = np.mean(h.signatures(neg_a) == h.signatures(neg_b), axis=1)
        sigs = h.signatures(pop)
        for t in THRESHOLDS:
            merged = est_pos >= t
            cells = [f"{np.mean(merged[kinds_arr == k]):.0%}" for k in EDITS]
            rejected = 1 - sum(k for k, _, _ in greedy_lexical_reference(sigs, t)) / len(pop)
            print(
                f"| {n} | {t:.1f} | " + " | ".join(cells) + f" | {np.mean(merged):.1%} | "
                f"{np.mean(merged[short]):.1%} | {np.mean(est_neg >= t):.3%} | {rejected:.2%} |"
            )
        true = np.array([_true_jaccard(a, b, n) for a, b in zip(pos_a, pos_b, strict=True)])
        err = np.abs(est_pos - true)
        print(
            f"| {n} | estimate error vs true Jaccard on the edits: mean {err.mean():.3f}, "
            f"p95 {np.percentile(err, 95):.3f}, max {err.max():.3f} |"
        )
    if examples:
        _examples(pop, *examples)


def _true_jaccard(a: str, b: str, n: int) -> float:
    def grams(s: str) -> set[str]:
        s = shingle_text(s)
        return {s[i : i + n] for i in range(max(1, len(s) - n + 1))} if s else set()

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y) if x | y else 1.0


def _examples(pop: list[str], ngram: int, threshold: float) -> None:
    """All distinct prompts the greedy rule rejects: are they duplicates or other requests?"""
    sigs = MinHasher(ngram=ngram).signatures(pop)
    ref = greedy_lexical_reference(sigs, threshold)
    rejected = sorted(
        ((s, i, j) for i, (k, j, s) in enumerate(ref) if not k and j is not None and s),
        key=lambda x: x[0],
    )
    print(f"\ndistinct prompts rejected at n={ngram}, threshold {threshold}: {len(rejected)}")
    for s, i, j in rejected:
        print(f"  {s:.3f} | {pop[j][:70]!r} | {pop[i][:70]!r}")


def markov_filler(pop: list[str], count: int, rng: random.Random) -> list[str]:
    """Texts from an order-1 character chain of the prompts: their lengths and character
    pairs, so that unrelated texts share common bigrams the way real prompts do."""
    chars = [shingle_text(t) for t in pop]
    follow: dict[str, list[str]] = {}
    for t in chars:
        for a, b in zip(t, t[1:], strict=False):
            follow.setdefault(a, []).append(b)
    starts = [t[0] for t in chars if t]
    lengths = [len(t) for t in chars if t]
    out = []
    for _ in range(count):
        c = rng.choice(starts)
        text = [c]
        for _ in range(min(rng.choice(lengths), 400) - 1):
            c = rng.choice(follow.get(c) or starts)
            text.append(c)
        out.append("".join(text))
    return out


def throughput(pop: list[str], sizes: list[int], ngram: int, threshold: float) -> None:
    h = MinHasher(ngram=ngram)
    texts = (pop * (1 + 5000 // len(pop)))[:5000]
    t0 = time.perf_counter()
    h.signatures(texts)
    batch_rate = len(texts) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for text in texts[:2000]:
        h.signature(text)
    single_rate = 2000 / (time.perf_counter() - t0)
    mean_len = np.mean([len(t) for t in texts])
    probe = LshIndex.for_threshold(threshold, h.num_perm)
    print(
        f"\n## (c) throughput: n={ngram}, {h.num_perm} permutations, threshold {threshold}, "
        f"{probe.bands} bands x {probe.rows} rows\n"
    )
    print(
        f"signatures/s: {batch_rate:,.0f} batched (signatures(), 5,000 lexical-path prompts, "
        f"mean {mean_len:.0f} characters), {single_rate:,.0f} one by one (signature())"
    )
    rng = random.Random(5)
    filler = markov_filler(pop, max(sizes), rng)
    t0 = time.perf_counter()
    filler_sigs = h.signatures(filler)
    filler_rate = len(filler) / (time.perf_counter() - t0)
    alphabet = "".join(sorted({c for t in pop for c in shingle_text(t)}))
    stream = []
    for text in pop:
        stream.append(text)
        if rng.random() < 0.3:
            stream.append(edit(text, rng.choice(EDITS), rng, alphabet))
    stream_sigs = h.signatures(stream)
    print(
        f"filler (order-1 character chain): {len(filler):,} texts, {filler_rate:,.0f} signatures/s\n"
    )
    print(
        "| indexed | load (add in chunks of 10k) | index MB (all allocations) | candidates per query | "
        "batch of 128: median ms | p95 ms | decisions/s | rejected |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in sizes:
        index = LshIndex.for_threshold(threshold, h.num_perm)
        t0 = time.perf_counter()
        for lo in range(0, size, 10_000):
            hi = min(size, lo + 10_000)
            ids = [f"{i:032x}" for i in range(lo, hi)]
            index.add(ids, filler_sigs[lo:hi], [f"t/0/{i}" for i in range(lo, hi)])
        load = time.perf_counter() - t0
        mb = _index_bytes(filler_sigs[:size]) / 1e6
        qs, _ = index.candidate_pairs(index.band_keys(stream_sigs))
        curator = GreedyCurator(index, threshold)
        times, rejected = [], 0
        for lo in range(0, len(stream), 128):
            batch = [
                Candidate(prompt_id(stream[i]), f"t/0/{i}", stream_sigs[i])
                for i in range(lo, min(len(stream), lo + 128))
            ]
            t0 = time.perf_counter()
            decisions = curator.decide(batch)
            times.append((time.perf_counter() - t0, len(batch)))
            rejected += sum(not d.accepted for d in decisions)
        ms = np.array([t for t, _ in times]) * 1000
        rate = sum(n for _, n in times) / sum(t for t, _ in times)
        print(
            f"| {size:,} | {load:.2f} s | {mb:.0f} | {len(qs) / len(stream):.1f} | "
            f"{np.median(ms):.1f} | {np.percentile(ms, 95):.1f} | {rate:,.0f} | "
            f"{rejected} of {len(stream)} |"
        )


def _index_bytes(sigs: np.ndarray) -> int:
    """Everything an index of these signatures allocates (numpy and Python objects alike)."""
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    index = LshIndex()
    for lo in range(0, len(sigs), 10_000):
        hi = min(len(sigs), lo + 10_000)
        index.add(
            [f"{i:032x}" for i in range(lo, hi)], sigs[lo:hi], [f"t/0/{i}" for i in range(lo, hi)]
        )
    used = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return used


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--part", default="coverage,quality,throughput")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--backend", default=None)
    ap.add_argument("--ngram", type=int, default=NGRAM, help="for --examples and throughput")
    ap.add_argument("--threshold", type=float, default=THRESHOLD)
    ap.add_argument("--examples", action="store_true", help="print rejected distinct pairs")


def run(args: argparse.Namespace, rec: Recorder) -> int:
    parts = set(args.part.split(","))
    s = Settings()
    backend = args.backend or s.embedding_backend
    emb = embedder(backend, 16)
    texts = load_public()
    langs = [detect_language_scored(t)[0] for t in texts]
    rec.header(f"backend {backend} | {SHARED.name}: {len(texts)} distinct")
    if "coverage" in parts:
        ratios = coverage(emb, texts, langs, s.near_dup_threshold, s.max_unknown_token_ratio)
    else:
        ratios = emb.unknown_token_ratio(texts)
    cut = s.max_unknown_token_ratio
    pop = [t for t, r in zip(texts, ratios, strict=True) if r > cut]
    print(f"\nlexical path (share of [UNK] > {cut}): {len(pop)} of {len(texts)} prompts")
    if "quality" in parts:
        quality(pop, (args.ngram, args.threshold) if args.examples else None)
    if "throughput" in parts:
        sizes = [int(x) for x in args.sizes.split(",")]
        throughput(pop, sizes, args.ngram, args.threshold)
    return 0
