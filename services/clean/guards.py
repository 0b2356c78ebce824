"""Abuse and poisoning guards that need shared state (Redis): blocked prompt ids, per-user rate
limit, per-user flood of near-identical prompts.

A guard is a small object with one ``check``: it takes a micro-batch of cleaned prompts and
gives each the reason it refuses it, or None, in one pipelined round trip. Ingest runs
``guards(...)`` in that order, each on the prompts the ones before it let through. Keys hold the
keyed user hash and content hashes only. On a replay after a crash the same messages are counted
again: a user can lose a few tokens to a crash, never gain any.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import redis.asyncio as aioredis

from services.contract.records import Reason
from services.keys import Keys
from services.settings import Settings

if TYPE_CHECKING:  # the chain imports the PII detectors: not for the ops API's BlockedPrompts
    from services.clean.chain import Cleaned

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


class Guard(Protocol):
    """One shared-state check of a micro-batch."""

    async def check(self, prompts: Sequence[Cleaned]) -> list[Reason | None]:
        """The reason each prompt is refused, or None; one Redis round trip."""
        ...


def guards(redis: aioredis.Redis, s: Settings) -> list[Guard]:
    """The guards ingest runs, in order: blocked ids, rate limit, flood."""
    return [
        BlockedPrompts(redis, s.namespace),
        RedisRateLimiter(redis, s.namespace, s.rate_capacity, s.rate_refill_per_s),
        FloodDetector(redis, s.namespace, s.flood_window_s, s.flood_max),
    ]


_SHAPE_DROP = re.compile(r"[\W\d_]+", re.UNICODE)


def shape(text: str) -> str:
    """What near-identical prompts share: letters only, case-folded, words sorted.
    "Give me 5 ideas for a party!" and "give me 7 ideas for a party" have one shape."""
    words = sorted(set(_SHAPE_DROP.sub(" ", text.casefold()).split()))
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:16]


class RedisRateLimiter:
    """A token bucket per user (prompts without a user are not limited): ``rate_limited``."""

    def __init__(self, redis: aioredis.Redis, namespace: str, capacity: int, rate: float) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.capacity, self.rate = capacity, rate
        self._script = redis.register_script(_BUCKET_LUA)

    async def check(
        self, prompts: Sequence[Cleaned], now: float | None = None
    ) -> list[Reason | None]:
        now = time.time() if now is None else now
        out: list[Reason | None] = [None] * len(prompts)
        todo = [(i, p.user) for i, p in enumerate(prompts) if p.user is not None]
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

    async def check(self, prompts: Sequence[Cleaned]) -> list[Reason | None]:
        out: list[Reason | None] = [None] * len(prompts)
        todo = [
            (i, self.keys.flood(p.user, shape(p.key)))
            for i, p in enumerate(prompts)
            if p.user is not None
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

    async def check(self, prompts: Sequence[Cleaned]) -> list[Reason | None]:
        if not prompts:
            return []
        hits = await self.redis.smismember(self.key, [p.pid for p in prompts])
        return [Reason.BLOCKLISTED if h else None for h in hits]
