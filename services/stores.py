"""Redis-backed state: exact-duplicate claims and the log of accepted vectors.

Keys hold hashes and ids only, never prompt text or user ids (personal data stays out of Redis).
Every write is idempotent, because Kafka delivers at least once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

import numpy as np
import redis.asyncio as aioredis

from .index import VectorIndex


class RedisSeenStore:
    """Exact de-duplication: the first event to claim a prompt_id owns it.

    Owners are input-message coordinates (topic/partition/offset), not event ids: a producer
    that sends the same event twice makes two messages, and the second is a duplicate, while a
    replay of the same message after a crash is not its own duplicate. ``claim`` returns, per
    item, ``None`` when this message owns the prompt_id, else the owning message's coordinate.
    One pipelined round trip per batch; ``SET NX GET`` makes each claim atomic.
    """

    def __init__(self, redis: aioredis.Redis, namespace: str, ttl_s: int) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:seen:"
        self.ttl_s = ttl_s

    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]:
        if not items:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for pid, owner in items:
                pipe.set(self.prefix + pid, owner, nx=True, get=True, ex=self.ttl_s)
            previous = await pipe.execute()
        out: list[str | None] = []
        for (_, mine), prev in zip(items, previous, strict=True):
            owner = prev.decode() if isinstance(prev, bytes) else prev
            out.append(None if owner is None or owner == mine else owner)
        return out


class RedisVectorLog:
    """Append-only log of accepted vectors per index (language/shard), replayed into FAISS.

    Entry layout: 16 bytes prompt_id, ``dim`` float32, then the owning input message's coordinate in UTF-8.
    ``sync`` loads the entries another process (or an earlier life of this one) appended.
    """

    def __init__(self, redis: aioredis.Redis, namespace: str, dim: int) -> None:
        self.redis = redis
        self.prefix = f"{namespace}:vectors:"
        self.dim = dim
        self._vec_bytes = 4 * dim

    def _key(self, name: str) -> str:
        return self.prefix + name

    def encode(self, pid: str, vector: np.ndarray, event_id: str) -> bytes:
        return bytes.fromhex(pid) + vector.astype(np.float32).tobytes() + event_id.encode()

    async def append(self, name: str, entries: Sequence[tuple[str, np.ndarray, str]]) -> None:
        if entries:
            await self.redis.rpush(self._key(name), *(self.encode(*e) for e in entries))

    async def sync(self, name: str, index: VectorIndex, chunk: int = 10_000) -> int:
        """Add to ``index`` the entries beyond its current size; returns how many were added."""
        added = 0
        total = await self.redis.llen(self._key(name))
        while len(index) < total:
            start = len(index)
            raw = cast(
                list[bytes], await self.redis.lrange(self._key(name), start, start + chunk - 1)
            )
            if not raw:
                break
            ids, owners = [], []
            vecs = np.empty((len(raw), self.dim), dtype=np.float32)
            for i, entry in enumerate(raw):
                ids.append(entry[:16].hex())
                vecs[i] = np.frombuffer(entry[16 : 16 + self._vec_bytes], dtype=np.float32)
                owners.append(entry[16 + self._vec_bytes :].decode())
            index.add(vecs, ids, owners)
            added += len(raw)
        return added
