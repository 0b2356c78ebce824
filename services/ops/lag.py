"""Consumer lag in messages and in seconds, and a Burrow-like status per partition and group.

Lag in seconds is estimated the way kafka-lag-exporter did: the monitor samples each partition's
log-end offset with the time it saw it, keeps a bounded table of (offset, time) observations, and
finds when the log end passed the group's committed offset by linear interpolation between the
two observations around it: ``lag_s = now - t(committed)``. Error: at most the sampling interval
when writes are steady (the true write time of the committed offset lies between the two
observations); when the committed offset is older than the oldest observation the estimate is a
lower bound (``lag_s_exact = False``).

Status, over the last ``window`` samples of a partition (Burrow's rules, simplified):
OK (lag is zero, or the consumer is progressing and lag is not growing), WARN (progressing but
lag grew at every sample), STALL (lag > 0 and the committed offset has not moved for
``stall_after_s``; Faust commits every 2.8 s, so 10 s means several missed commits), STOP (the
same for longer than ``stop_after_s``), REWIND (committed offset went backwards). The stall clock
starts at the later of the last commit and the moment lag became positive, so an idle consumer
that gets new messages is not STOP at once, and a lag of zero a few samples ago does not hide a
stage that stopped since (what ``min(lag) == 0 → OK`` did). A group's status is its worst
partition's; ``UNKNOWN`` before the first sample and ``ERROR`` when the last poll failed.

A one-shot poller (``flywheel lag --once``) sees one sample: the trackers' state is kept in a
``TrackerStore`` (Redis, ``services/ops/lag_store.py``) so that successive invocations, and the
ops server, share the stall clock and the log-end observations.
"""

from __future__ import annotations

import bisect
import contextlib
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

STATUSES = ("OK", "WARN", "STALL", "STOP", "REWIND")
_RANK = {s: i for i, s in enumerate(("OK", "WARN", "REWIND", "STALL", "STOP"))}
UNKNOWN, ERROR = "UNKNOWN", "ERROR"  # group statuses: never polled, last poll failed


@dataclass
class Sample:
    t: float
    end: int
    committed: int


@dataclass
class PartitionLag:
    topic: str
    partition: int
    end: int
    committed: int
    lag: int
    lag_s: float
    lag_s_exact: bool
    status: str
    stuck_s: float = 0.0  # how long lag > 0 with the committed offset unchanged


@dataclass
class PartitionTracker:
    """Observations of one (group, topic, partition)."""

    max_observations: int = 720
    window: int = 10
    stall_after_s: float = 10.0
    stop_after_s: float = 120.0
    ends: deque[tuple[int, float]] = field(default_factory=deque)  # (end offset, time), increasing
    samples: deque[Sample] = field(default_factory=deque)
    stuck_since: float | None = None  # lag > 0 and committed unchanged since then

    def observe(self, t: float, end: int, committed: int) -> None:
        if not self.ends or end > self.ends[-1][0]:
            self.ends.append((end, t))
            while len(self.ends) > self.max_observations:
                self.ends.popleft()
        prev = self.samples[-1] if self.samples else None
        if end <= committed:
            self.stuck_since = None
        elif (
            prev is None
            or prev.committed != committed
            or prev.end <= prev.committed
            or self.stuck_since is None
        ):
            self.stuck_since = t
        self.samples.append(Sample(t, end, committed))
        while len(self.samples) > self.window:
            self.samples.popleft()

    def absorb(
        self, ends: list[tuple[int, float]], samples: list[Sample], stuck: float | None
    ) -> None:
        """Take in what another poller saw (a stored state) when it is newer than ours."""
        if samples and (not self.samples or samples[-1].t > self.samples[-1].t):
            merged = sorted({s.t: s for s in [*self.samples, *samples]}.values(), key=lambda s: s.t)
            self.samples = deque(merged[-self.window :])
            self.stuck_since = stuck
        points = sorted({*self.ends, *ends}, key=lambda p: p[1])
        increasing: list[tuple[int, float]] = []
        for offset, t in points:
            if not increasing or offset > increasing[-1][0]:
                increasing.append((offset, t))
        self.ends = deque(increasing[-self.max_observations :])

    def stuck_seconds(self, now: float) -> float:
        return 0.0 if self.stuck_since is None else max(now - self.stuck_since, 0.0)

    def lag_seconds(self, committed: int, now: float) -> tuple[float, bool]:
        """Seconds since the log end passed ``committed``; (estimate, exact-within-interval)."""
        if not self.ends or committed >= self.ends[-1][0]:
            return 0.0, True
        offsets = [o for o, _ in self.ends]
        i = bisect.bisect_right(offsets, committed)
        if i == 0:  # older than anything observed: a lower bound
            return now - self.ends[0][1], False
        (o1, t1), (o2, t2) = self.ends[i - 1], self.ends[i]
        t_at = t1 + (committed - o1) / (o2 - o1) * (t2 - t1)
        return max(now - t_at, 0.0), True

    def status(self, now: float) -> str:
        s = list(self.samples)
        if not s or s[-1].end <= s[-1].committed:
            return "OK"
        if any(b.committed < a.committed for a, b in zip(s, s[1:], strict=False)):
            return "REWIND"
        stuck = self.stuck_seconds(now)
        if stuck > self.stop_after_s:
            return "STOP"
        if stuck >= self.stall_after_s:
            return "STALL"
        lags = [x.end - x.committed for x in s]
        progressing = s[-1].committed > s[0].committed
        growing = all(b > a for a, b in zip(lags, lags[1:], strict=False))
        if progressing and len(s) >= 3 and min(lags) > 0 and growing:
            return "WARN"
        return "OK"


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda st: _RANK[st], default="OK")


class TrackerStore(Protocol):
    """Where pollers share tracker state (``services/ops/lag_store.py``: Redis)."""

    def load(self, group: str) -> dict[tuple[str, int], PartitionTracker]: ...

    def save(self, group: str, trackers: dict[tuple[str, int], PartitionTracker]) -> None: ...


class LagMonitor:
    """Polls a consumer group's committed offsets and its topics' log ends (kafka-python).

    ``poll()`` takes one sample of every partition and returns the current lag table. The
    clients give up within ``timeout_s`` when the broker cannot be reached, so a poll fails (and the ops
    server says ERROR) instead of blocking for kafka-python's 30 s bootstrap.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: list[str],
        window: int = 10,
        stall_after_s: float = 10.0,
        stop_after_s: float = 120.0,
        store: TrackerStore | None = None,
        timeout_s: float = 3.0,
    ) -> None:
        self.bootstrap, self.group, self.topics = bootstrap, group, topics
        self.window, self.stall_after_s, self.stop_after_s = window, stall_after_s, stop_after_s
        self.store, self.timeout_ms = store, int(timeout_s * 1000)
        self.trackers: dict[tuple[str, int], PartitionTracker] = {}
        self._admin = None
        self._consumer = None

    def _clients(self):
        if self._admin is None:
            from kafka import KafkaConsumer
            from kafka.admin import KafkaAdminClient

            timeouts = {
                "bootstrap_timeout_ms": self.timeout_ms,
                "request_timeout_ms": 10_000,  # a busy broker answers slowly; a dead one fails here
            }
            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, client_id="flywheel-lag", **timeouts
            )
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap,
                group_id=None,
                enable_auto_commit=False,
                **timeouts,
            )
        return self._admin, self._consumer

    def close(self) -> None:
        for client in (self._admin, self._consumer):
            if client is not None:
                client.close()
        self._admin = self._consumer = None

    def poll(self, now: float | None = None) -> list[PartitionLag]:
        from kafka import TopicPartition

        from services.kafka.offsets import end_offsets_sync

        admin, consumer = self._clients()
        tps = [
            TopicPartition(t, p)
            for t in self.topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        ends = end_offsets_sync(consumer, tps)
        try:
            answer = admin.list_group_offsets(self.group)
        except Exception:  # a group that has not joined yet has committed nothing
            answer = {}
        # kafka-python 3 answers {group: {tp: OffsetAndMetadata}}; 2.x answered {tp: ...}.
        offsets = answer.get(self.group, answer) if isinstance(answer, dict) else {}
        committed = {tp: om.offset for tp, om in offsets.items() if hasattr(om, "offset")}
        return self.evaluate(
            time.time() if now is None else now,
            {(tp.topic, tp.partition): ends[tp] for tp in tps},
            {(tp.topic, tp.partition): c for tp, c in committed.items()},
        )

    def evaluate(
        self, now: float, ends: dict[tuple[str, int], int], committed: dict[tuple[str, int], int]
    ) -> list[PartitionLag]:
        """One sample of every partition in ``ends`` (the pure half of ``poll``)."""
        stored = self._load()
        out = []
        for key, end in ends.items():
            c = max(committed.get(key, 0), 0)
            tracker = self.trackers.setdefault(
                key,
                PartitionTracker(
                    window=self.window,
                    stall_after_s=self.stall_after_s,
                    stop_after_s=self.stop_after_s,
                ),
            )
            if key in stored:
                other = stored[key]
                tracker.absorb(list(other.ends), list(other.samples), other.stuck_since)
            tracker.observe(now, end, c)
            lag_s, exact = tracker.lag_seconds(c, now)
            out.append(
                PartitionLag(
                    key[0],
                    key[1],
                    end,
                    c,
                    max(end - c, 0),
                    round(lag_s, 3),
                    exact,
                    tracker.status(now),
                    round(tracker.stuck_seconds(now), 3),
                )
            )
        self._save()
        return out

    def _load(self) -> dict[tuple[str, int], PartitionTracker]:
        if self.store is None:
            return {}
        try:
            return self.store.load(self.group)
        except Exception:  # shared state is a help, not a need: poll alone
            return {}

    def _save(self) -> None:
        if self.store is None:
            return
        with contextlib.suppress(Exception):  # as in _load
            self.store.save(self.group, self.trackers)
