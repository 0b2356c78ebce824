"""The accepted set as ``flywheel reindex`` reads it: the records of ``prompts.annotation``.

Their text is the cleaned, redacted text the curate stage decided on. The topic is read from
its earliest retained offset to the end it had when opened (the larger of ListOffsets and the
fetch high watermark, services/kafka/offsets.py: the dev broker lists ends too small), with a
consumer of its own (no group, nothing committed). Each record's owner is the ``chat.events``
message it was accepted from (the ``fw-origin`` header).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from services.contract.conversation import followed, request_key
from services.contract.envelope import ORIGIN_HEADER, SRC_HEADER
from services.contract.records import AnnotationRecord
from services.kafka.offsets import end_offsets_sync

UNKNOWN_OWNER = "reindex"  # owner of an entry whose record carries no coordinate header


@dataclass(frozen=True)
class Accepted:
    """What reindexing needs of one ``prompts.annotation`` record."""

    prompt_id: str
    text: str
    lang: str
    owner: str  # the chat.events coordinate it was accepted from
    synthetic: bool = False
    context_id: str | None = None
    key: str = ""  # what near duplicates are judged on (the text, after what a follow-up follows)


def parse_record(value: bytes | None, headers: Sequence[tuple[str, bytes]] | None) -> Accepted:
    """An annotation record as ``Accepted``; raises ``ValueError`` when it is not one."""
    try:
        rec = AnnotationRecord.model_validate_json(value or b"")
    except ValidationError as exc:
        raise ValueError(f"not an annotation record ({exc.error_count()} errors)") from None
    found = dict(headers or [])
    raw = found.get(ORIGIN_HEADER) or found.get(SRC_HEADER)
    owner = raw.decode("utf-8", "replace") if raw else UNKNOWN_OWNER
    follows = None
    if rec.follows and rec.messages:
        follows = followed([(m.role, m.content) for m in rec.messages[:-1]])
    key = request_key(follows, rec.text)
    synthetic = rec.source == "synthetic"
    return Accepted(rec.prompt_id, rec.text, rec.lang, owner, synthetic, rec.context_id, key)


class AnnotationReader:
    """The records of one topic from the beginning to the end it had when opened, in batches
    of ``(value, headers)`` (headers as ``(str, bytes)`` pairs)."""

    def __init__(self, bootstrap: str, topic: str, batch: int = 512, stall_s: float = 60.0) -> None:
        self.topic = topic
        self.batch = batch
        self.stall_s = stall_s
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        parts = self.consumer.partitions_for_topic(topic)
        if not parts:
            self.consumer.close()
            raise LookupError(f"topic {topic} does not exist (FLYWHEEL_TOPIC_ANNOTATION)")
        self.tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.ends = end_offsets_sync(self.consumer, self.tps)
        self.consumer.seek_to_beginning(*self.tps)
        self.starts = {tp: self.consumer.position(tp) for tp in self.tps}

    @property
    def total(self) -> int:
        return sum(max(self.ends[tp] - self.starts[tp], 0) for tp in self.tps)

    def batches(self) -> Iterator[list[tuple[bytes | None, list[tuple[str, bytes]]]]]:
        todo = {tp for tp in self.tps if self.consumer.position(tp) < self.ends[tp]}
        out: list[tuple[bytes | None, list[tuple[str, bytes]]]] = []
        moved = time.monotonic()
        while todo:
            polled = self.consumer.poll(timeout_ms=1000, max_records=self.batch)
            if polled:
                moved = time.monotonic()
            elif time.monotonic() - moved > self.stall_s:
                raise TimeoutError(
                    f"{self.topic}: nothing read for {self.stall_s:g} s before its end "
                    f"({', '.join(f'{tp.partition}@{self.consumer.position(tp)}' for tp in todo)})"
                )
            for tp, records in polled.items():
                for rec in records:
                    if rec.offset < self.ends[tp]:
                        out.append((rec.value, list(rec.headers or [])))
            todo = {tp for tp in todo if self.consumer.position(tp) < self.ends[tp]}
            if len(out) >= self.batch or (out and not todo):
                yield out
                out = []

    def close(self) -> None:
        self.consumer.close()
