"""Abuse and poisoning guards that need shared state (Redis): per-user rate limit, per-user
flood of near-identical prompts, and blocked prompt ids.

Each ``check`` takes a whole micro-batch and costs one pipelined round trip. Keys hold the keyed
user hash and content hashes only. On a replay after a crash the same messages are counted again:
a user can lose a few tokens to a crash, never gain any.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from services.contract.records import Reason
from services.keys import Keys

# Token bucket: refill by elapsed time, take one token if there is one. Atomic in Redis.
_BUCKET_LUA = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then tokens = capacity; ts = now end
tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', key, 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', key, math.ceil(capacity / rate) + 60)
return allowed
"""

_SHAPE_DROP = re.compile(r"[\W\d_]+", re.UNICODE)


def shape(text: str) -> str:
    """What near-identical prompts share: letters only, case-folded, words sorted.
    "Give me 5 ideas for a party!" and "give me 7 ideas for a party" have one shape."""
    words = sorted(set(_SHAPE_DROP.sub(" ", text.casefold()).split()))
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:16]


class RedisRateLimiter:
    def __init__(self, redis: aioredis.Redis, namespace: str, capacity: int, rate: float) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.capacity, self.rate = capacity, rate
        self._script = redis.register_script(_BUCKET_LUA)

    async def check(
        self, users: Sequence[str | None], now: float | None = None
    ) -> list[Reason | None]:
        now = time.time() if now is None else now
        out: list[Reason | None] = [None] * len(users)
        todo = [(i, u) for i, u in enumerate(users) if u is not None]
        if not todo:
            return out
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, user in todo:
                await self._script(
                    keys=[self.keys.rate(user)], args=[self.capacity, self.rate, now], client=pipe
                )
            allowed = await pipe.execute()
        for (i, _), ok in zip(todo, allowed, strict=True):
            out[i] = None if int(ok) else Reason.RATE_LIMITED
        return out


class FloodDetector:
    """At most ``limit`` prompts of one shape per user per window: the rest are ``user_flood``."""

    def __init__(self, redis: aioredis.Redis, namespace: str, window_s: int, limit: int) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.window_s, self.limit = window_s, limit

    async def check(self, items: Sequence[tuple[str | None, str]]) -> list[Reason | None]:
        """``items``: (user hash or None, text)."""
        out: list[Reason | None] = [None] * len(items)
        todo = [
            (i, self.keys.flood(u, shape(t))) for i, (u, t) in enumerate(items) if u is not None
        ]
        if not todo:
            return out
        async with self.redis.pipeline(transaction=False) as pipe:
            for _, key in todo:
                pipe.incr(key)
                pipe.expire(key, self.window_s, nx=True)
            counts = (await pipe.execute())[::2]
        for (i, _), n in zip(todo, counts, strict=True):
            out[i] = Reason.USER_FLOOD if int(n) > self.limit else None
        return out


class BlockedPrompts:
    """Prompt ids that operators (or, later, annotators' labels) blocked: a Redis set."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.key = Keys(namespace).blocked_ids

    async def add(self, *prompt_ids: str) -> None:
        if prompt_ids:
            await self.redis.sadd(self.key, *prompt_ids)

    async def check(self, prompt_ids: Sequence[str]) -> list[Reason | None]:
        if not prompt_ids:
            return []
        hits = await self.redis.smismember(self.key, list(prompt_ids))
        return [Reason.BLOCKLISTED if h else None for h in hits]
