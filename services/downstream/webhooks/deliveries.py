"""Which deliveries were already published: a replayed request is answered 200 and not republished.

A Standard Webhooks signature stays valid for ``TOLERANCE_S``: anyone who captured a request
(a proxy log, a retrying middlebox) can send it again in that window. Each delivery id is claimed
once in Redis (``SET NX EX``) for the same window; after it the timestamp check refuses the
request anyway. The key holds a hash of the delivery id only, never payload data.

The key is ``services.keys.Keys.webhook_delivery``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from typing import Protocol

from services.downstream.webhooks.verify import TOLERANCE_S
from services.keys import Keys


class DeliveryLog(Protocol):
    """``claim`` is true for the first sight of ``(source, delivery_id)`` within the window;
    ``release`` forgets it, so a delivery whose publishing failed is taken when it is retried."""

    async def claim(self, source: str, delivery_id: str) -> bool: ...

    async def release(self, source: str, delivery_id: str) -> None: ...


class _SetNx(Protocol):  # the part of redis.asyncio.Redis used here
    def set(self, name: str, value: bytes, *, ex: int, nx: bool) -> Awaitable[object]: ...

    def delete(self, *names: str) -> Awaitable[object]: ...


class RedisDeliveryLog:
    def __init__(self, redis: _SetNx, namespace: str, ttl_s: int = TOLERANCE_S) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.ttl_s = ttl_s

    def key(self, source: str, delivery_id: str) -> str:
        digest = hashlib.sha256(delivery_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.keys.webhook_delivery(source, digest)

    async def claim(self, source: str, delivery_id: str) -> bool:
        return bool(
            await self.redis.set(self.key(source, delivery_id), b"1", ex=self.ttl_s, nx=True)
        )

    async def release(self, source: str, delivery_id: str) -> None:
        await self.redis.delete(self.key(source, delivery_id))
