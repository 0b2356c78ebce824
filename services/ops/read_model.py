"""What the ops API serves: lag (sampled by a ``LagMonitor``), cluster stats (summed from the
workers' Redis snapshots), recent accepted prompts, operator overrides, Prometheus text.

Redis errors propagate to the caller (the HTTP layer answers 503 with the reason), except in
``metrics_text``: the exposition is always served, with ``flywheel_ops_backend_up`` saying
which backend could not be read, so an alert can fire on it."""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter, deque
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.diversity.quota import QuotaPolicy, RedisWindow, entropy_bits
from services.diversity.topics import RedisTopics, tag
from services.embed.clusters import TopicModel
from services.ops.lag import ERROR, STATUSES, UNKNOWN, LagMonitor, PartitionLag, worst
from services.ops.lag_store import RedisTrackerStore
from services.ops.overrides import dump_override
from services.pipeline.feedback import BLOCKLIST_INDEX
from services.settings import Settings
from services.state.curate_state import load_weights

log = logging.getLogger(__name__)


class OpsState:
    def __init__(self, s: Settings, redis: aioredis.Redis) -> None:
        self.s = s
        self.redis = redis
        self.store = RedisTrackerStore(s.redis_url.get_secret_value(), s.namespace)
        self.monitor = lag_monitor(s, self.store)
        self.lag: list[PartitionLag] = []
        self.lag_history: deque[dict[str, Any]] = deque(maxlen=600)
        self.stats_history: deque[dict[str, Any]] = deque(maxlen=600)
        self.last_poll = 0.0
        self.error: str | None = None
        self.topics = TopicModel.load(s.topics_path or None)
        self.learned = RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
        self.window = RedisWindow(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
        self.policy = QuotaPolicy(s.quota_max_share, s.mix_max_synthetic, s.quota_min_window)

    # --- lag ---------------------------------------------------------------------------
    def poll_lag(self) -> None:
        """One sample (blocking: run it in a thread)."""
        try:
            self.lag = self.monitor.poll()
            self.last_poll = time.time()
            self.error = None
        except Exception as exc:  # reported by /readyz and /api/lag, retried next poll
            self.error = f"{type(exc).__name__}: {exc}"
            self.monitor.close()
            return
        self.lag_history.append(
            {
                "t": self.last_poll,
                "partitions": {f"{p.topic}[{p.partition}]": [p.lag, p.lag_s] for p in self.lag},
            }
        )

    def lag_status(self) -> str:
        """The group's status; UNKNOWN before a first poll, ERROR while polls fail (a table
        from before the failure would say OK about a stage nobody can see)."""
        if self.error:
            return ERROR
        if not self.last_poll:
            return UNKNOWN
        return worst(p.status for p in self.lag)

    def lag_view(self) -> dict[str, Any]:
        return {
            "group": self.s.app_id,
            "status": self.lag_status(),
            "error": self.error,
            "polled_at": self.last_poll,
            "partitions": [asdict(p) for p in self.lag],
            "history": list(self.lag_history)[-150:],
        }

    # --- stats -------------------------------------------------------------------------
    async def workers(self) -> list[dict[str, Any]]:
        keys = [k async for k in self.redis.scan_iter(f"{self.s.namespace}:stats:*", count=100)]
        raws = await self.redis.mget(keys) if keys else []
        return [json.loads(r) for r in raws if r]

    async def stats(self) -> dict[str, Any]:
        workers = await self.workers()
        outputs: Counter[str] = Counter()
        inputs: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        for w in workers:
            outputs.update(w["outputs"])
            inputs.update(w["inputs"])
            sizes.update(w["index_sizes"])
        final = {k: v for k, v in outputs.items() if k != "forwarded"}
        now = time.time()
        total = sum(final.values())
        self.stats_history.append({"t": now, "total": total})
        return {
            "workers": [w["worker"] for w in workers],
            "inputs": dict(inputs),
            "outputs": dict(outputs),
            "accepted": final.get("accepted", 0),
            "rejected": {
                k.split(":", 1)[1]: v for k, v in final.items() if k.startswith("rejected:")
            },
            "dlq": sum(v for k, v in final.items() if k.startswith("dlq:")),
            "index_sizes": dict(sizes),
            "coverage": coverage(dict(sizes)),
            "throughput": throughput(list(self.stats_history)),
            "diversity": await self.diversity(),
        }

    async def diversity(self) -> dict[str, Any]:
        """The accepted window by topic cluster (quotas, mix) and what feedback changed."""
        s = self.s
        topics = await self._topics()
        win = await self.window.load(self.policy, {}, tag=tag(topics.version))
        weights = await load_weights(self.redis, s.namespace)
        covered, entropy = win.coverage()
        counts = await self.redis.hgetall(f"{s.namespace}:fb:counts")
        votes = {_text(k): int(v) for k, v in counts.items() if _text(k).startswith("all:")}
        blocked = await self.redis.llen(f"{s.namespace}:vectors:{BLOCKLIST_INDEX}")
        label = topics.labels
        return {
            "topics_version": topics.version,
            "topics_learned": bool(tag(topics.version)),
            "window_s": s.quota_window_s,
            "accepted": win.total,
            "synthetic_share": round(win.synthetic / win.total, 4) if win.total else 0.0,
            "clusters_covered": covered,
            "clusters_total": topics.k,
            "entropy_bits": round(entropy, 4),
            "max_entropy_bits": round(math.log2(topics.k), 4),
            "clusters": [
                {
                    "cluster": c,
                    "label": label[c] if 0 <= c < len(label) else "",
                    "accepted": n,
                    # feedback weights are kept per cold-start (v1) cluster
                    "weight": None if tag(topics.version) else weights.get(c, 1.0),
                }
                for c, n in win.clusters.most_common()
            ],
            "weights": {str(c): w for c, w in sorted(weights.items())},
            "votes": {"positive": votes.get("all:pos", 0), "negative": votes.get("all:neg", 0)},
            "blocklist_vectors": int(blocked),
        }

    async def _topics(self) -> TopicModel:
        """The topic model the curate workers use now (learned, or the cold start)."""
        version = await self.learned.current()
        if version and version != self.topics.version:
            try:
                self.topics = await self.learned.load(version)
            except ValueError as exc:
                log.warning("topic model %s not loaded (%s)", version, exc)
        return self.topics

    async def recent(self, n: int = 20) -> list[dict[str, Any]]:
        raws = await self.redis.lrange(f"{self.s.namespace}:recent", 0, n - 1)
        return [json.loads(r) for r in raws]

    # --- overrides ---------------------------------------------------------------------
    async def overrides(self) -> dict[str, str]:
        raw = await self.redis.hgetall(f"{self.s.namespace}:overrides")
        return {_text(k): _text(v) for k, v in raw.items()}

    async def set_threshold(self, value: float) -> None:
        await self.redis.hset(
            f"{self.s.namespace}:overrides", "near_dup_threshold", dump_override(value)
        )

    # --- Prometheus ----------------------------------------------------------------------
    async def metrics_text(self) -> bytes:
        stats: dict[str, Any] | None
        try:
            stats = await self.stats()
        except Exception:  # Redis down: the up gauge says so
            stats = None
        kafka_up = bool(self.last_poll) and not self.error
        registry = CollectorRegistry(auto_describe=False)
        registry.register(
            _Snapshot(self.lag if kafka_up else [], stats, self.s.app_id, kafka_up=kafka_up)
        )
        return generate_latest(registry)

    def close(self) -> None:
        self.monitor.close()
        self.store.close()


def lag_monitor(s: Settings, store: RedisTrackerStore | None) -> LagMonitor:
    """The monitor of the workers' group with the settings' stall rules."""
    return LagMonitor(
        s.kafka_bootstrap,
        s.app_id,
        [s.topic_events, s.topic_curate],
        stall_after_s=s.lag_stall_s,
        stop_after_s=max(s.lag_stop_s, s.lag_stall_s),
        store=store,
    )


class _Snapshot:
    """A collector over values already gathered (lag table, summed worker counters); ``stats``
    is None when Redis could not be read."""

    def __init__(
        self,
        lag: list[PartitionLag],
        stats: dict[str, Any] | None,
        group: str,
        kafka_up: bool = True,
    ) -> None:
        self.lag, self.stats, self.group, self.kafka_up = lag, stats, group, kafka_up

    def collect(self):
        up = GaugeMetricFamily(
            "flywheel_ops_backend_up",
            "1 when the ops API could read the backend at this scrape (kafka: last lag poll)",
            labels=["backend"],
        )
        up.add_metric(["kafka"], int(self.kafka_up))
        up.add_metric(["redis"], int(self.stats is not None))
        yield up
        labels = ["group", "topic", "partition"]
        msgs = GaugeMetricFamily("flywheel_lag_messages", "Consumer lag in messages", labels=labels)
        secs = GaugeMetricFamily(
            "flywheel_lag_seconds", "Consumer lag in seconds (interpolated)", labels=labels
        )
        status = GaugeMetricFamily(
            "flywheel_lag_status",
            "Partition status: 0 OK, 1 WARN, 2 STALL, 3 STOP, 4 REWIND",
            labels=labels,
        )
        stuck = GaugeMetricFamily(
            "flywheel_lag_stuck_seconds",
            "Seconds with lag > 0 and the committed offset unmoved (STALL, then STOP)",
            labels=labels,
        )
        for p in self.lag:
            values = [self.group, p.topic, str(p.partition)]
            msgs.add_metric(values, p.lag)
            secs.add_metric(values, p.lag_s)
            status.add_metric(values, STATUSES.index(p.status))
            stuck.add_metric(values, p.stuck_s)
        yield from (msgs, secs, status, stuck)
        if self.stats is None:
            return
        out = CounterMetricFamily(
            "flywheel_cluster_events_out",
            "Records produced by all workers",
            labels=["outcome", "reason"],
        )
        for label, n in self.stats["outputs"].items():
            outcome, _, reason = label.partition(":")
            out.add_metric([outcome, reason], n)
        yield out
        size = GaugeMetricFamily(
            "flywheel_cluster_index_size", "Accepted vectors per index", labels=["index"]
        )
        for name, n in self.stats["index_sizes"].items():
            size.add_metric([name], n)
        yield size
        workers = GaugeMetricFamily(
            "flywheel_workers", "Workers that published stats in the last minute"
        )
        workers.add_metric([], len(self.stats["workers"]))
        yield workers
        div = self.stats.get("diversity")
        if div is None:
            return
        for name, help_, value in (
            (
                "flywheel_window_clusters_covered",
                "Topic clusters in the accepted window",
                div["clusters_covered"],
            ),
            (
                "flywheel_window_entropy_bits",
                "Entropy of the window's cluster distribution",
                div["entropy_bits"],
            ),
            (
                "flywheel_window_synthetic_share",
                "Share of synthetic prompts in the window",
                div["synthetic_share"],
            ),
            (
                "flywheel_blocklist_vectors",
                "Vectors in the annotator-fed blocklist index",
                div["blocklist_vectors"],
            ),
        ):
            g = GaugeMetricFamily(name, help_)
            g.add_metric([], value)
            yield g
        weight = GaugeMetricFamily(
            "flywheel_feedback_cluster_weight", "Quota weight per topic cluster", labels=["cluster"]
        )
        for c, w in div["weights"].items():
            weight.add_metric([c], w)
        yield weight


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def coverage(sizes: dict[str, int]) -> dict[str, float]:
    """How evenly the accepted set spreads over its indexes (languages today, clusters later):
    count, and Shannon entropy in bits with its maximum."""
    n = sum(1 for v in sizes.values() if v)
    return {
        "indexes": n,
        "entropy_bits": round(entropy_bits(sizes.values()), 4),
        "max_entropy_bits": round(math.log2(n), 4) if n else 0.0,
    }


def throughput(history: list[dict[str, Any]], window_s: float = 10.0) -> float:
    """Final outputs per second over the last ``window_s`` of stats samples."""
    if len(history) < 2:
        return 0.0
    last = history[-1]
    first = next((h for h in history if last["t"] - h["t"] <= window_s), history[0])
    dt = last["t"] - first["t"]
    return round((last["total"] - first["total"]) / dt, 2) if dt > 0 else 0.0
