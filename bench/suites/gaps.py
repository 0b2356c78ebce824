"""Synthetic prompts driven by the coverage gaps: do they even out the accepted window?

And what does the per-cluster mix rule cost and buy?

The embedded stack (Tansu + redis-server) is started for the run; every (stream, rule) pair gets
its own topics, consumer group, Redis namespace, one ``flywheel worker`` process and an ops
server in this process. Settings as shipped except: gaps published on demand from a window of
20, and by default cold-start topic clusters only (``topics_learn`` off, so every figure is over
the same 64 clusters); ``--topics learned`` lets the worker learn clusters from the stream's
acceptances as shipped (the gaps wait for the first learned model, and the clusters may be
re-learned between rounds: figures are over the model current when they are read). Steps:

1. the real stream goes through the worker; ``GET /api/gaps`` gives the accepted window's
   entropy over the clusters (bits; the maximum is log2 64 = 6) and its total-variation
   distance to the uniform target: *before*;
2. ``--rounds`` times: ``POST /api/gaps/publish``, then ``clients/gaps.py`` with the built-in
   template generator (``--template``) reads the gap records and publishes synthetic prompts
   (never more per gap than its ``synthetic_room``), the worker decides them: *after*.

Streams. ``skewed``: public prompts (../shared/data, English), 70 % of them from the three
cold-start clusters the set holds most of, 30 % from the others. ``banking``: unlike ours, one
product domain: a banking app's support chat, every prompt behind the same long instructions
(a shared preamble), requests about cards, transfers, loans... with amounts and merchants, 15 %
German and 10 % Chinese (the lexical path: no embedding, no cluster), repeats and light edits.

Rules: ``mix_max_synthetic_per_cluster`` 0.5 (as shipped: no cluster more than half synthetic,
over max(count + 1, 4)) against 1.0 (only the window-wide 30 % rule). Reported per run: entropy
and distance before and after; synthetic prompts published, accepted, landed in the gap's own
cluster, and rejected by ``mix``, ``mix_cluster``, near/exact duplicate (and others); the
near-duplicate rate of synthetic and of real prompts (near or exact duplicate rejections over
the prompts sent); the largest synthetic share of any cluster of the accepted window (clusters of
4 or more prompts), and how many clusters are more than half synthetic (of them, how many hold
synthetic prompts only: the rule counts a cluster as max(count + 1, 4), so up to 2 synthetic
prompts may enter an empty cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import signal
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.harness import ROOT, Recorder, embedded_stack, embedder, events, public_prompts
from services.dev.accounting import Outputs, read_outputs
from services.dev.devstack import Stack, free_port
from services.dev.workers import WorkerProcess, isolated_settings, wait_outputs
from services.embed.clusters import TopicModel
from services.embed.embedder import Embedder
from services.kafka.topics import ensure_topics
from services.settings import Settings
from streams.ops_http import build_ops_app
from streams.replay import produce

TOKEN = "bench-token"  # noqa: S105  # the run's own ops server, on 127.0.0.1


# --- the streams -------------------------------------------------------------------------


def skewed_stream(n: int, seed: int, emb: Embedder, model: TopicModel) -> tuple[list[str], str]:
    """70 % of ``n`` public prompts from the three clusters the set holds most of."""
    texts, origin = public_prompts(8000, "en")
    clusters = model.assign(emb.encode(texts))
    by: dict[int, list[str]] = defaultdict(list)
    for text, c in zip(texts, clusters, strict=True):
        by[int(c)].append(text)
    heavy = [c for c, _ in Counter(clusters.tolist()).most_common(3)]
    rng = random.Random(seed)
    pool_heavy = [t for c in heavy for t in by[c]]
    pool_rest = [t for c, ts in by.items() if c not in heavy for t in ts]
    out = rng.sample(pool_heavy, min(round(0.7 * n), len(pool_heavy)))
    share = len(out) / n
    out += rng.sample(pool_rest, n - len(out))
    rng.shuffle(out)
    labels = ", ".join(f"{c}: {model.labels[c]}" for c in heavy)
    return out, f"{origin}; {share:.0%} from clusters {labels}"


BANK_PREAMBLE = (
    "You are Nova, the in-app assistant of Meridian Bank. Be brief and polite, never ask for a "
    "full card number, PIN, password or one-time code, and if the customer reports fraud tell "
    "them to freeze the card in the app first. Answer in the customer's language. Customer: "
)
BANK_EN = [
    "why was my card payment of {amt} at {shop} declined?",
    "how do I send {amt} to a friend abroad and what is the fee?",
    "I see a charge of {amt} from {shop} that I did not make, what now?",
    "can I raise the daily limit on my {card} card to {amt}?",
    "how long does a transfer of {amt} to another bank take on a weekend?",
    "what interest would I pay on a personal loan of {amt} over {months} months?",
    "my {card} card is lost, how do I freeze it and order a new one?",
    "how do I set up a standing order of {amt} every month for my rent?",
    "why is my salary of {amt} still pending after {days} days?",
    "can I split the {amt} purchase at {shop} into instalments?",
    "how do I dispute a double charge of {amt} from {shop}?",
    "what happens if my account goes {amt} into overdraft?",
    "how can I open a savings pot and move {amt} into it automatically?",
    "the app logged me out and asks for a new device check, how do I verify it?",
    "how do I download a statement for the last {months} months as a PDF?",
    "is there a fee for withdrawing {amt} cash abroad with my {card} card?",
]
BANK_DE = [
    "warum wurde meine Kartenzahlung von {amt} bei {shop} abgelehnt?",
    "wie überweise ich {amt} ins Ausland und was kostet das?",
    "ich sehe eine Abbuchung von {amt} von {shop}, die ich nicht gemacht habe",
    "wie sperre ich meine verlorene {card} Karte und bestelle eine neue?",
    "wie lange dauert eine Überweisung von {amt} am Wochenende?",
    "wie richte ich einen Dauerauftrag über {amt} für die Miete ein?",
]
BANK_ZH = [
    "为什么我在{shop}的{amt}刷卡付款被拒绝了？",
    "我怎么给国外的朋友转账{amt}，手续费是多少？",
    "我的{card}卡丢了，怎么冻结并补办新卡？",
    "我看到一笔{shop}的{amt}扣款不是我本人操作的，怎么办？",
    "周末转账{amt}到其他银行需要多长时间？",
]
SHOPS = ["Amazon", "Lidl", "Shell", "Uber", "Zara", "IKEA", "Netflix", "Ryanair", "Apple"]
CARDS = ["debit", "credit", "Visa", "Mastercard", "virtual"]


def banking_stream(n: int, seed: int) -> tuple[list[str], str]:
    """A banking app's support chat: the same preamble before every request, 75 % English,
    15 % German, 10 % Chinese; a tenth are repeats or light edits of earlier requests."""
    rng = random.Random(seed)
    out: list[str] = []
    for _ in range(n):
        if out and rng.random() < 0.1:
            prev = rng.choice(out)
            out.append(prev if rng.random() < 0.5 else prev.rstrip("?？") + rng.choice(["", "??"]))
            continue
        roll = rng.random()
        frames = BANK_EN if roll < 0.75 else BANK_DE if roll < 0.9 else BANK_ZH
        cur = "€" if frames is BANK_DE else "¥" if frames is BANK_ZH else rng.choice("$€£")
        req = rng.choice(frames).format(
            amt=f"{cur}{rng.choice([12, 25, 40, 75, 120, 250, 480, 900, 1500, 3200])}",
            shop=rng.choice(SHOPS),
            card=rng.choice(CARDS),
            months=rng.choice([3, 6, 12, 24, 36]),
            days=rng.randint(2, 6),
        )
        out.append(BANK_PREAMBLE + req)
    return out, "generated banking support chat (shared preamble; en 75 %, de 15 %, zh 10 %)"


# --- one run -------------------------------------------------------------------------------


def gap_cluster(event_id: str) -> int | None:
    """The cluster a synthetic event was generated for: ``gap-<version>:<cluster>:<round>-<i>``."""
    try:
        return int(event_id.rsplit("-", 1)[0].split(":")[-2])
    except (IndexError, ValueError):
        return None


def figures(out: Outputs, n_real: int, n_syn: int) -> dict[str, Any]:
    syn_reasons: Counter[str] = Counter()
    real_reasons: Counter[str] = Counter()
    for r in out.rejected:
        (syn_reasons if r["event_id"].startswith("gap-") else real_reasons)[r["reason"]] += 1
    accepted_syn = [a for a in out.accepted if a["source"] == "synthetic"]
    landed = sum(a["cluster"] == gap_cluster(a["event_id"]) for a in accepted_syn)
    per: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for a in out.accepted:
        if a["cluster"] is not None:
            per[a["cluster"]][0] += 1
            per[a["cluster"]][1] += a["source"] == "synthetic"
    shares = [syn / n for n, syn in per.values() if n >= 4]

    def dup(reasons: Counter[str], sent: int) -> float:
        return (reasons["near_duplicate"] + reasons["exact_duplicate"]) / sent if sent else 0.0

    return {
        "synthetic_sent": n_syn,
        "synthetic_accepted": len(accepted_syn),
        "synthetic_landed": landed,
        "synthetic_rejected": dict(syn_reasons),
        "real_accepted": len(out.accepted) - len(accepted_syn),
        "real_rejected": dict(real_reasons),
        "near_dup_rate_synthetic": round(dup(syn_reasons, n_syn), 4),
        "near_dup_rate_real": round(dup(real_reasons, n_real), 4),
        "max_synthetic_share": round(max(shares, default=0.0), 4),
        "clusters_over_half_synthetic": sum(syn > n / 2 for n, syn in per.values()),
        "clusters_only_synthetic": sum(syn == n for n, syn in per.values() if syn),
    }


async def serve(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


def client_round(s: Settings, seed: int) -> dict[str, int]:
    """``python -m clients.gaps --template --once`` in this process (its own consumer group)."""
    import sys

    sys.path.insert(0, str(ROOT))  # clients/ is not an installed package
    from clients import gaps as client

    args = argparse.Namespace(
        bootstrap=s.kafka_bootstrap,
        topic=s.topic_gaps,
        events_topic=s.topic_events,
        group=f"{s.namespace}-gaps-client",
        once=True,
        idle_s=3.0,
        top=0,
        max_per_gap=0,
        max_age_s=900,
    )
    return client.run(args, client.TemplateGenerator(seed), emit=lambda _: None)


async def learned(http: aiohttp.ClientSession, url: str, timeout_s: float = 120) -> dict:
    """``/api/gaps`` once the worker has learned its first topic model (gaps wait for it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        gaps = await (await http.get(f"{url}/api/gaps")).json()
        if not gaps.get("waiting") or time.monotonic() > deadline:
            return gaps
        await asyncio.sleep(1)


async def run_one(
    stack: Stack,
    logs: Path,
    stream: str,
    texts: list[str],
    per_cluster: float,
    rounds: int,
    learn: bool = False,
) -> dict[str, Any]:
    port = free_port()
    s = isolated_settings(
        stack,
        "gaps",
        topics_learn=learn,
        gaps_min_window=20,
        gaps_interval_s=0,
        mix_max_synthetic_per_cluster=per_cluster,
        ops_token=TOKEN,
        ops_port=port,
    )
    s = s.model_copy(update={"topic_gaps": f"{s.namespace}.flywheel.gaps"})
    ensure_topics(s)
    worker = WorkerProcess(s, logs / f"worker-{s.namespace}.log").start()
    runner = await serve(build_ops_app(s), port)
    url, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    t0 = time.monotonic()
    try:
        produce(s, events(texts, "r", users=97))
        await asyncio.to_thread(wait_outputs, s, len(texts), worker, 900)
        async with aiohttp.ClientSession() as http:
            before = await learned(http, url)
            sent, per_round = 0, []
            for rnd in range(rounds):
                r = await http.post(f"{url}/api/gaps/publish", headers=auth)
                published = (await r.json())["published"]
                counts = await asyncio.to_thread(client_round, s, 7 + rnd)
                sent += counts["published"]
                await asyncio.to_thread(wait_outputs, s, len(texts) + sent, worker, 600)
                gaps = await (await http.get(f"{url}/api/gaps")).json()
                per_round.append(
                    {
                        "gaps": published,
                        "sent": counts["published"],
                        "entropy_bits": gaps["entropy_bits"],
                        "distance": gaps["distance"],
                    }
                )
            after = await (await http.get(f"{url}/api/gaps")).json()
        out = read_outputs(s)
    finally:
        await runner.cleanup()
        worker.kill(signal.SIGTERM)
    return {
        "stream": stream,
        "per_cluster": per_cluster,
        "topics": "learned" if learn else "cold-start",
        "topics_before": before["topics_version"],
        "topics_after": after["topics_version"],
        "real_sent": len(texts),
        "window_before": before["total"],
        "window_after": after["total"],
        "max_entropy_bits": before["max_entropy_bits"],
        "entropy_before": before["entropy_bits"],
        "entropy_after": after["entropy_bits"],
        "distance_before": before["distance"],
        "distance_after": after["distance"],
        "rounds": per_round,
        **figures(out, len(texts), sent),
        "seconds": round(time.monotonic() - t0, 1),
    }


def reasons(d: dict[str, int]) -> str:
    keys = ["mix", "mix_cluster", "near_duplicate", "exact_duplicate"]
    other = sum(v for k, v in d.items() if k not in keys)
    return " / ".join(str(d.get(k, 0)) for k in keys) + f" / {other}"


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=800, help="real prompts per stream")
    ap.add_argument("--rounds", type=int, default=2, help="publish + fill rounds")
    ap.add_argument("--streams", nargs="+", default=["skewed", "banking"])
    ap.add_argument("--per-cluster", nargs="+", type=float, default=[0.5, 1.0])
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument(
        "--topics",
        nargs="+",
        choices=["cold-start", "learned"],
        default=["cold-start"],
        help="clusters the gaps are measured over: the 64 cold-start ones (topic learning "
        "off), or those the worker learns from the stream's acceptances (as shipped)",
    )


def run(args: argparse.Namespace, rec: Recorder) -> int:
    s0 = Settings()
    model = TopicModel.load(s0.topics_path or None)
    rec.header(
        f"backend {s0.embedding_backend}, cold-start clusters {model.version} (k={model.k}, "
        f"max entropy {math.log2(model.k):.0f} bits), quota_max_share {s0.quota_max_share}, "
        f"mix_max_synthetic {s0.mix_max_synthetic}, {args.rounds} rounds"
    )
    streams: dict[str, tuple[list[str], str]] = {}
    for name in args.streams:
        if name == "skewed":
            emb = embedder(batch=64)
            streams[name] = skewed_stream(args.n, args.seed, emb, model)
        elif name == "banking":
            streams[name] = banking_stream(args.n, args.seed)
        else:
            raise SystemExit(f"unknown stream {name!r}")
        print(f"# {name}: {streams[name][1]}")
    print(
        "\n| stream | clusters | per-cluster rule | window before -> after | entropy bits before -> "
        "after | TV distance before -> after | synthetic sent / accepted / in its gap's "
        "cluster | synthetic rejected mix / mix_cluster / near / exact / other | near-dup "
        "rate synthetic vs real | max synthetic share of a cluster (4+ prompts) | clusters > half "
        "synthetic (of them only synthetic) | s |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    runs = [(n, t, p) for n in streams for t in args.topics for p in args.per_cluster]
    with embedded_stack("gaps") as (stack, logs):
        for name, topics, per_cluster in runs:
            texts = streams[name][0]
            row = asyncio.run(
                run_one(stack, logs, name, texts, per_cluster, args.rounds, topics == "learned")
            )
            print(
                f"| {name} | {topics} | {per_cluster} | {row['window_before']} -> {row['window_after']} "
                f"| {row['entropy_before']:.2f} -> {row['entropy_after']:.2f} (max "
                f"{row['max_entropy_bits']:.0f}) | {row['distance_before']:.3f} -> "
                f"{row['distance_after']:.3f} | {row['synthetic_sent']} / "
                f"{row['synthetic_accepted']} / {row['synthetic_landed']} | "
                f"{reasons(row['synthetic_rejected'])} | "
                f"{row['near_dup_rate_synthetic']:.1%} vs {row['near_dup_rate_real']:.1%} | "
                f"{row['max_synthetic_share']:.0%} | {row['clusters_over_half_synthetic']} "
                f"({row['clusters_only_synthetic']}) | {row['seconds']:.0f} |",
                flush=True,
            )
            params = {k: row.pop(k) for k in ("stream", "per_cluster", "topics", "real_sent")}
            rec.add(row, **params)
    return 0
