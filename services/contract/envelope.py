"""What a stage reads and writes: the input message, the output record and the DLQ record.

Header names are part of the public contract (docs/contract.md): ``fw-src`` and ``fw-origin``
on every output, ``fw-in-ts`` where the input's timestamp is known, and the ``fw-error*``
headers on dead letters.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

SRC_HEADER = "fw-src"  # the stage's own input message (what its ledger recovers by)
ORIGIN_HEADER = "fw-origin"  # the chat.events message the output accounts for
IN_TS_HEADER = "fw-in-ts"  # timestamp of the chat.events message, for end-to-end latency
ERROR_HEADER = "fw-error"
ERROR_DETAIL_HEADER = "fw-error-detail"
MAX_DETAIL = 1000  # characters of error detail kept in a dead letter


def coord(topic: str, partition: int, offset: int) -> str:
    """The identity of an input message: ``topic/partition/offset``."""
    return f"{topic}/{partition}/{offset}"


@dataclass(frozen=True)
class InMsg:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    timestamp_ms: int | None = None

    @property
    def src(self) -> str:
        return coord(self.topic, self.partition, self.offset)

    @property
    def where(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}"


@dataclass
class Out:
    topic: str
    key: bytes | None
    value: bytes | None  # None: a tombstone (an erased prompt's key on prompts.annotation)
    src: str
    headers: list[tuple[str, bytes]] = field(default_factory=list)
    origin: str | None = None  # input coordinate on chat.events when ``src`` is an internal topic
    label: str = ""  # outcome[:reason] for metrics, e.g. "rejected:near_duplicate"
    partition: int | None = None  # explicit partition (curate shards); None = by key


def dead_letter(msg: InMsg, topic: str, code: str, detail: str) -> Out:
    """The DLQ record of ``msg``: its original key and bytes, and headers saying why and where."""
    return Out(
        topic,
        msg.key,
        msg.value or b"",
        msg.src,
        [
            (ERROR_HEADER, code.encode()),
            (ERROR_DETAIL_HEADER, detail[:MAX_DETAIL].encode("utf-8", "replace")),
            ("fw-topic", msg.topic.encode()),
            ("fw-partition", str(msg.partition).encode()),
            ("fw-offset", str(msg.offset).encode()),
        ],
        label=f"dlq:{code}",
    )


def validation_detail(exc: ValidationError, locations: bool = True) -> str:
    """A pydantic error as one line: ``field: message; ...`` (never the input's value)."""
    return "; ".join(
        f"{'.'.join(map(str, e['loc']))}: {e['msg']}" if locations and e["loc"] else e["msg"]
        for e in exc.errors(include_input=False, include_url=False)
    )


class Sender(Protocol):
    """``await send(...)`` enqueues a record and returns a future resolved on the broker's ack."""

    async def __call__(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list[tuple[str, bytes]],
        partition: int | None = None,
    ) -> Awaitable[Any]: ...
