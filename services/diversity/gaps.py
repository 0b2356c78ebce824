"""Coverage gaps: where the accepted window is thin, for a synthetic-prompt generator to fill.

Per topic cluster of the current model (learned from the accepted stream, or the v1 cold start),
the window's share is compared with a target distribution: uniform over the clusters unless an
operator set another through the ops API (``PUT /api/gaps/target``, with the token). A cluster
whose count is below ``target share x window total`` has a *deficit*; each one becomes a
``GapRecord`` on ``flywheel.gaps`` (the ops server publishes on a timer and on demand) with the
cluster's characteristic words, a few accepted prompt ids as examples, the real and synthetic
counts and how many synthetic prompts the per-cluster mix rule still admits there. A cluster
with fewer distinct users in the window than ``min_crowd`` (services/diversity/crowd.py) gets
its record without words and examples (``withheld``): they would describe those few people.

The same read gives the bias signal of the synthetic balance: per cluster and origin, how many
prompts de-duplication decided in the window and how many were near (or exact) duplicates: a
generator that repeats itself shows a synthetic duplicate rate far above the real one.

A target names clusters of one topic model version. When the model changes (re-training), the
target no longer applies: the gaps fall back to uniform and ``target_stale`` says so, until the
operator sets one for the new clusters.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis.asyncio as aioredis

from services.contract.records import GapRecord, now_utc
from services.diversity.crowd import Crowd
from services.diversity.quota import QuotaPolicy, RedisWindow, Window, entropy_bits
from services.diversity.topics import tag, words
from services.embed.clusters import TopicModel
from services.errors import Refused
from services.keys import Keys, text

TOLERANCE = 1e-6  # how far from 1 the shares of a target may sum


class TargetRefused(Refused):
    """A target the ops API answers 422 to, with this message."""


@dataclass(frozen=True)
class Target:
    """Shares per cluster of the topic model ``version``; ``None`` = uniform."""

    shares: dict[int, float] | None = None
    version: str | None = None

    def for_model(self, model: TopicModel) -> tuple[list[float], bool]:
        """The target share of every cluster of ``model``, and whether a set target was stale
        (set for another model version) and replaced by uniform."""
        if self.shares is None or self.version != model.version:
            return [1.0 / model.k] * model.k, self.shares is not None
        return [self.shares.get(c, 0.0) for c in range(model.k)], False

    def to_json(self) -> str:
        shares = None if self.shares is None else {str(c): v for c, v in self.shares.items()}
        return json.dumps({"version": self.version, "shares": shares})

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> Target:
        if raw is None:
            return cls()
        data = json.loads(raw)
        shares = data.get("shares")
        return cls(
            None if shares is None else {int(c): float(v) for c, v in shares.items()},
            data.get("version"),
        )


def parse_target(body: Any, model: TopicModel) -> Target:
    """An operator's target, checked against the current model: ``{"uniform": true}`` or
    ``{"shares": {"<cluster>": share, ...}}`` (clusters left out get 0). Refused with the reason
    when a cluster is unknown, a share is negative or not a number, or the shares do not sum
    to 1."""
    if not isinstance(body, dict):
        raise TargetRefused("a JSON object is expected")
    unknown = sorted(set(body) - {"uniform", "shares"})
    if unknown:
        raise TargetRefused(f"unknown field {unknown[0]!r}: expected uniform or shares")
    if "uniform" in body:
        if body["uniform"] is not True or "shares" in body:
            raise TargetRefused('expected {"uniform": true} or {"shares": {...}}, not both')
        return Target(None, model.version)
    shares = body.get("shares")
    if not isinstance(shares, dict) or not shares:
        raise TargetRefused('expected {"uniform": true} or {"shares": {"<cluster>": share}}')
    out: dict[int, float] = {}
    for key, value in shares.items():
        if not (isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 5):
            raise TargetRefused(f"cluster {key!r} is not a cluster number")
        cluster = int(key)
        if cluster >= model.k:
            raise TargetRefused(
                f"cluster {cluster} is unknown: the topic model {model.version} has "
                f"clusters 0..{model.k - 1}"
            )
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TargetRefused(f"the share of cluster {cluster} is not a number")
        if not math.isfinite(value) or value < 0:
            raise TargetRefused(f"the share of cluster {cluster} is negative or not finite")
        out[cluster] = float(value)
    total = sum(out.values())
    if abs(total - 1.0) > TOLERANCE:
        raise TargetRefused(f"the shares sum to {total:.6g}, not 1")
    return Target(out, model.version)


@dataclass
class ClusterGap:
    cluster: int
    target_share: float
    share: float
    deficit: int
    real: int
    synthetic: int
    synthetic_room: int


@dataclass
class Coverage:
    """The window against the target: per-cluster gaps and two summary distances."""

    total: int
    entropy_bits: float
    max_entropy_bits: float
    distance: float  # total variation distance between the window's shares and the target
    target_stale: bool
    gaps: list[ClusterGap] = field(default_factory=list)  # deficit >= 1, largest first


def synthetic_room(win: Window, cluster: int, policy: QuotaPolicy, cap: int) -> int:
    """How many synthetic prompts of ``cluster`` the mix rules (window and cluster) would still
    admit one after another, at most ``cap`` (quotas aside)."""
    room = 0
    n, s, syn, total = win.clusters[cluster], win.synthetic_in[cluster], win.synthetic, win.total
    while room < cap:
        base = max(total + 1, policy.min_window)
        if policy.max_synthetic < 1 and syn + 1 > policy.max_synthetic * base:
            break
        if policy.max_synthetic_cluster < 1:
            if s + 1 > policy.max_synthetic_cluster * max(n + 1, policy.min_cluster):
                break
        room, n, s, syn, total = room + 1, n + 1, s + 1, syn + 1, total + 1
    return room


def coverage(
    win: Window, k: int, target: list[float], stale: bool, policy: QuotaPolicy
) -> Coverage:
    """Per cluster of a ``k``-cluster model: deficit = round(target share x total - count)."""
    counted = sum(win.clusters[c] for c in range(k))
    shares = [win.clusters[c] / counted if counted else 0.0 for c in range(k)]
    out = Coverage(
        total=counted,
        entropy_bits=round(entropy_bits(win.clusters[c] for c in range(k)), 4),
        max_entropy_bits=round(math.log2(k), 4) if k > 1 else 0.0,
        distance=round(0.5 * sum(abs(a - b) for a, b in zip(shares, target, strict=True)), 4),
        target_stale=stale,
    )
    for c in range(k):
        deficit = round(target[c] * counted - win.clusters[c])
        if deficit < 1:
            continue
        out.gaps.append(
            ClusterGap(
                cluster=c,
                target_share=round(target[c], 6),
                share=round(shares[c], 6),
                deficit=int(deficit),
                real=win.clusters[c] - win.synthetic_in[c],
                synthetic=win.synthetic_in[c],
                synthetic_room=synthetic_room(win, c, policy, int(deficit)),
            )
        )
    out.gaps.sort(key=lambda g: (-g.deficit, g.cluster))
    return out


def bias_rates(fields: Mapping[str, int], tag_: str) -> dict[int, dict[str, dict[str, float]]]:
    """``{cluster: {"real"|"synthetic": {"decided", "duplicates", "rate"}}}`` from the bias
    buckets' fields ``n:<tag>:<cluster>:<origin>`` and ``d:…`` of one model tag."""
    want = tag_ or "v1"
    raw: dict[int, dict[str, Counter[str]]] = {}
    for key, n in fields.items():
        parts = key.split(":")
        if len(parts) != 4 or parts[0] not in ("n", "d") or parts[1] != want:
            continue
        if not parts[2].isdigit() or parts[3] not in ("syn", "real"):
            continue
        origin = "synthetic" if parts[3] == "syn" else "real"
        raw.setdefault(int(parts[2]), {}).setdefault(origin, Counter())[parts[0]] += n
    out: dict[int, dict[str, dict[str, float]]] = {}
    for cluster, origins in sorted(raw.items()):
        out[cluster] = {
            origin: {
                "decided": c["n"],
                "duplicates": c["d"],
                "rate": round(c["d"] / c["n"], 4) if c["n"] else 0.0,
            }
            for origin, c in origins.items()
        }
    return out


def cluster_words(model: TopicModel, cluster: int) -> list[str]:
    """The cluster's characteristic words without stop words ("she much her" says nothing to
    a generator); none for a cluster labelled by its number only."""
    label = model.labels[cluster] if 0 <= cluster < len(model.labels) else ""
    return [] if label.startswith("cluster ") else [w for w in label.split() if words(w)]


def gap_record(
    model: TopicModel,
    g: ClusterGap,
    window_total: int,
    gap_id: str,
    ts: datetime,
    examples: list[str] | None,
) -> GapRecord:
    """The record of gap ``g``; ``examples`` None = the cluster is under the crowd: no words,
    no examples, ``withheld``."""
    withheld = examples is None
    return GapRecord(
        gap_id=gap_id,
        cluster=g.cluster,
        topics_version=model.version,
        words=[] if withheld else cluster_words(model, g.cluster),
        examples=examples or [],
        withheld=withheld,
        target_share=g.target_share,
        share=g.share,
        deficit=g.deficit,
        real=g.real,
        synthetic=g.synthetic,
        synthetic_room=g.synthetic_room,
        window_total=window_total,
        ts=ts,
    )


class GapStore:
    """The gaps' state in Redis: the target, the window, the examples, the bias buckets."""

    def __init__(self, redis: aioredis.Redis, namespace: str, window_s: int, bucket_s: int) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.window = RedisWindow(redis, namespace, window_s, bucket_s)
        self.window_s = window_s
        self.bucket_s = bucket_s

    async def target(self) -> Target:
        return Target.from_json(await self.redis.get(self.keys.gaps_target))

    async def set_target(self, target: Target) -> None:
        await self.redis.set(self.keys.gaps_target, target.to_json())

    async def coverage(self, model: TopicModel, policy: QuotaPolicy) -> Coverage:
        win = await self.window.load(policy, {}, tag=tag(model.version))
        shares, stale = (await self.target()).for_model(model)
        return coverage(win, model.k, shares, stale, policy)

    async def crowd(self, model: TopicModel, clusters: list[int], min_crowd: int) -> Crowd:
        """The distinct users of ``clusters`` in the window (none read when the rule is off)."""
        if min_crowd <= 0:
            return Crowd(0)
        return Crowd(min_crowd, await self.window.crowds(tag(model.version), clusters))

    async def examples(self, tag_: str, clusters: list[int], n: int) -> list[list[str]]:
        """The latest ``n`` accepted prompt ids of each cluster, in one round trip."""
        if n <= 0:
            return [[] for _ in clusters]
        async with self.redis.pipeline(transaction=False) as pipe:
            for c in clusters:
                pipe.lrange(self.keys.examples(tag_, c), 0, n - 1)
            rows = await pipe.execute()
        return [[text(r) for r in row] for row in rows]

    async def records(
        self,
        model: TopicModel,
        policy: QuotaPolicy,
        examples: int,
        min_window: int,
        min_crowd: int = 0,
    ) -> tuple[Coverage, list[GapRecord]]:
        """The coverage and one gap record per cluster with a deficit (none while the window
        holds fewer than ``min_window`` prompts); words and examples only of clusters with at
        least ``min_crowd`` distinct users."""
        cov = await self.coverage(model, policy)
        if cov.total < min_window or not cov.gaps:
            return cov, []
        n = int(await self.redis.incr(self.keys.gaps_round))
        ts = now_utc()
        crowd = await self.crowd(model, [g.cluster for g in cov.gaps], min_crowd)
        shown = [g.cluster for g in cov.gaps if crowd.shown(g.cluster)]
        ids = dict(
            zip(shown, await self.examples(tag(model.version), shown, examples), strict=True)
        )
        return cov, [
            gap_record(
                model, g, cov.total, f"{model.version}:{g.cluster}:{n}", ts, ids.get(g.cluster)
            )
            for g in cov.gaps
        ]

    async def published(self, round_: int, n: int, at: float | None = None) -> None:
        """Record that round ``round_`` put ``n`` gap records on the topic."""
        at = time.time() if at is None else at
        await self.redis.set(
            self.keys.gaps_last, json.dumps({"round": round_, "at": at, "gaps": n})
        )

    async def last_published(self) -> dict[str, Any] | None:
        raw = await self.redis.get(self.keys.gaps_last)
        return None if raw is None else json.loads(raw)

    async def bias(self, model: TopicModel, now: float | None = None) -> dict[int, Any]:
        """Duplicate rates per cluster and origin over the window (``bias_rates``)."""
        now = time.time() if now is None else now
        last = int(now // self.bucket_s)
        buckets = range(last - self.window_s // self.bucket_s + 1, last + 1)
        async with self.redis.pipeline(transaction=False) as pipe:
            for b in buckets:
                pipe.hgetall(self.keys.bias(b))
            rows = await pipe.execute()
        fields: Counter[str] = Counter()
        for row in rows:
            for k, v in row.items():
                fields[text(k)] += int(v)
        return bias_rates(fields, tag(model.version))

    async def publish(
        self,
        model: TopicModel,
        policy: QuotaPolicy,
        send: Callable[[str, GapRecord], Awaitable[None]],
        examples: int,
        min_window: int,
        min_crowd: int = 0,
    ) -> list[GapRecord]:
        """Measure the gaps and hand each record to ``send(key, record)`` (a Kafka producer:
        key ``<topics_version>:<cluster>``); the publication is recorded once all were sent."""
        _, records = await self.records(model, policy, examples, min_window, min_crowd)
        for rec in records:
            await send(f"{rec.topics_version}:{rec.cluster}", rec)
        if records:
            await self.published(int(records[0].gap_id.rsplit(":", 1)[1]), len(records))
        return records

    async def lock(self, ttl_s: float) -> bool:
        """One publisher per interval, whatever the number of ops replicas."""
        ttl = max(1, int(ttl_s))
        return bool(await self.redis.set(self.keys.gaps_lock, b"1", nx=True, ex=ttl))
