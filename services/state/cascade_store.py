"""The cascade's Redis state: redacted texts and transformer vectors of accepted prompts.

Written in the curate commit's transaction (``queue``), read when a later prompt's static
candidates need verifying (``services/dedup/cascade.py``). Both expire with the retention the
settings give (``cascade_ttl_s``, else the dedup horizon, which is at most the retention period):
a candidate past it is judged by its static cosine alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.keys import Keys, text
from services.settings import Settings


def retention_s(s: Settings) -> int:
    return s.cascade_ttl_s or s.horizon_s


class RedisCascadeStore:
    def __init__(
        self, redis: aioredis.Redis, namespace: str, model: str, ttl_s: int | None = None
    ) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.model = hashlib.sha256(model.encode()).hexdigest()[:12]
        self.ttl_s = ttl_s

    async def vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]:
        if not pids:
            return {}
        raw = await self.redis.mget([self.keys.cascade_vector(self.model, p) for p in pids])
        out = {}
        for pid, value in zip(pids, raw, strict=True):
            if isinstance(value, bytes) and value:
                v = np.frombuffer(value, dtype=np.float16).astype(np.float32)
                out[pid] = v / (np.linalg.norm(v) or 1.0)
        return out

    async def texts(self, pids: Sequence[str]) -> dict[str, str]:
        if not pids:
            return {}
        raw = await self.redis.mget([self.keys.cascade_text(p) for p in pids])
        return {pid: text(v) for pid, v in zip(pids, raw, strict=True) if v is not None}

    def queue_forget(self, pipe: Pipeline, pids: Sequence[str]) -> None:
        """Delete the prompts' texts and transformer vectors (an erasure)."""
        for pid in pids:
            pipe.delete(self.keys.cascade_text(pid), self.keys.cascade_vector(self.model, pid))

    def queue(
        self, pipe: Pipeline, texts: Mapping[str, str], vectors: Mapping[str, np.ndarray]
    ) -> None:
        """The batch's accepted texts, and the transformer vectors computed for them."""
        for pid, t in texts.items():
            pipe.set(self.keys.cascade_text(pid), t.encode(), ex=self.ttl_s)
        for pid, vec in vectors.items():
            pipe.set(
                self.keys.cascade_vector(self.model, pid),
                np.asarray(vec, dtype=np.float16).tobytes(),
                ex=self.ttl_s,
            )
