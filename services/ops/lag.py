"""Consumer lag in messages and in seconds, and a Burrow-like status per partition and group.

Lag in seconds is estimated the way kafka-lag-exporter did: the monitor samples each partition's
log-end offset with the time it saw it, keeps a bounded table of (offset, time) observations, and
finds when the log end passed the group's committed offset by linear interpolation between the
two observations around it: ``lag_s = now - t(committed)``. Error: at most the sampling interval
when writes are steady (the true write time of the committed offset lies between the two
observations); when the committed offset is older than the oldest observation the estimate is a
lower bound (``lag_s_exact = False``).

Status, over the last ``window`` samples of a partition (Burrow's rules, simplified):
OK (lag reached zero, or the consumer is progressing and lag is not growing), WARN (progressing
but lag grew at every sample), STALL (committed offset unchanged for ``stall_after_s`` while
lag > 0; Faust commits every 2.8 s, so 10 s means several missed commits), STOP (unchanged for
longer than ``stop_after_s``), REWIND (committed offset went backwards).
A group's status is its worst partition's.
"""

from __future__ import annotations

import bisect
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

STATUSES = ("OK", "WARN", "STALL", "STOP", "REWIND")
_RANK = {s: i for i, s in enumerate(("OK", "WARN", "REWIND", "STALL", "STOP"))}


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


@dataclass
class PartitionTracker:
    """Observations of one (group, topic, partition)."""

    max_observations: int = 720
    window: int = 10
    stall_after_s: float = 10.0
    stop_after_s: float = 120.0
    ends: deque[tuple[int, float]] = field(default_factory=deque)  # (end offset, time), increasing
    samples: deque[Sample] = field(default_factory=deque)
    last_commit_change: float | None = None

    def observe(self, t: float, end: int, committed: int) -> None:
        if not self.ends or end > self.ends[-1][0]:
            self.ends.append((end, t))
            while len(self.ends) > self.max_observations:
                self.ends.popleft()
        if (
            not self.samples
            or self.samples[-1].committed != committed
            or self.last_commit_change is None
        ):
            self.last_commit_change = t
        self.samples.append(Sample(t, end, committed))
        while len(self.samples) > self.window:
            self.samples.popleft()

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
        if not s:
            return "OK"
        lags = [x.end - x.committed for x in s]
        if lags[-1] <= 0 or min(lags) == 0:
            return "OK"
        if any(b.committed < a.committed for a, b in zip(s, s[1:], strict=False)):
            return "REWIND"
        assert self.last_commit_change is not None
        if now - self.last_commit_change > self.stop_after_s:
            return "STOP"
        if len(s) >= 3 and now - self.last_commit_change >= self.stall_after_s:
            return "STALL"
        progressing = s[-1].committed > s[0].committed
        if progressing and len(s) >= 3 and all(b > a for a, b in zip(lags, lags[1:], strict=False)):
            return "WARN"
        return "OK"


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=lambda st: _RANK[st], default="OK")


class LagMonitor:
    """Polls a consumer group's committed offsets and its topics' log ends (kafka-python).

    ``poll()`` takes one sample of every partition and returns the current lag table.
    """

    def __init__(
        self,
        bootstrap: str,
        group: str,
        topics: list[str],
        window: int = 10,
        stall_after_s: float = 10.0,
        stop_after_s: float = 120.0,
    ) -> None:
        self.bootstrap, self.group, self.topics = bootstrap, group, topics
        self.window, self.stall_after_s, self.stop_after_s = window, stall_after_s, stop_after_s
        self.trackers: dict[tuple[str, int], PartitionTracker] = {}
        self._admin = None
        self._consumer = None

    def _clients(self):  # noqa: ANN202
        if self._admin is None:
            from kafka import KafkaConsumer
            from kafka.admin import KafkaAdminClient

            self._admin = KafkaAdminClient(
                bootstrap_servers=self.bootstrap, client_id="flywheel-lag"
            )
            self._consumer = KafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=None, enable_auto_commit=False
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
        now = time.time() if now is None else now
        tps = [
            TopicPartition(t, p)
            for t in self.topics
            for p in sorted(consumer.partitions_for_topic(t) or ())
        ]
        ends = end_offsets_sync(consumer, tps)
        try:
            answer = admin.list_group_offsets(self.group)
        except Exception:  # noqa: BLE001 - a group that has not joined yet has committed nothing
            answer = {}
        # kafka-python 3 answers {group: {tp: OffsetAndMetadata}}; 2.x answered {tp: ...}.
        offsets = answer.get(self.group, answer) if isinstance(answer, dict) else {}
        committed = {tp: om.offset for tp, om in offsets.items() if hasattr(om, "offset")}
        out = []
        for tp in tps:
            c = max(committed.get(tp, 0), 0)
            tracker = self.trackers.setdefault(
                (tp.topic, tp.partition),
                PartitionTracker(
                    window=self.window,
                    stall_after_s=self.stall_after_s,
                    stop_after_s=self.stop_after_s,
                ),
            )
            tracker.observe(now, ends[tp], c)
            lag_s, exact = tracker.lag_seconds(c, now)
            out.append(
                PartitionLag(
                    tp.topic,
                    tp.partition,
                    ends[tp],
                    c,
                    max(ends[tp] - c, 0),
                    round(lag_s, 3),
                    exact,
                    tracker.status(now),
                )
            )
        return out
