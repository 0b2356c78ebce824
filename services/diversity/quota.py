"""Diversity quotas per topic cluster and the real/synthetic mix, over a sliding time window.

The window is the last ``quota_window_s`` seconds of accepted prompts, kept in Redis as one hash
per ``quota_bucket_s`` bucket (``<ns>:window:<bucket>``: ``total``, ``syn``, ``c:<cluster>``).
Every curate batch reads the window once (``Window.load``), decides its candidates in order
against that snapshot plus its own acceptances (``Window.admit``), and writes its acceptances
back in the same Redis transaction as their vectors (``Window.increments``), so a crash never
counts an acceptance twice or forgets one: a replayed acceptance is recognised by its vector and
never admitted again.

A cluster may hold at most ``share_c x max(total + 1, quota_min_window)`` of the window, where
``share_c = quota_max_share x weight_c`` and the weights come from annotator feedback
(``services/pipeline/feedback.py``, within bounds). Synthetic prompts may hold at most
``mix_max_synthetic`` of it, and at most ``mix_max_synthetic_per_cluster`` of any one cluster
(``s:<cluster>`` counts them, over ``max(cluster count + 1, quota_min_cluster)``), so a generator
filling a coverage gap (``services/diversity/gaps.py``) cannot turn a cluster synthetic. The
floor ``quota_min_window`` lets a quiet window fill before the shares bind.

Besides the counts that decide, a batch notes for the synthetic-balance signal how many of its
prompts each cluster and origin saw decided and how many were duplicates (``<ns>:bias:<bucket>``),
the ids of its acceptances per cluster (gap examples) and, per cluster and bucket, a HyperLogLog
of the keyed user hashes of its real acceptances (the crowd, ``services/diversity/crowd.py``),
written in the same transaction.
Several shards decide concurrently from their own snapshots, so the shares can be exceeded by at
most one micro-batch per shard between two reads.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import redis.asyncio as aioredis

from services.contract.records import Reason
from services.keys import Keys, text
from services.settings import Settings

EXAMPLES_KEPT = 20  # latest accepted prompt_ids kept per cluster, for gap records


@dataclass(frozen=True)
class QuotaPolicy:
    max_share: float  # per cluster, before feedback weights; >= 1 turns quotas off
    max_synthetic: float  # share of synthetic prompts; >= 1 turns the mix off
    min_window: int  # the shares apply to max(total + 1, min_window)
    max_synthetic_cluster: float = 1.0  # share of one cluster; >= 1 turns the rule off
    min_cluster: int = 1  # that share applies to max(cluster count + 1, min_cluster)

    @classmethod
    def from_settings(cls, s: Settings) -> QuotaPolicy:
        return cls(
            s.quota_max_share,
            s.mix_max_synthetic,
            s.quota_min_window,
            s.mix_max_synthetic_per_cluster,
            s.quota_min_cluster,
        )

    def cluster_share(self, weight: float) -> float:
        return min(1.0, self.max_share * weight)


@dataclass
class Window:
    """A snapshot of the accepted window plus this batch's own acceptances."""

    policy: QuotaPolicy
    weights: Mapping[int, float] = field(default_factory=dict)
    total: int = 0
    synthetic: int = 0
    clusters: Counter[int] = field(default_factory=Counter)
    synthetic_in: Counter[int] = field(default_factory=Counter)  # synthetic prompts per cluster
    added: list[tuple[int | None, bool]] = field(default_factory=list)  # (cluster, synthetic)
    decided: Counter[str] = field(default_factory=Counter)  # bias fields (note_decided)
    examples: list[tuple[int, str]] = field(default_factory=list)  # (cluster, prompt_id)
    users: list[tuple[int, str]] = field(default_factory=list)  # (cluster, keyed user hash)
    # per "<topic>/<partition>": the highest input offset whose outcome is noted (a batch
    # decided again after a crash notes nothing twice); ``noted`` = this batch's new marks
    noted_upto: dict[str, int] = field(default_factory=dict)
    noted: dict[str, int] = field(default_factory=dict)
    tag: str = (
        ""  # the topic model's tag in the window's field names (services/diversity/topics.py)
    )

    def admit(
        self,
        cluster: int | None,
        synthetic: bool,
        weight_of: int | None = None,
        user: str | None = None,
    ) -> Reason | None:
        """``None`` and count it, or why not: ``mix``, ``mix_cluster``, then ``quota``. The
        feedback weight is the one of cluster ``weight_of`` when given (feedback is keyed by the
        fixed v1 clusters, quotas by the learned ones), else of ``cluster``. An admitted real
        prompt with a ``user`` (the keyed hash) joins its cluster's crowd; a synthetic one or
        one without a user does not (docs/privacy.md#a-minimum-crowd)."""
        p = self.policy
        base = max(self.total + 1, p.min_window)
        if synthetic and p.max_synthetic < 1 and self.synthetic + 1 > p.max_synthetic * base:
            return Reason.MIX
        if synthetic and cluster is not None and p.max_synthetic_cluster < 1:
            room = p.max_synthetic_cluster * max(self.clusters[cluster] + 1, p.min_cluster)
            if self.synthetic_in[cluster] + 1 > room:
                return Reason.MIX_CLUSTER
        if cluster is not None and p.max_share < 1:
            key = cluster if weight_of is None else weight_of
            share = p.cluster_share(self.weights.get(key, 1.0))
            if self.clusters[cluster] + 1 > share * base:
                return Reason.QUOTA
        self.total += 1
        self.synthetic += synthetic
        if cluster is not None:
            self.clusters[cluster] += 1
            self.synthetic_in[cluster] += synthetic
            if user and not synthetic:
                self.users.append((cluster, user))
        self.added.append((cluster, synthetic))
        return None

    def fresh_outcome(self, partition: str, offset: int) -> bool:
        """Whether the outcome of input ``offset`` of ``partition`` is not noted yet (and now
        is, once this batch commits)."""
        if offset <= self.noted_upto.get(partition, -1):
            return False
        self.noted[partition] = max(offset, self.noted.get(partition, -1))
        return True

    def note_decided(self, cluster: int, synthetic: bool, duplicate: bool) -> None:
        """One prompt of ``cluster`` went through de-duplication (a duplicate or not)."""
        origin = "syn" if synthetic else "real"
        self.decided[f"n:{self.tag or 'v1'}:{cluster}:{origin}"] += 1
        if duplicate:
            self.decided[f"d:{self.tag or 'v1'}:{cluster}:{origin}"] += 1

    def copy(self) -> Window:
        """An independent snapshot (a batch decided again starts from it)."""
        return replace(
            self,
            clusters=Counter(self.clusters),
            synthetic_in=Counter(self.synthetic_in),
            added=list(self.added),
            decided=Counter(self.decided),
            examples=list(self.examples),
            users=list(self.users),
            noted=dict(self.noted),
        )

    def coverage(self) -> tuple[int, float]:
        """Clusters present in the window and the entropy (bits) of its cluster distribution."""
        return sum(1 for c in self.clusters.values() if c > 0), entropy_bits(self.clusters.values())


def entropy_bits(counts: Iterable[int]) -> float:
    """Shannon entropy (bits) of the distribution given by ``counts``; 0 when empty."""
    positive = [c for c in counts if c > 0]
    n = sum(positive)
    return -sum(c / n * math.log2(c / n) for c in positive) if n else 0.0


class RedisWindow:
    """Reads and writes the bucketed window in Redis."""

    def __init__(self, redis: aioredis.Redis, namespace: str, window_s: int, bucket_s: int) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.window_s = window_s
        self.bucket_s = bucket_s

    def _buckets(self, now: float) -> list[int]:
        last = int(now // self.bucket_s)
        return list(range(last - self.window_s // self.bucket_s + 1, last + 1))

    async def load(
        self,
        policy: QuotaPolicy,
        weights: Mapping[int, float],
        now: float | None = None,
        tag: str = "",
    ) -> Window:
        """The window's counts; cluster counts only of the topic model tagged ``tag``."""
        now = time.time() if now is None else now
        async with self.redis.pipeline(transaction=False) as pipe:
            for b in self._buckets(now):
                pipe.hgetall(self.keys.window(b))
            pipe.hgetall(self.keys.bias_noted)
            *rows, marks = await pipe.execute()
        win = Window(policy, weights, tag=tag)
        win.noted_upto = {text(k): int(v) for k, v in marks.items()}
        prefix, syn_prefix = (f"c:{tag}:", f"s:{tag}:") if tag else ("c:", "s:")
        for row in rows:
            for k, v in row.items():
                key, n = text(k), int(v)
                if key == "total":
                    win.total += n
                elif key == "syn":
                    win.synthetic += n
                elif key.startswith(prefix) and key[len(prefix) :].isdigit():
                    win.clusters[int(key[len(prefix) :])] += n
                elif key.startswith(syn_prefix) and key[len(syn_prefix) :].isdigit():
                    win.synthetic_in[int(key[len(syn_prefix) :])] += n
        return win

    async def crowds(
        self, tag: str, clusters: Iterable[int], now: float | None = None
    ) -> dict[int, int]:
        """Distinct users with real prompts accepted in each cluster over the window (the union
        of its buckets' HyperLogLogs: about 0.8 % standard error), in one round trip."""
        now = time.time() if now is None else now
        wanted = sorted(set(clusters))
        if not wanted:
            return {}
        buckets = self._buckets(now)
        async with self.redis.pipeline(transaction=False) as pipe:
            for c in wanted:
                pipe.pfcount(*(self.keys.crowd(tag, c, b) for b in buckets))
            counts = await pipe.execute()
        return {c: int(n) for c, n in zip(wanted, counts, strict=True)}

    def increments(
        self, pipe: aioredis.client.Pipeline, win: Window, now: float | None = None
    ) -> None:
        """Queue this batch's acceptances, its bias notes, its examples and its users (the
        crowd) on ``pipe`` (the caller's transaction)."""
        now = time.time() if now is None else now
        bucket = int(now // self.bucket_s)
        ttl = self.window_s + 2 * self.bucket_s
        if win.added:
            key = self.keys.window(bucket)
            counts: Counter[str] = Counter()
            t = f"{win.tag}:" if win.tag else ""
            for cluster, synthetic in win.added:
                counts["total"] += 1
                counts["syn"] += synthetic
                if cluster is not None:
                    counts[f"c:{t}{cluster}"] += 1
                    counts[f"s:{t}{cluster}"] += synthetic
            for k, n in counts.items():
                if n:
                    pipe.hincrby(key, k, n)
            pipe.expire(key, ttl)
        if win.decided:
            key = self.keys.bias(bucket)
            for k, n in win.decided.items():
                pipe.hincrby(key, k, n)
            pipe.expire(key, ttl)
        if win.noted:
            pipe.hset(self.keys.bias_noted, mapping={p: n for p, n in win.noted.items()})
        by_cluster: dict[int, list[str]] = {}
        for cluster, pid in win.examples:
            by_cluster.setdefault(cluster, []).append(pid)
        for cluster, pids in by_cluster.items():
            key = self.keys.examples(win.tag, cluster)
            pipe.lpush(key, *pids)
            pipe.ltrim(key, 0, EXAMPLES_KEPT - 1)
            pipe.expire(key, ttl)
        crowds: dict[int, set[str]] = {}
        for cluster, user in win.users:
            crowds.setdefault(cluster, set()).add(user)
        for cluster, users in crowds.items():
            key = self.keys.crowd(win.tag, cluster, bucket)
            pipe.pfadd(key, *sorted(users))
            pipe.expire(key, ttl)
