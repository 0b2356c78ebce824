"""Reads the output topics back and checks the accounting invariant.

Every message on the input topic must end in exactly one of: ``prompts.annotation``,
``prompts.rejected``, ``chat.events.dlq``. Outputs carry the ``fw-src`` header (input topic,
partition, offset), so the check is exact: no input missing, none counted twice.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from kafka import KafkaConsumer, TopicPartition

from services.contract.envelope import IN_TS_HEADER, ORIGIN_HEADER
from services.kafka.offsets import end_offsets_sync
from services.settings import Settings


@dataclass
class Outputs:
    accepted: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    dlq: list[dict] = field(default_factory=list)  # headers only; the raw bytes stay in the topic
    srcs: Counter[str] = field(default_factory=Counter)
    timings: list[tuple[int, int]] = field(default_factory=list)  # (input ms, output ms)
    last_output_ms: int = 0
    first_input_ms: int = 0  # earliest input timestamp among the outputs read

    @property
    def total(self) -> int:
        return len(self.accepted) + len(self.rejected) + len(self.dlq)

    @property
    def latencies_ms(self) -> list[float]:
        return [o - i for i, o in self.timings]

    def latencies_since(self, since_ms: float) -> list[float]:
        return [o - i for i, o in self.timings if i >= since_ms]

    def reasons(self) -> Counter[str]:
        return Counter(r["reason"] for r in self.rejected)

    def duplicated_srcs(self) -> list[str]:
        return [s for s, n in self.srcs.items() if n > 1]

    def duplicated_prompt_ids(self) -> list[str]:
        c = Counter(r["prompt_id"] for r in self.accepted)
        return [p for p, n in c.items() if n > 1]

    def missing(self, topic: str, end_offsets: dict[int, int]) -> list[str]:
        """Input coordinates with no output at all."""
        return [
            f"{topic}/{p}/{o}"
            for p, end in end_offsets.items()
            for o in range(end)
            if f"{topic}/{p}/{o}" not in self.srcs
        ]


def _consumer(bootstrap: str) -> KafkaConsumer:
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        group_id=None,
        consumer_timeout_ms=1000,
        max_partition_fetch_bytes=16 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )


def topic_end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    consumer = _consumer(bootstrap)
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        ends = end_offsets_sync(consumer, [TopicPartition(topic, p) for p in parts])
        return {tp.partition: off for tp, off in ends.items()}
    finally:
        consumer.close()


def read_outputs(s: Settings) -> Outputs:
    """Everything on the three output topics, from the beginning to their current end."""
    out = Outputs()
    for rec in read_records(s.kafka_bootstrap, [s.topic_annotation, s.topic_rejected, s.topic_dlq]):
        _add(out, s, rec)
    return out


def read_records(bootstrap: str, topics: list[str]) -> list:
    """Every record of ``topics``, from the beginning to their current end."""
    out: list = []
    consumer = _consumer(bootstrap)
    try:
        tps = [
            TopicPartition(t, p)
            for t in topics
            for p in (consumer.partitions_for_topic(t) or set())
        ]
        if not tps:
            return out
        ends = end_offsets_sync(consumer, tps)
        todo = {tp for tp in tps if ends[tp] > 0}
        consumer.seek_to_beginning(*tps)
        while todo:
            for tp, records in consumer.poll(timeout_ms=1000, max_records=5000).items():
                out.extend(records)
                if consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
            todo = {tp for tp in todo if consumer.position(tp) < ends[tp]}
    finally:
        consumer.close()
    return out


def _add(out: Outputs, s: Settings, rec) -> None:
    headers = {k: v for k, v in (rec.headers or [])}
    src = headers.get(ORIGIN_HEADER, b"").decode()
    if rec.topic == s.topic_dlq:
        out.dlq.append({k: v.decode(errors="replace") for k, v in headers.items()})
    elif rec.topic == s.topic_annotation:
        if rec.value is None:  # an erasure's tombstone: no event's outcome
            return
        out.accepted.append(json.loads(rec.value))
    else:
        out.rejected.append(json.loads(rec.value))
    out.srcs[src] += 1
    if IN_TS_HEADER in headers:
        in_ts = int(headers[IN_TS_HEADER])
        out.timings.append((in_ts, rec.timestamp))
        out.first_input_ms = min(out.first_input_ms or in_ts, in_ts)
    out.last_output_ms = max(out.last_output_ms, rec.timestamp)
