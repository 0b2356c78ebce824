"""The cross-shard race: near duplicates that arrive together on two shards, both accepted?

A curate batch decides against every shard's index as it was when the batch synced the logs
(services/dedup/union.py); an acceptance another shard commits after that sync is unseen until
the next batch. Two near duplicates routed to different shards whose batches overlap in that
window can both be accepted. This measures how often, through the real worker.

Pairs: an English public prompt (../shared/data, else generated) and a light edit of it (filler
words or two transposed letters: not an exact duplicate after normalisation), or two prompts of
the single-domain travel stream (services/dev/ood_streams.py); the worker's model puts the two at
cosine >= threshold + 0.02 and routes them to different curate shards; no pair is near another.
Fillers: other public prompts, near no pair. The stream spreads the pairs evenly among the
fillers, the second prompt of a pair ``gap`` events (= ms at 1,000/s) after the first, produced
at ``rate`` events/s; one run per (re-check setting, gap). Reported: the events/s the worker
reached, and the pairs whose two prompts were both accepted.
"""

from __future__ import annotations

import argparse
import json
import random
import time

import numpy as np

from bench.harness import (
    Recorder,
    embedded_stack,
    embedder,
    public_prompts,
    start_workers,
    stop_workers,
    warm_up,
)
from services.clean.text import normalize
from services.dev.ood_streams import stream
from services.dev.workers import isolated_settings, wait_outputs
from services.embed.clusters import TopicModel
from services.embed.embedder import Embedder
from services.kafka.topics import ensure_topics
from services.settings import Settings
from streams.replay import produce


def edit(text: str, rng: random.Random) -> str:
    if rng.random() < 0.5 and len(text) > 12:
        i = rng.randrange(3, len(text) - 3)
        if text[i].isalpha() and text[i + 1].isalpha() and text[i] != text[i + 1]:
            return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return rng.choice(["please ", "quick question: ", "hey, ", "I wonder: "]) + text


def make_stream(
    s: Settings, emb: Embedder, n_pairs: int, n_fill: int, seed: int
) -> tuple[list[tuple[str, str]], list[str]]:
    """Near-duplicate pairs on different shards, far from each other, and filler prompts far
    from every pair. Pairs come from two sources: a public prompt and its light edit, and two
    prompts of the single-domain travel stream that the model puts together."""
    rng = random.Random(seed)
    public, _ = public_prompts(12_000, "en")
    public = [t for t in public if 20 <= len(t) <= 400]
    travel = list(dict.fromkeys(normalize(t) for t, _ in stream("travel", 3000, seed)))
    edits = [edit(t, rng) for t in public]
    keep = [i for i, (a, b) in enumerate(zip(public, edits, strict=True))
            if normalize(a).casefold() != normalize(b).casefold()]  # fmt: skip
    va, vb = emb.encode([public[i] for i in keep]), emb.encode([edits[i] for i in keep])
    vt = emb.encode(travel)
    topics = TopicModel.load(s.topics_path or None)
    table = topics.shards(s.curate_partitions, s.shard_slack)
    shard = lambda v: table[topics.assign(v)]  # noqa: E731
    at, far = s.near_dup_threshold + 0.02, s.near_dup_threshold - 0.05
    cands: list[tuple[str, str, np.ndarray, np.ndarray]] = []
    sa, sb = shard(va), shard(vb)
    for j, i in enumerate(keep):
        if sa[j] != sb[j] and float(va[j] @ vb[j]) >= at:
            cands.append((public[i], edits[i], va[j], vb[j]))
    st = shard(vt)
    sims = vt @ vt.T
    for i in range(len(travel)):
        for j in np.flatnonzero((sims[i] >= at) & (st != st[i]))[:1]:
            if j > i:
                cands.append((travel[i], travel[int(j)], vt[i], vt[int(j)]))
    rng.shuffle(cands)
    chosen: list[tuple[str, str]] = []
    kept = np.zeros((0, vt.shape[1]), dtype=np.float32)
    for a, b, x, y in cands:
        both = np.stack([x, y])
        if len(kept) and float((kept @ both.T).max()) >= far:
            continue  # near an earlier pair: not a clean race
        chosen.append((a, b))
        kept = np.concatenate([kept, both])
        if len(chosen) == n_pairs:
            break
    used = {t for pair in chosen for t in pair}
    rest = [t for t in public if t not in used]
    vr = emb.encode(rest)
    fill = [t for t, ok in zip(rest, (vr @ kept.T).max(axis=1) < far, strict=True) if ok]
    return chosen, fill[:n_fill]


def interleave(pairs: list[tuple[str, str]], fill: list[str], gap: int, prefix: str) -> list[bytes]:
    """Fillers in order, the pairs spread evenly among them, each edit ``gap`` events after its
    original (``gap`` ms at 1,000 events/s)."""
    total = len(fill) + 2 * len(pairs)
    step = max(1, (total - gap) // max(len(pairs), 1))
    slots: list[tuple[float, str, str]] = []
    for k, (a, b) in enumerate(pairs):
        slots.append((k * step, f"{prefix}-{k}-a", a))
        slots.append((k * step + gap + 0.5, f"{prefix}-{k}-b", b))
    taken = {int(x) for x, _, _ in slots}
    free = (i for i in range(total + gap + 1) if i not in taken)
    for i, text in enumerate(fill):
        slots.append((next(free) + 0.25, f"{prefix}-f{i}", text))
    slots.sort(key=lambda x: x[0])
    return [
        json.dumps({"event_id": eid, "prompt": text, "user_id": eid}).encode()
        for _, eid, text in slots
    ]


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--pairs", type=int, default=300)
    ap.add_argument("--fill", type=int, default=6000, help="filler prompts (no near duplicate)")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--gaps", type=int, nargs="+", default=[1, 50, 250, 1000])
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--backend", default="static")
    ap.add_argument(
        "--workers", type=int, default=2,
        help="worker processes (one process decides its batches one after another: the race "
        "is between processes that own different curate partitions)",
    )  # fmt: skip
    ap.add_argument(
        "--rechecks", type=int, nargs="+", default=[0, 3], help="FLYWHEEL_DEDUP_RECHECK values"
    )


def run(args: argparse.Namespace, rec: Recorder) -> int:
    base = Settings(embedding_backend=args.backend, curate_partitions=args.partitions)
    emb = embedder(batch=64, s=base)
    pairs, fill = make_stream(base, emb, args.pairs, args.fill, seed=5)
    rec.header(
        f"backend {args.backend}, threshold {base.near_dup_threshold}, {args.partitions} curate "
        f"partitions, {args.workers} worker processes, {len(pairs)} pairs on different shards "
        f"among {len(fill)} fillers, produced at {args.rate:.0f}/s"
    )
    print(
        "\n| re-checks | gap (events) | events/s reached | pairs | both accepted | share |"
        "\n|---|---|---|---|---|---|"
    )
    with embedded_stack("race") as (stack, logs):
        for recheck, gap in [(r, g) for r in args.rechecks for g in args.gaps]:
            s = isolated_settings(
                stack,
                "race",
                embedding_backend=args.backend,
                curate_partitions=args.partitions,
                dedup_recheck=recheck,
                quota_max_share=1.0,
                mix_max_synthetic=1.0,
            )
            run_id = s.namespace
            ensure_topics(s)
            workers = start_workers(s, args.workers, logs)
            try:
                warm_up(s, workers, [f"warm-up prompt {i} {run_id}" for i in range(20)])
                msgs = interleave(pairs, fill, gap, run_id)
                t0 = time.time()
                produce(s, msgs, rate=args.rate)
                out = wait_outputs(s, 20 + len(msgs), workers[0], 600, poll_s=0.5)
            finally:
                stop_workers(workers)
            eps = len(msgs) / (out.last_output_ms / 1000 - t0)
            acc = {a["event_id"] for a in out.accepted}
            both = sum(
                1 for k in range(len(pairs)) if {f"{run_id}-{k}-a", f"{run_id}-{k}-b"} <= acc
            )
            print(
                f"| {recheck} | {gap} | {eps:.0f} | {len(pairs)} | {both} | "
                f"{both / len(pairs):.2%} |",
                flush=True,
            )
            rec.add({"eps": eps, "pairs": len(pairs), "both": both}, recheck=recheck, gap=gap)
    return 0
