"""Exactly-once emission on top of at-least-once Kafka delivery.

Every input message must end in exactly one output record, also when a worker dies between
producing its outputs and committing its input offsets. A stage processes each input partition
in offset order, so its progress fits in two small facts per input partition, kept in Redis:

- ``upto``: every offset below it has had its outputs produced and acknowledged;
- ``pending``: the offset range of the batch being produced now, with the end offsets the output
  partitions had before it (``marks``).

Before producing a batch the stage writes ``pending``; after the broker acknowledges every output
it advances ``upto`` and clears ``pending``. On a replay, offsets below ``upto`` are skipped; for
offsets inside a ``pending`` range the output partitions are scanned from ``marks`` for records
whose ``fw-src`` header names that input message, and only the missing outputs are produced.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.contract.envelope import SRC_HEADER
from services.kafka.offsets import end_offsets_async
from services.keys import Keys


@dataclass
class Pending:
    first: int
    last: int
    marks: dict[str, int]  # "topic:partition" -> end offset before the batch was produced

    def covers(self, offset: int) -> bool:
        return self.first <= offset <= self.last


@dataclass
class PartitionProgress:
    upto: int = 0
    pending: Pending | None = None

    def to_json(self) -> str:
        pend = None if self.pending is None else self.pending.__dict__
        return json.dumps({"upto": self.upto, "pending": pend})

    @classmethod
    def from_json(cls, raw: bytes | str | None) -> PartitionProgress:
        if raw is None:
            return cls()
        data = json.loads(raw)
        pend = data.get("pending")
        return cls(data["upto"], Pending(**pend) if pend else None)


@dataclass
class EmitLedger:
    """Progress of one stage (``stage``) per input partition, in one Redis hash."""

    redis: aioredis.Redis
    namespace: str
    stage: str
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = Keys(self.namespace).ledger(self.stage)

    async def load(
        self, tps: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], PartitionProgress]:
        tps = sorted(set(tps))
        if not tps:
            return {}
        raws = await self.redis.hmget(self.key, [f"{t}:{p}" for t, p in tps])
        return {tp: PartitionProgress.from_json(raw) for tp, raw in zip(tps, raws, strict=True)}

    async def save(self, progress: dict[tuple[str, int], PartitionProgress]) -> None:
        if progress:
            await self.redis.hset(
                self.key, mapping={f"{t}:{p}": pp.to_json() for (t, p), pp in progress.items()}
            )


async def find_emitted(bootstrap: str, pending: Pending, wanted: set[str]) -> set[str]:
    """Scan output partitions from ``pending.marks`` to their end; return the wanted ``fw-src``
    coordinates found. Only called after a crash, for the one batch that was in flight."""
    tps = {TopicPartition(*_split_mark(m)): off for m, off in pending.marks.items()}
    found: set[str] = set()
    if not tps or not wanted:
        return found
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await end_offsets_async(consumer, list(tps))
        todo = {tp for tp in tps if ends[tp] > tps[tp]}
        for tp in todo:
            consumer.seek(tp, tps[tp])
        while todo:
            batches = await consumer.getmany(*todo, timeout_ms=1000)
            for tp, records in batches.items():
                for rec in records:
                    src = dict(rec.headers or ()).get(SRC_HEADER)
                    if src is not None and src.decode() in wanted:
                        found.add(src.decode())
                    if rec.offset + 1 >= ends[tp]:
                        todo.discard(tp)
            for tp in list(todo):
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
    finally:
        await consumer.stop()
    return found


def _split_mark(mark: str) -> tuple[str, int]:
    topic, _, part = mark.rpartition(":")
    return topic, int(part)


def mark(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"
