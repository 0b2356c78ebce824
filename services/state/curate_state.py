"""The curate stage's shared state in Redis, behind one port (``CurateState``).

Per micro-batch the stage reads the operator's threshold override, the feedback weights and the
quota window, brings its in-memory indexes up to date with the logs, and at the end commits the
batch's acceptances in one transaction: vector and signature log entries, window counts and the
``acc`` keys the feedback stage looks prompts up by. A crash before the transaction commits
nothing; after it, a replay recognises its own acceptances (services/pipeline/curate.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import redis.asyncio as aioredis

from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import MinHasher
from services.diversity.quota import QuotaPolicy, RedisWindow, Window
from services.keys import Keys
from services.settings import Settings
from services.state.cascade_store import RedisCascadeStore
from services.state.privacy import Origin, RedisPrivacy
from services.state.signature_log import RedisSignatureLog
from services.state.vector_log import RedisVectorLog

Entries = Mapping[str, Sequence[tuple[str, np.ndarray, str]]]  # index -> (pid, payload, owner)


class RedisCurateState:
    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        vectors: RedisVectorLog,
        hasher: MinHasher | None = None,
        cascade: RedisCascadeStore | None = None,
    ) -> None:
        self.redis = redis
        self.cascade = cascade
        self.s = settings
        self.keys = Keys(settings.namespace)
        self.vectors = vectors
        if settings.index_snapshot_dir and vectors.snapshot_dir is None:
            vectors.snapshot_dir = Path(settings.index_snapshot_dir)
        self.signatures = RedisSignatureLog(redis, settings.namespace, hasher or MinHasher())
        self.privacy = RedisPrivacy(redis, settings, vectors, self.signatures, cascade)
        self.window = RedisWindow(
            redis, settings.namespace, settings.quota_window_s, settings.quota_bucket_s
        )

    async def override(self, name: str) -> bytes | str | None:
        return await self.redis.hget(self.keys.overrides, name)

    async def load_window(self, policy: QuotaPolicy, tag: str = "") -> Window:
        weights = await load_weights(self.redis, self.s.namespace)
        return await self.window.load(policy, weights, tag=tag)

    async def sync_vectors(self, name: str, index: VectorIndex) -> int:
        return await self.vectors.sync(name, index)

    async def sync_signatures(self, name: str, index: LshIndex) -> int:
        return await self.signatures.sync(name, index)

    async def commit(
        self,
        vectors: Entries,
        signatures: Entries,
        accepted: Mapping[str, bytes],
        win: Window,
        cascade: tuple[Mapping[str, str], Mapping[str, np.ndarray]] | None = None,
        origins: Mapping[str, Origin] | None = None,
    ) -> None:
        """The batch's acceptances, atomically: logs, window counts, feedback lookup keys, where
        each came from (for erasure), and with the cascade backend the accepted texts and the
        transformer vectors computed."""
        if not accepted and not win.decided and not (cascade and cascade[1]):
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            for name, entries in vectors.items():
                self.vectors.queue_append(pipe, name, entries)
            for name, entries in signatures.items():
                self.signatures.queue_append(pipe, name, entries)
            self.window.increments(pipe, win)
            ttl = self.s.feedback_ttl_s
            for pid, value in accepted.items():
                pipe.set(self.keys.accepted(pid), value, ex=ttl)
            if cascade is not None and self.cascade is not None:
                self.cascade.queue(pipe, *cascade)
            self.privacy.queue(pipe, origins or {})
            await pipe.execute()

    async def erasures_since(self, position: int) -> tuple[list[tuple[str, str]], int]:
        return await self.privacy.erasures_since(position)

    async def maybe_snapshot(self, name: str, index: VectorIndex, erasures: int = 0) -> bool:
        """After a commit (the index holds exactly its log): the dedup horizon's mark, then a
        snapshot every ``index_snapshot_every`` entries (which trims the log behind it), unless
        an erasure came after the first ``erasures`` the index applied."""
        await self.vectors.advance_horizon(name, len(index), self.s.horizon_s)
        every = self.s.index_snapshot_every
        guard = (self.keys.erasures, erasures)  # see RedisVectorLog.snapshot
        return bool(every) and await self.vectors.maybe_snapshot(name, index, every, guard)


async def load_weights(redis: aioredis.Redis, namespace: str) -> dict[int, float]:
    """The feedback stage's quota weight per topic cluster (services/pipeline/feedback.py)."""
    raw = await redis.hgetall(Keys(namespace).weights)
    return {int(k): float(v) for k, v in raw.items()}
