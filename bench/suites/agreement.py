"""Which annotation votes steer the cluster weights best (FLYWHEEL_FEEDBACK_AGREEMENT).

Every vote, agreed prompts only, or votes weighted by their prompt's agreement.

A generated annotation run through the real feedback store (its Lua script on a redis-server
of its own): clusters with a true quality (the share of their prompts that are
good, spread evenly over 0.15-0.90 in random order), each accepted prompt good or bad by its
cluster's quality, and 2 or 3 annotators per prompt drawn from a pool. A prompt the store sends
back (``ReviewRequest``) gets one more annotator from the pool, as ``clients/label_studio_rounds.py``
would arrange. Scenarios (pools):

- ``honest``: 5 honest annotators (right 85% of the time);
- ``noisy``: 3 honest, one who labels at random, one who always says good;
- ``adversarial``: 3 honest, one at random, one always good, one who says the opposite 80% of
  the time.

The three modes read the same votes, so they are compared on exactly the same run. Per mode:
Spearman's correlation of the cluster weights with the true qualities, the weight gap between
the best and the worst quarter of the clusters, and the RMSE of the weights against the true
relative quality (quality / mean quality, clamped to the weight bounds) which a perfect
annotator pool would approach. Settings as shipped (prior 10, weights in [0.25, 2],
agree_min 0.66, one extra round).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

import numpy as np
import redis.asyncio as aioredis

from bench.harness import Recorder, redis_server
from services.contract.records import AnnotationResult
from services.diversity.agreement import MODES, agreement_report
from services.diversity.feedback import FeedbackPolicy
from services.keys import Keys
from services.settings import Settings
from services.state.accepted import encode_accepted
from services.state.feedback_store import FeedbackStore
from services.state.vector_log import RedisVectorLog

BATCH = 50

Annotator = Callable[[bool, random.Random], bool]  # truth -> says good?


def honest(acc: float) -> Annotator:
    return lambda good, rng: good if rng.random() < acc else not good


def at_random(good: bool, rng: random.Random) -> bool:
    return rng.random() < 0.5


def always_good(good: bool, rng: random.Random) -> bool:
    return True


def contrarian(good: bool, rng: random.Random) -> bool:
    return (not good) if rng.random() < 0.8 else good


SCENARIOS: dict[str, dict[str, Annotator]] = {
    "honest": {f"honest-{i}": honest(0.85) for i in range(5)},
    "noisy": {
        **{f"honest-{i}": honest(0.85) for i in range(3)},
        "random": at_random,
        "always-good": always_good,
    },
    "adversarial": {
        **{f"honest-{i}": honest(0.85) for i in range(3)},
        "random": at_random,
        "always-good": always_good,
        "contrarian": contrarian,
    },
}


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    def ranks(a: np.ndarray) -> np.ndarray:
        order = np.argsort(a, kind="stable")
        r = np.empty(len(a))
        r[order] = np.arange(len(a))
        for v in np.unique(a):  # ties share their mean rank
            r[a == v] = r[a == v].mean()
        return r

    rx, ry = ranks(x), ranks(y)
    if rx.std() == 0 or ry.std() == 0:
        return 0.0
    return float(np.corrcoef(rx, ry)[0, 1])


async def one_run(
    redis: aioredis.Redis, scenario: str, seed: int, n_prompts: int, n_clusters: int
) -> dict:
    rng = random.Random(seed)
    ns = f"bench-agree-{scenario}-{seed}-{int(time.time() * 1000)}"
    policy = FeedbackPolicy.from_settings(Settings())
    store = FeedbackStore(redis, ns, RedisVectorLog(redis, ns, 4), policy)
    keys = Keys(ns)
    quality = np.linspace(0.15, 0.9, n_clusters)
    rng.shuffle(quality)  # type: ignore[arg-type]
    pool = SCENARIOS[scenario]
    names = list(pool)
    prompts = []
    async with redis.pipeline(transaction=False) as pipe:
        for i in range(n_prompts):
            c = rng.randrange(n_clusters)
            pid = f"{seed:04d}{i:028x}"
            prompts.append((pid, c, rng.random() < quality[c]))
            pipe.set(keys.accepted(pid), encode_accepted(c, None))
        await pipe.execute()
    truth = {pid: good for pid, _, good in prompts}
    assigned: dict[str, set[str]] = {}
    queue: list[tuple[str, str]] = []
    for pid, _, _ in prompts:
        who = rng.sample(names, rng.choice((2, 3)))
        assigned[pid] = set(who)
        queue += [(pid, a) for a in who]
    rng.shuffle(queue)
    votes = reviews = 0
    step = 0
    while queue:
        batch, queue = queue[:BATCH], queue[BATCH:]
        results = [
            AnnotationResult(
                prompt_id=pid,
                label="good" if pool[a](truth[pid], rng) else "reject",
                annotator=a,
                ts=datetime.now(tz=UTC),
            )
            for pid, a in batch
        ]
        srcs = [f"bench/0/{step + i}" for i in range(len(results))]
        step += len(results)
        out = await store.apply(results, srcs)
        votes += out.counted
        for _, req in out.reviews:  # one more annotator, later in the stream
            reviews += 1
            free = [a for a in names if a not in assigned[req.prompt_id]]
            if free:
                a = rng.choice(free)
                assigned[req.prompt_id].add(a)
                queue.insert(rng.randrange(len(queue) + 1), (req.prompt_id, a))
    report = await agreement_report(redis, ns)
    target = np.clip(quality / quality.mean(), policy.weight_min, policy.weight_max)
    k = max(1, n_clusters // 4)
    best, worst = np.argsort(-quality)[:k], np.argsort(quality)[:k]
    row: dict = {
        "scenario": scenario,
        "seed": seed,
        "prompts": n_prompts,
        "clusters": n_clusters,
        "votes": votes,
        "review_requests": reviews,
        "alpha": report["alpha"]["global"],
        "unresolved": report["items"]["unresolved"],
        "annotator_kappa": {a: v["kappa"] for a, v in report["annotators"].items()},
    }
    for mode in MODES:
        counts = await store.mode_counts(mode)
        w = np.array([policy.weight(counts, c) for c in range(n_clusters)])
        row[mode] = {
            "spearman": round(spearman(w, quality), 4),
            "gap": round(float(w[best].mean() - w[worst].mean()), 4),
            "rmse": round(float(np.sqrt(((w - target) ** 2).mean())), 4),
        }
    await redis.delete(*[k async for k in redis.scan_iter(f"{ns}:*")])
    return row


def summary(rows: list[dict]) -> list[dict]:
    out = []
    for scenario in SCENARIOS:
        mine = [r for r in rows if r["scenario"] == scenario]
        if not mine:
            continue
        for mode in MODES:
            out.append(
                {
                    "scenario": scenario,
                    "mode": mode,
                    "seeds": len(mine),
                    **{
                        f"{m}_mean": round(float(np.mean([r[mode][m] for r in mine])), 4)
                        for m in ("spearman", "gap", "rmse")
                    },
                    "spearman_sd": round(float(np.std([r[mode]["spearman"] for r in mine])), 4),
                    "alpha_mean": round(float(np.mean([r["alpha"] for r in mine])), 4),
                    "reviews_per_prompt": round(
                        float(np.mean([r["review_requests"] / r["prompts"] for r in mine])), 4
                    ),
                }
            )
    return out


async def all_runs(args: argparse.Namespace, port: int) -> list[dict]:
    redis = aioredis.from_url(f"redis://127.0.0.1:{port}/0")
    try:
        rows = []
        for scenario in args.scenarios:
            for seed in range(args.seeds):
                row = await one_run(redis, scenario, seed, args.prompts, args.clusters)
                rows.append(row)
                print(
                    f"{scenario:12s} seed {seed}: alpha {row['alpha']}, "
                    + ", ".join(f"{m} rho {row[m]['spearman']} gap {row[m]['gap']}" for m in MODES),
                    file=sys.stderr,
                )
        return rows
    finally:
        await redis.aclose()


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--prompts", type=int, default=1500)
    ap.add_argument("--clusters", type=int, default=12)
    ap.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))


def run(args: argparse.Namespace, rec: Recorder) -> int:
    t0 = time.perf_counter()
    with redis_server() as port:
        rows = asyncio.run(all_runs(args, port))
    table = summary(rows)
    rec.header(f"{time.perf_counter() - t0:.1f} s")
    print(f"{'scenario':12s} {'mode':9s} {'rho':>7s} {'sd':>6s} {'gap':>7s} {'rmse':>7s}")
    for t in table:
        print(
            f"{t['scenario']:12s} {t['mode']:9s} {t['spearman_mean']:7.3f} {t['spearman_sd']:6.3f} "
            f"{t['gap_mean']:7.3f} {t['rmse_mean']:7.3f}"
        )
    for row in rows:
        rec.add(row, kind="run", scenario=row.pop("scenario"), seed=row.pop("seed"))
    for t in table:
        rec.add(t, kind="summary", scenario=t.pop("scenario"), mode=t.pop("mode"))
    return 0
