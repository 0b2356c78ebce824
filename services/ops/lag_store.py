"""Lag trackers shared through Redis, so a one-shot ``flywheel lag --once`` (one sample per run)
and several ops servers see the same stall clock and log-end observations.

One hash per consumer group, ``<ns>:lag:<group>``, a field per partition (``topic|partition``)
holding JSON: the last samples, the stall clock and at most ``MAX_ENDS`` log-end observations
(thinned evenly, first and last kept, so lag in seconds stays an interpolation over the whole
span seen). The hash expires a day after the last poll: a group nobody watches leaves nothing.
"""

from __future__ import annotations

import json
from typing import Any

import redis

from services.keys import Keys, text
from services.ops.lag import PartitionTracker, Sample

MAX_ENDS = 64
TTL_S = 24 * 3600


def thin(points: list[Any], keep: int) -> list[Any]:
    """``keep`` evenly spaced items of ``points``, the first and the last among them."""
    if len(points) <= keep:
        return list(points)
    step = (len(points) - 1) / (keep - 1)
    return [points[round(i * step)] for i in range(keep)]


def dump_tracker(tr: PartitionTracker) -> str:
    return json.dumps(
        {
            "samples": [[s.t, s.end, s.committed] for s in tr.samples],
            "stuck_since": tr.stuck_since,
            "ends": thin([[o, t] for o, t in tr.ends], MAX_ENDS),
        }
    )


def load_tracker(raw: str | bytes) -> PartitionTracker:
    data = json.loads(raw)
    tr = PartitionTracker()
    tr.samples.extend(Sample(float(t), int(e), int(c)) for t, e, c in data["samples"])
    tr.ends.extend((int(o), float(t)) for o, t in data["ends"])
    stuck = data["stuck_since"]
    tr.stuck_since = None if stuck is None else float(stuck)
    return tr


class RedisTrackerStore:
    """A ``TrackerStore`` on a synchronous Redis client (the monitor runs in a thread)."""

    def __init__(self, url: str, namespace: str, timeout_s: float = 2.0) -> None:
        self.client = redis.Redis.from_url(
            url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
        )
        self.keys = Keys(namespace)

    def load(self, group: str) -> dict[tuple[str, int], PartitionTracker]:
        out = {}
        for field, raw in self.client.hgetall(self.keys.lag(group)).items():
            name = text(field)
            topic, _, partition = name.rpartition("|")
            try:
                out[(topic, int(partition))] = load_tracker(raw)
            except (ValueError, KeyError, TypeError):  # written by another version: start over
                continue
        return out

    def save(self, group: str, trackers: dict[tuple[str, int], PartitionTracker]) -> None:
        if not trackers:
            return
        key = self.keys.lag(group)
        pipe = self.client.pipeline()
        pipe.hset(key, mapping={f"{t}|{p}": dump_tracker(tr) for (t, p), tr in trackers.items()})
        pipe.expire(key, TTL_S)
        pipe.execute()

    def close(self) -> None:
        self.client.close()
