"""Append-only Redis logs that in-memory indexes are rebuilt from (vectors, signatures).

An index reads only the tail it has not seen; a log may be trimmed at its head (behind a
snapshot) and may forget entries older than the dedup horizon. Entries hold hashes, ids and
vectors only, never prompt text. Appends happen in the curate commit's transaction, so a replay
after a crash finds its own entries (services/pipeline/curate.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Sequence, Sized
from typing import cast

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.errors import FlywheelError
from services.keys import LogKeys


class LogTrimmed(FlywheelError):
    """The log no longer holds the entries an index needs next (they were trimmed)."""


class RedisLog:
    """An append-only Redis list of encoded entries per index name, replayed into the index.

    Subclasses say how an entry is encoded and added; ``len(index)`` is the log position the
    index has reached, so a sync reads only the tail. A log may be trimmed at its head: the
    string ``keys.base(name)`` holds how many entries were removed (0 when absent), so log
    position ``p`` is list index ``p - base``; it is read in the same transaction as the entries.
    """

    def __init__(self, redis: aioredis.Redis, keys: LogKeys) -> None:
        self.redis = redis
        self.keys = keys
        self._bases: dict[str, int] = {}  # name -> base offset last seen
        self._horizons: dict[str, int] = {}  # name -> position below which entries are forgotten
        self._marked: dict[str, int] = {}  # name -> horizon bucket last marked

    def key(self, name: str) -> str:
        return self.keys.log(name)

    def encode(self, pid: str, payload: np.ndarray, owner: str) -> bytes:
        raise NotImplementedError

    def encode_all(self, entries: Sequence[tuple[str, np.ndarray, str]]) -> list[bytes]:
        return [self.encode(*e) for e in entries]

    async def append(self, name: str, entries: Sequence[tuple[str, np.ndarray, str]]) -> None:
        if entries:
            await self.redis.rpush(self.key(name), *self.encode_all(entries))

    def queue_append(
        self, pipe: Pipeline, name: str, entries: Sequence[tuple[str, np.ndarray, str]]
    ) -> None:
        """``append`` queued on the caller's pipeline (a transaction with other writes)."""
        if entries:
            pipe.rpush(self.key(name), *self.encode_all(entries))

    async def bounds(self, name: str) -> tuple[int, int]:
        """(base, end): the log holds positions ``[base, end)``."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self.keys.base(name))
            pipe.llen(self.key(name))
            raw_base, n = await pipe.execute()
        base = int(raw_base or 0)
        self._bases[name] = base
        return base, base + int(n)

    async def _tail(self, name: str, index: Sized, chunk: int) -> AsyncIterator[list[bytes]]:
        """Chunks of the entries beyond ``len(index)``; add each before asking for the next.
        Raises ``LogTrimmed`` when ``len(index)`` is below the log's base offset. Also notes
        the log's horizon (``self._horizons``)."""
        key, base_key = self.key(name), self.keys.base(name)
        base = self._bases.get(name, 0)
        stop: int | None = None  # the end seen by the first read: a sync does not chase writers
        while stop is None or len(index) < stop:
            start = len(index)
            lo = max(start - base, 0)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(base_key)
                pipe.llen(key)
                pipe.lrange(key, lo, lo + chunk - 1)
                pipe.get(self.keys.horizon(name))
                raw_base, n, raw, horizon = await pipe.execute()
            self._horizons[name] = int(horizon or 0)
            found = int(raw_base or 0)
            if found != base:  # trimmed since the last read: the range read is not the one asked
                base = self._bases[name] = found
                continue
            if start < base:
                raise LogTrimmed(f"{key}: position {start} is below the base offset {base}")
            if stop is None:
                stop = base + int(n)
            if not raw or start >= stop:
                break
            yield cast(list[bytes], raw)[: stop - start]

    async def trim(self, name: str, upto: int) -> int:
        """Drop the entries below position ``upto`` (atomically with the base offset); returns
        the base offset after the call. Never moves the base back."""
        return int(await self.redis.eval(_TRIM, 2, self.key(name), self.keys.base(name), upto))

    async def advance_horizon(
        self, name: str, position: int, horizon_s: float, now: float | None = None
    ) -> int:
        """Dedup horizon: note that the log had reached ``position`` at ``now`` (one mark per
        eighth of the horizon, in the hash ``keys.marks(name)``) and move the horizon to the
        newest mark older than ``horizon_s``. Everything below a mark was appended before its
        eighth ended, so nothing younger than ``horizon_s`` is forgotten (and nothing is kept
        more than an eighth longer). Returns the horizon; readers retire rows below it on their
        next ``sync``."""
        now = time.time() if now is None else now
        step = max(horizon_s / 8, 1.0)
        bucket = int(now // step)
        if self._marked.get(name) == bucket:
            return self._horizons.get(name, 0)
        marks_key = self.keys.marks(name)
        await self.redis.hsetnx(marks_key, str(bucket), position)
        self._marked[name] = bucket
        marks = {int(k): int(v) for k, v in (await self.redis.hgetall(marks_key)).items()}
        expired = [b for b in marks if (b + 1) * step <= now - horizon_s]
        if not expired:
            return self._horizons.get(name, 0)
        cut = int(
            await self.redis.eval(
                _SET_MAX, 1, self.keys.horizon(name), max(marks[b] for b in expired)
            )
        )
        await self.redis.hdel(marks_key, *(str(b) for b in expired))
        self._horizons[name] = cut
        return cut


# KEYS: a counter. ARGV: a value. Raises the counter to the value; returns the counter.
_SET_MAX = """
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local v = tonumber(ARGV[1])
if v > cur then redis.call('SET', KEYS[1], v); return v end
return cur
"""

# KEYS: list, base. ARGV: position to trim up to. Returns the base offset.
_TRIM = """
local base = tonumber(redis.call('GET', KEYS[2]) or '0')
local upto = tonumber(ARGV[1])
if upto <= base then return base end
local n = redis.call('LLEN', KEYS[1])
if upto > base + n then upto = base + n end
redis.call('LTRIM', KEYS[1], upto - base, -1)
redis.call('SET', KEYS[2], upto)
return upto
"""
