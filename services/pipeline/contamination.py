"""The contamination check the ingest stage calls (its ``EvalCheck`` port): the registered
evaluation sets, reloaded when they change, matched against each batch's prompts.

A worker reads ``<ns>:evalsets:version`` at most every ``FLYWHEEL_CONTAMINATION_REFRESH_S``
seconds; when it changed, it reads every set (services/state/evalsets.py) and builds a new
matcher (services/dedup/evalsets.py) with the items' vectors from this worker's own model: read
from Redis when a process with the same model stored them (``flywheel evalsets add`` does),
else embedded here once and stored for the other workers. A set added or removed while the
workers run applies from their next refresh on; no restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import numpy as np

from services.contract.records import ContaminatedBy
from services.dedup.evalsets import EvalItem, EvalMatcher, Match
from services.embed.readable import Encoder, Reader
from services.ops.metrics import CONTAMINATED, EVAL_ITEMS
from services.settings import Settings
from services.state.evalsets import Evalset, RedisEvalsets

log = logging.getLogger(__name__)


def embed_items(encoder: Encoder, max_unknown_token_ratio: float, texts: list[str]) -> np.ndarray:
    """One unit row per text, zeros for a text the model cannot read. Blocking."""
    vectors = Reader(encoder, max_unknown_token_ratio).encode(texts)
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for i, vec in enumerate(vectors):
        if vec is not None:
            out[i] = vec
    return out


class ContaminationCheck:
    """``check`` gives, per prompt, the evaluation item it copies or None."""

    def __init__(self, store: RedisEvalsets, encoder: Encoder, settings: Settings) -> None:
        self.store = store
        self.encoder = encoder
        self.s = settings
        self.matcher: EvalMatcher | None = None
        self.version = 0
        self._next_refresh = 0.0

    async def check(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray | None]
    ) -> list[ContaminatedBy | None]:
        """``texts``: the prompts normalized and redacted; ``vectors``: what the model made of
        them (None: it cannot read one). Counts what it finds per set."""
        await self.refresh()
        matcher = self.matcher
        if matcher is None or not texts:
            return [None] * len(texts)
        found = await asyncio.to_thread(matcher.match, texts, vectors)
        hits = [m for m in found if m is not None]
        for m in hits:
            CONTAMINATED.labels(m.evalset, m.method).inc()
        await self.store.record_hits([(m.evalset, m.item_id) for m in hits])
        return [None if m is None else _record(m) for m in found]

    async def refresh(self, force: bool = False) -> None:
        """Rebuild the matcher when the registered sets changed (checked at most every
        ``contamination_refresh_s``, or now with ``force``)."""
        now = time.monotonic()
        if not force and now < self._next_refresh:
            return
        self._next_refresh = now + self.s.contamination_refresh_s
        if await self.store.version() == self.version:
            return
        version, sets = await self.store.load()
        if version < 0:  # changed while reading: the next refresh reads it again
            return
        self.matcher = await self._build(sets) if sets else None
        self.version = version
        EVAL_ITEMS.set(len(self.matcher) if self.matcher else 0)
        log.info(
            "evaluation sets v%d: %d sets, %d items matched",
            version,
            len(sets),
            len(self.matcher) if self.matcher else 0,
        )

    async def _build(self, sets: list[Evalset]) -> EvalMatcher:
        s = self.s
        items: list[EvalItem] = []
        blocks: list[np.ndarray] = []
        for evalset in sets:
            items += [EvalItem(evalset.name, i, t) for i, t in evalset.items]
            if s.contamination_similarity >= 1:
                continue
            fp, dim = self.encoder.fingerprint, self.encoder.dim
            vecs = await self.store.vectors(evalset.name, fp, dim)
            if vecs is None or len(vecs) != len(evalset.items):
                texts = [t for _, t in evalset.items]
                vecs = await asyncio.to_thread(
                    embed_items, self.encoder, s.max_unknown_token_ratio, texts
                )
                await self.store.put_vectors(evalset.name, fp, vecs)
            blocks.append(vecs)
        vectors = np.concatenate(blocks) if blocks else None
        return await asyncio.to_thread(
            EvalMatcher,
            items,
            vectors,
            s.contamination_ngram,
            s.contamination_coverage,
            s.contamination_similarity,
            s.contamination_min_words,
        )


def _record(m: Match) -> ContaminatedBy:
    return ContaminatedBy(evalset=m.evalset, item_id=m.item_id, method=m.method, score=m.score)
