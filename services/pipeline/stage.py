"""The stage base: what every stage of the pipeline has in common.

A stage turns a micro-batch of input messages into output records (``process``); the runtime
(``services.pipeline.runtime``) runs it under the exactly-once runner, retries transient
failures and isolates poison messages. Outcomes are counted once, by the label of each output
(``Out.label``, ``accepted`` / ``rejected:<reason>`` / ``dlq:<code>`` / ``forwarded``:
``flywheel_events_out_total{stage, outcome, reason}``); ``count`` is for what a stage did that is
no output (``flywheel_stage_outcomes_total{stage, outcome}``: a re-decided batch, vectors the
cascade encoded). Rejections and dead letters are built by one helper each (``rejected``,
``dead_letter``, which never logs the message's content).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from typing import ClassVar

from services.contract.envelope import IN_TS_HEADER, InMsg, Out, dead_letter
from services.contract.records import ContaminatedBy, Reason, RejectionRecord, now_utc
from services.ops.metrics import STAGE_OUTCOMES
from services.settings import Settings

log = logging.getLogger(__name__)


class Stage:
    """Subclasses set ``name`` and implement ``process``; ``setup``, ``before_batch``,
    and ``reset`` are optional hooks."""

    name: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.counts: Counter[str] = Counter()

    def output_topics(self) -> list[str]:
        """Topics this stage writes (the runner scans them to recover after a crash)."""
        return [self.s.topic_dlq]

    async def setup(self) -> None:
        """Load what the stage needs before its first batch (files, models)."""

    async def before_batch(self) -> None:
        """Refresh per-batch state (operator overrides) before ``process``."""

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        raise NotImplementedError

    def reset(self) -> None:
        """Forget in-memory state after a failed batch; it reloads from Redis."""

    def count(self, outcome: str, n: int = 1) -> None:
        self.counts[outcome] += n
        STAGE_OUTCOMES.labels(self.name, outcome).inc(n)

    def dead_letter(self, msg: InMsg, code: str, detail: str) -> Out:
        """The DLQ record of ``msg``, logged (the detail may quote the input, so only the code
        is logged)."""
        log.warning("%s dead-lettered %s: %s", self.name, msg.where, code)
        out = dead_letter(msg, self.s.topic_dlq, code, detail)
        out.headers += in_ts_headers(msg.timestamp_ms)
        return out

    def rejected(
        self,
        src: str,
        event_id: str,
        reason: Reason,
        lang: str | None,
        headers: list[tuple[str, bytes]],
        origin: str | None = None,
        duplicate_of: str | None = None,
        similarity: float | None = None,
        contaminated_by: ContaminatedBy | None = None,
    ) -> Out:
        """The rejection record of one event (ingest's and curate's alike)."""
        rec = RejectionRecord(
            event_id=event_id,
            reason=reason,
            duplicate_of=duplicate_of,
            similarity=similarity,
            contaminated_by=contaminated_by,
            lang=lang,
            ts=now_utc(),
        )
        value = rec.model_dump_json().encode()
        label = f"rejected:{reason}"
        return Out(self.s.topic_rejected, event_id.encode(), value, src, headers, origin, label)


def in_ts_headers(ts_ms: int | None) -> list[tuple[str, bytes]]:
    return [] if ts_ms is None else [(IN_TS_HEADER, str(ts_ms).encode())]
