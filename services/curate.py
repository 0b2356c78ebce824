"""Curate stage: curate items -> accepted (``prompts.annotation``) or ``near_duplicate``.

One FAISS index per language. Before each batch the indexes catch up with the Redis vector log
(another worker may have owned the partition before); accepted vectors are appended to the log
before any output is produced, so a crash never forgets an acceptance that was published.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np
from pydantic import ValidationError

from .contract import (
    AnnotationRecord,
    CurateItem,
    Nearest,
    Reason,
    RejectionRecord,
    Scores,
    now_utc,
)
from .index import Candidate, Decision, GreedyCurator, VectorIndex
from .ingest import IN_TS_HEADER
from .runner import InMsg, Out, dead_letter
from .settings import Settings
from .stores import RedisVectorLog

log = logging.getLogger(__name__)


class CurateStage:
    def __init__(self, settings: Settings, vectors: RedisVectorLog, dim: int) -> None:
        self.s = settings
        self.vectors = vectors
        self.dim = dim
        self.indexes: dict[str, VectorIndex] = {}
        self.counts: Counter[str] = Counter()
        self.threshold = settings.near_dup_threshold  # the ops API may override it at run time

    def index(self, name: str) -> VectorIndex:
        if name not in self.indexes:
            self.indexes[name] = VectorIndex(self.dim)
        return self.indexes[name]

    def reset(self) -> None:
        """Forget in-memory indexes (after a failed batch); they reload from the Redis log."""
        self.indexes.clear()

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        items: list[tuple[InMsg, CurateItem]] = []
        outs: list[Out] = []
        for msg in msgs:
            try:
                items.append((msg, CurateItem.model_validate_json(msg.value or b"")))
            except ValidationError as exc:  # only a foreign producer on our internal topic
                outs.append(self._dlq(msg, exc))
        by_index: dict[str, list[tuple[InMsg, CurateItem]]] = defaultdict(list)
        for msg, item in items:
            by_index[item.lang].append((msg, item))
        for name, group in by_index.items():
            outs += await self._curate(name, group)
        return outs

    async def _curate(self, name: str, group: list[tuple[InMsg, CurateItem]]) -> list[Out]:
        index = self.index(name)
        await self.vectors.sync(name, index)
        semantic = [(m, it) for m, it in group if it.vector is not None]
        cands = [Candidate(it.prompt_id, it.src, _vector(it.vector)) for _, it in semantic]
        loop = asyncio.get_running_loop()
        decisions = await loop.run_in_executor(None, self._decide, index, cands)
        by_src = {it.src: d for (_, it), d in zip(semantic, decisions, strict=True)}
        await self.vectors.append(
            name,
            [
                (c.prompt_id, c.vector, c.owner)
                for c, d in zip(cands, decisions, strict=True)
                if d.accepted and not d.replayed
            ],
        )
        return [self._emit(msg, item, by_src.get(item.src)) for msg, item in group]

    def _decide(self, index: VectorIndex, cands: list[Candidate]) -> list[Decision]:
        return GreedyCurator(index, self.threshold).decide(cands)

    def _emit(self, msg: InMsg, item: CurateItem, d: Decision | None) -> Out:
        headers = [] if item.in_ts_ms is None else [(IN_TS_HEADER, str(item.in_ts_ms).encode())]
        if d is not None and not d.accepted:
            reason = Reason.EXACT_DUPLICATE if d.exact_duplicate else Reason.NEAR_DUPLICATE
            self.counts[f"rejected_{reason}"] += 1
            rej = RejectionRecord(
                event_id=item.event_id,
                reason=reason,
                duplicate_of=d.nearest_id,
                similarity=d.similarity,
                lang=item.lang,
                ts=now_utc(),
            )
            return Out(
                self.s.topic_rejected,
                item.event_id.encode(),
                rej.model_dump_json().encode(),
                msg.src,
                headers,
                item.src,
                label=f"rejected:{reason}",
            )
        self.counts["accepted"] += 1
        if d is None:
            scores, nearest, check = Scores(novelty=None), None, "skipped_unknown_tokens"
        else:
            sim = d.similarity
            scores = Scores(novelty=1.0 if sim is None else round(1.0 - max(sim, 0.0), 6))
            nearest = (
                None
                if d.nearest_id is None
                else Nearest(prompt_id=d.nearest_id, similarity=sim or 0.0)
            )
            check = "faiss"
        rec = AnnotationRecord(
            prompt_id=item.prompt_id,
            event_id=item.event_id,
            text=item.text,
            lang=item.lang,
            source=item.source,
            user=item.user,
            scores=scores,
            nearest=nearest,
            semantic_check=check,
            pii=item.pii,
            accepted_at=now_utc(),
        )
        return Out(
            self.s.topic_annotation,
            item.prompt_id.encode(),
            rec.model_dump_json().encode(),
            msg.src,
            headers,
            item.src,
            label="accepted",
        )

    def _dlq(self, msg: InMsg, exc: ValidationError) -> Out:
        self.counts["dlq_invalid_curate_item"] += 1
        log.warning("dead-lettered %s: invalid curate item", msg.where)
        detail = "; ".join(e["msg"] for e in exc.errors(include_input=False))
        return dead_letter(msg, self.s.topic_dlq, "invalid_curate_item", detail)


def _vector(b64: str | None) -> np.ndarray:
    assert b64 is not None
    return np.frombuffer(base64.b64decode(b64), dtype=np.float32)
