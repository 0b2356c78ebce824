"""Downstream: read curated prompts as validated records.

``Subscriber`` follows ``prompts.annotation`` (its own consumer group, or none) and yields
``AnnotationRecord``s that pass the filters; records that fail validation are counted and
skipped, never raised. What a record becomes in a file (chat lines, annotation tasks):
``services/downstream/exports.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from services.contract.records import AnnotationRecord
from services.kafka.offsets import end_offsets_sync
from services.settings import Settings


@dataclass
class Filters:
    langs: set[str] = field(default_factory=set)
    sources: set[str] = field(default_factory=set)
    clusters: set[int] = field(default_factory=set)  # topic clusters (AnnotationRecord.cluster)

    def keep(self, rec: AnnotationRecord) -> bool:
        return (
            (not self.langs or rec.lang in self.langs)
            and (not self.sources or rec.source in self.sources)
            and (not self.clusters or rec.cluster in self.clusters)
        )


class Subscriber:
    def __init__(
        self, s: Settings, group: str | None = None, filters: Filters | None = None
    ) -> None:
        self.s, self.group, self.filters = s, group, filters or Filters()
        self.invalid = 0

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self.s.kafka_bootstrap,
            group_id=self.group,
            enable_auto_commit=self.group is not None,
            auto_offset_reset="earliest",
            consumer_timeout_ms=1000,
        )

    def _parse(self, value: bytes | None) -> AnnotationRecord | None:
        if value is None:  # a tombstone: the prompt was erased (docs/privacy.md)
            return None
        try:
            rec = AnnotationRecord.model_validate_json(value)
        except ValidationError:
            self.invalid += 1
            return None
        return rec if self.filters.keep(rec) else None

    def follow(self) -> Iterator[AnnotationRecord]:
        """Forever: new records as they arrive (from the group's position, or the beginning)."""
        consumer = self._consumer()
        consumer.subscribe([self.s.topic_annotation])
        try:
            while True:
                for records in consumer.poll(timeout_ms=1000).values():
                    for r in records:
                        rec = self._parse(r.value)
                        if rec is not None:
                            yield rec
        finally:
            consumer.close()

    def snapshot(self) -> Iterator[AnnotationRecord]:
        """Everything on the topic now, from the beginning to the current end, then stop;
        without the prompts erased since (a tombstone for their key follows them: one pass finds
        the tombstones, a second yields the rest)."""
        erased = {r.key for r in self._read() if r.value is None}
        for r in self._read():
            if r.key not in erased:
                rec = self._parse(r.value)
                if rec is not None:
                    yield rec

    def _read(self) -> Iterator[Any]:
        consumer = KafkaConsumer(
            bootstrap_servers=self.s.kafka_bootstrap, group_id=None, enable_auto_commit=False
        )
        try:
            parts = consumer.partitions_for_topic(self.s.topic_annotation) or set()
            tps = [TopicPartition(self.s.topic_annotation, p) for p in sorted(parts)]
            ends = end_offsets_sync(consumer, tps)
            todo = {tp for tp in tps if ends[tp] > 0}
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            while todo:
                for tp, records in consumer.poll(timeout_ms=1000).items():
                    yield from (r for r in records if r.offset < ends[tp])
                todo = {tp for tp in todo if consumer.position(tp) < ends[tp]}
        finally:
            consumer.close()
