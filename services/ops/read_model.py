"""What the ops API serves: lag (sampled by a ``LagMonitor``), cluster stats (summed from the
workers' Redis snapshots, with the diversity report of services/ops/diversity_view.py), recent
accepted prompts, operator overrides, Prometheus text (services/ops/exposition.py).

Redis errors propagate to the caller (the HTTP layer answers 503 with the reason), except in
``metrics_text``: the exposition is always served, with ``flywheel_ops_backend_up`` saying
which backend could not be read, so an alert can fire on it."""

from __future__ import annotations

import json
import math
import time
from collections import Counter, deque
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import CollectorRegistry, generate_latest

from services.diversity.quota import entropy_bits
from services.keys import STATS_TTL_S, Keys, text
from services.ops.diversity_view import DiversityView
from services.ops.exposition import Snapshot
from services.ops.lag import ERROR, UNKNOWN, LagMonitor, PartitionLag, worst
from services.ops.lag_store import RedisTrackerStore
from services.ops.overrides import dump_override
from services.settings import Settings


class OpsState:
    def __init__(self, s: Settings, redis: aioredis.Redis) -> None:
        self.s = s
        self.redis = redis
        self.keys = Keys(s.namespace)
        self.store = RedisTrackerStore(s.redis_url.get_secret_value(), s.namespace)
        self.monitor = lag_monitor(s, self.store)
        self.lag: list[PartitionLag] = []
        self.lag_history: deque[dict[str, Any]] = deque(maxlen=600)
        self.stats_history: deque[dict[str, Any]] = deque(maxlen=600)
        self.last_poll = 0.0
        self.error: str | None = None
        self.diversity = DiversityView(s, redis)

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
        live = await self.redis.zrangebyscore(self.keys.workers, time.time() - STATS_TTL_S, "+inf")
        keys = [self.keys.stats(text(w)) for w in live if isinstance(w, bytes | str)]
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
            "diversity": await self.diversity.report(),
        }

    async def recent(self, n: int = 20) -> list[dict[str, Any]]:
        raws = await self.redis.lrange(self.keys.recent, 0, n - 1)
        return [json.loads(r) for r in raws]

    # --- overrides ---------------------------------------------------------------------
    async def overrides(self) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.overrides)
        return {text(k): text(v) for k, v in raw.items()}

    async def set_threshold(self, value: float) -> None:
        await self.redis.hset(self.keys.overrides, "near_dup_threshold", dump_override(value))

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
            Snapshot(self.lag if kafka_up else [], stats, self.s.app_id, kafka_up=kafka_up)
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
