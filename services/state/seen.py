"""Exact de-duplication claims in Redis: the first input message to claim a prompt_id owns it.

Keys hold hashes and ids only, never prompt text or user ids (personal data stays out of Redis).
A claim is idempotent, because Kafka delivers at least once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import redis.asyncio as aioredis

from services.keys import Keys


class RedisSeenStore:
    """Exact de-duplication: the first event to claim a prompt_id owns it.

    Owners are input-message coordinates (topic/partition/offset), not event ids: a producer
    that sends the same event twice makes two messages, and the second is a duplicate, while a
    replay of the same message after a crash is not its own duplicate. ``claim`` returns, per
    item, ``None`` when this message owns the prompt_id, else the owning message's coordinate.
    One round trip per batch: a script runs ``SET NX GET`` for every item (each claim atomic,
    as a pipeline of them was, without a command to pack and a reply to parse per item).
    """

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        ttl_s: int,
        key: Callable[[str], str] | None = None,
    ) -> None:
        self.redis = redis
        self.key = Keys(namespace).seen if key is None else key
        self.ttl_s = ttl_s
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    @classmethod
    def event_ids(cls, redis: aioredis.Redis, namespace: str, ttl_s: int) -> RedisSeenStore:
        """The same claims over event ids (hashed: an id may be anything a producer sends)."""
        return cls(redis, namespace, ttl_s, Keys(namespace).event)

    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]:
        if not items:
            return []
        keys = [self.key(pid) for pid, _ in items]
        previous = await self._claim(keys, [self.ttl_s, *(owner for _, owner in items)])
        out: list[str | None] = []
        for (_, mine), prev in zip(items, previous, strict=True):
            owner = prev.decode() if isinstance(prev, bytes) else None  # false: nobody had it
            out.append(None if owner is None or owner == mine else owner)
        return out

    async def release(self, items: Sequence[tuple[str, str]]) -> None:
        """Drop the claims ``items`` (key, owner) still owned by that owner: a prompt rejected
        after its claim for a reason that may not hold later (a registered evaluation set it
        copied may be removed) must not make its next copy a duplicate."""
        if items:
            await self._release([self.key(k) for k, _ in items], [o for _, o in items])


# KEYS: the claims; ARGV: one owner per key. Deletes each key its owner still holds.
_RELEASE = """
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then redis.call('DEL', key) end
end
return 0
"""

# KEYS: the claims; ARGV: the TTL, then one owner per key. Per key: the previous owner, or false
# (nil) when this call set it -- what ``SET key owner NX GET EX ttl`` answers.
_CLAIM = """
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('SET', key, ARGV[i + 1], 'NX', 'GET', 'EX', ARGV[1])
end
return out
"""
