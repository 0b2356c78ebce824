"""What the ops API serves: lag (sampled by a ``LagMonitor``), cluster stats (summed from the
workers' Redis snapshots), recent accepted prompts, operator overrides, Prometheus text.

Redis errors propagate to the caller (the HTTP layer answers 503 with the reason), except in
``metrics_text``: the exposition is always served, with ``flywheel_ops_backend_up`` saying
which backend could not be read, so an alert can fire on it."""

from __future__ import annotations

import json
import logging
import math
import statistics
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.contract.records import GapRecord
from services.diversity.agreement import agreement_report, annotator_bias
from services.diversity.current import CurrentTopics
from services.diversity.gaps import GapStore, Target, cluster_words, parse_target
from services.diversity.gaps import coverage as gap_coverage
from services.diversity.quota import QuotaPolicy, RedisWindow, Window, entropy_bits
from services.diversity.topics import RedisTopics, tag
from services.embed.clusters import TopicModel
from services.ops.lag import ERROR, STATUSES, UNKNOWN, LagMonitor, PartitionLag, worst
from services.ops.lag_store import RedisTrackerStore
from services.ops.overrides import dump_override
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX
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
        self.cold_start = TopicModel.load(s.topics_path or None)  # feedback, agreement: per v1
        learned = RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
        self.topics = CurrentTopics(self.cold_start, learned)  # what the curate workers use now
        self.window = RedisWindow(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
        self.policy = QuotaPolicy.from_settings(s)
        self.gaps = GapStore(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)

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
            "gaps": await self._gaps(topics, win),
            "synthetic_balance": await self._synthetic_balance(topics, win),
            "agreement": public_agreement(
                await agreement_report(self.redis, s.namespace), self.cold_start
            ),
        }

    # --- coverage gaps, synthetic balance (services/diversity/gaps.py) -------------------
    async def gaps_view(self) -> dict[str, Any]:
        topics = await self._topics()
        win = await self.window.load(self.policy, {}, tag=tag(topics.version))
        return await self._gaps(topics, win)

    async def _gaps(self, topics: TopicModel, win: Window) -> dict[str, Any]:
        target = await self.gaps.target()
        shares, stale = target.for_model(topics)
        cov = gap_coverage(win, topics.k, shares, stale, self.policy)
        kind = "stale" if stale else ("uniform" if target.shares is None else "set")
        return {
            "topics_version": topics.version,
            "target": kind,
            "shares": None
            if target.shares is None or stale
            else {str(c): v for c, v in target.shares.items()},
            "total": cov.total,
            "distance": cov.distance,
            "entropy_bits": cov.entropy_bits,
            "max_entropy_bits": cov.max_entropy_bits,
            "min_window": self.s.gaps_min_window,
            "interval_s": self.s.gaps_interval_s,
            "last_published": await self.gaps.last_published(),
            "waiting": self.waiting(topics),
            "clusters": [
                {
                    "cluster": g.cluster,
                    "label": _label(topics, g.cluster),
                    "words": cluster_words(topics, g.cluster),
                    **{k: v for k, v in asdict(g).items() if k != "cluster"},
                }
                for g in cov.gaps
            ],
        }

    async def set_gap_target(self, body: Any) -> Target:
        """Checked against the current topic model (``TargetRefused`` with the reason)."""
        target = parse_target(body, await self._topics())
        await self.gaps.set_target(target)
        return target

    def waiting(self, topics: TopicModel) -> str | None:
        """Why no gaps are published yet, if so: while clusters are to be learned from the
        product's own traffic, gaps over the cold-start clusters would ask a generator for
        topics the product never serves (measured: docs/feedback.md)."""
        if self.s.topics_learn and not tag(topics.version):
            return "waiting for the first topic model learned from the accepted stream"
        return None

    async def publish_gaps(
        self, send: Callable[[str, GapRecord], Awaitable[None]]
    ) -> tuple[list[GapRecord], str | None]:
        """The records sent, or none and why not (``waiting``)."""
        s = self.s
        topics = await self._topics()
        waiting = self.waiting(topics)
        if waiting:
            return [], waiting
        records = await self.gaps.publish(
            topics, self.policy, send, s.gaps_examples, s.gaps_min_window
        )
        return records, None

    async def _synthetic_balance(self, topics: TopicModel, win: Window) -> list[dict[str, Any]]:
        """Per cluster with synthetic prompts (accepted, decided or voted on): accepted counts,
        near-duplicate rate and annotators' acceptance, synthetic beside real."""
        t = tag(topics.version)
        rates = await self.gaps.bias(topics)
        votes = await annotator_bias(self.redis, self.s.namespace, t)
        clusters = {c for c, n in win.synthetic_in.items() if n}
        clusters |= {c for c, r in rates.items() if r.get("synthetic", {}).get("decided")}
        clusters |= {c for c, v in votes.items() if sum(v["synthetic"].values())}
        out = []
        for c in sorted(clusters)[:MAX_BALANCE_ROWS]:
            row: dict[str, Any] = {"cluster": c, "label": _label(topics, c)}
            for origin in ("real", "synthetic"):
                r = rates.get(c, {}).get(origin, {"decided": 0, "duplicates": 0})
                voted = votes.get(c, {}).get(origin) or {}
                pos, neg = voted.get("pos", 0), voted.get("neg", 0)
                syn = win.synthetic_in[c]
                row[origin] = {
                    "accepted": syn if origin == "synthetic" else win.clusters[c] - syn,
                    "decided": int(r["decided"]),
                    "duplicates": int(r["duplicates"]),
                    "duplicate_rate": round(r["duplicates"] / r["decided"], 4)
                    if r["decided"]
                    else None,
                    "votes_pos": int(pos),
                    "votes_neg": int(neg),
                    "acceptance": round(pos / (pos + neg), 4) if pos + neg else None,
                }
            out.append(row)
        return out

    async def agreement(self) -> dict[str, Any]:
        """The full agreement report, per-annotator rows included (read token only)."""
        return await agreement_report(self.redis, self.s.namespace)

    async def _topics(self) -> TopicModel:
        """The topic model the curate workers use now (learned, or the cold start)."""
        return await self.topics.refresh()

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
        yield from _gap_metrics(div)


def _gap_metrics(div: dict[str, Any]):
    """Coverage gaps and the synthetic balance (the worker exports annotator alpha)."""
    gaps = div.get("gaps")
    if gaps:
        distance = GaugeMetricFamily(
            "flywheel_gap_distance",
            "Total variation distance between the window's clusters and the target",
        )
        distance.add_metric([], gaps["distance"])
        yield distance
        deficit = GaugeMetricFamily(
            "flywheel_gap_deficit",
            "Accepted prompts a topic cluster lacks to reach its target share",
            labels=["cluster"],
        )
        for g in gaps["clusters"]:
            deficit.add_metric([str(g["cluster"])], g["deficit"])
        yield deficit
    dup = GaugeMetricFamily(
        "flywheel_duplicate_rate",
        "Near or exact duplicates among the prompts decided in the window, per cluster and origin",
        labels=["cluster", "origin"],
    )
    acc = GaugeMetricFamily(
        "flywheel_annotator_acceptance",
        "Share of annotators' votes that were positive, per cluster and origin",
        labels=["cluster", "origin"],
    )
    for row in div.get("synthetic_balance", []):
        for origin in ("real", "synthetic"):
            values = [str(row["cluster"]), origin]
            if row[origin]["duplicate_rate"] is not None:
                dup.add_metric(values, row[origin]["duplicate_rate"])
            if row[origin]["acceptance"] is not None:
                acc.add_metric(values, row[origin]["acceptance"])
    yield from (dup, acc)


MAX_BALANCE_ROWS = 64


def _label(topics: TopicModel, cluster: int) -> str:
    return topics.labels[cluster] if 0 <= cluster < len(topics.labels) else ""


def public_agreement(report: dict[str, Any], cold_start: TopicModel) -> dict[str, Any]:
    """The agreement report without annotators' names (they may be people's user names):
    per cluster (of the cold-start model, labelled by its words), the global figures, and the
    spread of the annotators' agreement."""
    labels = cold_start.labels
    rates = sorted(
        a["agreement"] for a in report["annotators"].values() if a.get("agreement") is not None
    )
    return {
        "measure": report["measure"],
        "clusters_model": cold_start.version,
        "mode": report["mode"],
        "agree_min": report["agree_min"],
        "max_rounds": report["max_rounds"],
        "alpha": report["alpha"]["global"],
        "chance_agreement": report["chance_agreement"],
        "clusters": [
            {
                "cluster": c,
                "label": labels[c] if 0 <= c < len(labels) else "",
                "alpha": v["alpha"],
                "prompts": v["prompts"],
                "paired_prompts": v["paired_prompts"],
            }
            for c, v in sorted(report["clusters"].items())
        ],
        "items": report["items"],
        "annotators": len(report["annotators"]),
        "annotator_agreement": {
            "min": rates[0] if rates else None,
            "median": statistics.median(rates) if rates else None,
        },
    }


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
