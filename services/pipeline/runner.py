"""Runs one stage's micro-batch with exactly-once outputs (see ``services.state.ledger``)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

from services.contract.envelope import ORIGIN_HEADER, SRC_HEADER, InMsg, Out, Sender
from services.kafka.offsets import end_offsets_async
from services.state.ledger import EmitLedger, PartitionProgress, Pending, find_emitted, mark

log = logging.getLogger(__name__)


Process = Callable[[Sequence[InMsg]], Awaitable[list[Out]]]


async def end_offsets(bootstrap: str, topics: Sequence[str]) -> dict[str, int]:
    """Current end offset of every partition of ``topics``, as ``{"topic:partition": offset}``."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = []
        for topic in topics:
            parts = consumer.partitions_for_topic(topic)
            if parts is None:
                await consumer._client.force_metadata_update()  # noqa: SLF001
                parts = consumer.partitions_for_topic(topic) or set()
            tps += [TopicPartition(topic, p) for p in parts]
        ends = await end_offsets_async(consumer, tps)
        return {mark(tp.topic, tp.partition): off for tp, off in ends.items()}
    finally:
        await consumer.stop()


class StageRunner:
    """Applies a stage's ``process`` to a micro-batch and produces each output exactly once."""

    def __init__(
        self,
        stage: str,
        ledger: EmitLedger,
        send: Sender,
        bootstrap: str,
        output_topics: Sequence[str],
    ) -> None:
        self.stage = stage
        self.ledger = ledger
        self.send = send
        self.bootstrap = bootstrap
        self.output_topics = list(output_topics)
        self.marks: dict[str, int] | None = None
        self.skipped_replays = 0
        self.recovered = 0

    async def run_batch(self, msgs: Sequence[InMsg], process: Process) -> list[Out]:
        """Process ``msgs`` (in offset order per partition); returns the outputs produced."""
        if self.marks is None:
            self.marks = await end_offsets(self.bootstrap, self.output_topics)
        progress = await self.ledger.load((m.topic, m.partition) for m in msgs)
        todo = [m for m in msgs if m.offset >= progress[(m.topic, m.partition)].upto]
        self.skipped_replays += len(msgs) - len(todo)
        already = await self._recover(todo, progress)
        outs = [o for o in await process(todo) if o.src not in already]

        ranges: dict[tuple[str, int], tuple[int, int]] = {}
        for m in todo:
            first, _ = ranges.get((m.topic, m.partition), (m.offset, m.offset))
            ranges[(m.topic, m.partition)] = (first, m.offset)
        before = {tp: progress[tp] for tp in ranges}
        await self.ledger.save(
            {
                tp: PartitionProgress(before[tp].upto, self._pending(before[tp], r))
                for tp, r in ranges.items()
            }
        )
        futures = [await self.send(o.topic, o.key, o.value, _headers(o), o.partition) for o in outs]
        for md in await asyncio.gather(*futures):
            key = mark(md.topic, md.partition)
            self.marks[key] = max(self.marks.get(key, 0), md.offset + 1)
        await self.ledger.save(
            {
                tp: PartitionProgress(last + 1, _still_pending(before[tp], last))
                for tp, (_, last) in ranges.items()
            }
        )
        return outs

    def _pending(self, before: PartitionProgress, rng: tuple[int, int]) -> Pending:
        old = before.pending
        if old is not None and old.last > rng[1]:
            # A replay of a larger crashed batch: keep its earlier marks until it is passed.
            return Pending(rng[0], old.last, old.marks)
        if self.marks is None:  # set by run_batch before any _pending
            raise RuntimeError("output marks not loaded")
        return Pending(rng[0], rng[1], dict(self.marks))

    async def _recover(
        self, todo: Sequence[InMsg], progress: dict[tuple[str, int], PartitionProgress]
    ) -> set[str]:
        wanted: dict[tuple[str, int], set[str]] = {}
        for m in todo:
            pend = progress[(m.topic, m.partition)].pending
            if pend is not None and pend.covers(m.offset):
                wanted.setdefault((m.topic, m.partition), set()).add(m.src)
        found: set[str] = set()
        for tp, coords in wanted.items():
            pend = progress[tp].pending
            if pend is None:  # wanted only holds partitions with a pending batch
                continue
            hit = await find_emitted(self.bootstrap, pend, coords)
            log.warning(
                "%s: replay of %s[%d] %d-%d after a crash: %d of %d outputs already produced",
                self.stage,
                tp[0],
                tp[1],
                pend.first,
                pend.last,
                len(hit),
                len(coords),
            )
            found |= hit
        self.recovered += len(found)
        return found


def _still_pending(before: PartitionProgress, last: int) -> Pending | None:
    old = before.pending
    return old if old is not None and old.last > last else None


def _headers(out: Out) -> list[tuple[str, bytes]]:
    origin = out.origin or out.src
    return [(SRC_HEADER, out.src.encode()), (ORIGIN_HEADER, origin.encode()), *out.headers]
