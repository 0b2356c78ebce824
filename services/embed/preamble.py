"""Shared preambles: the leading text many prompts repeat (a product's system prompt, a form's
boilerplate), learned from the stream and left out of what the model embeds.

A mean-pooled sentence embedding of "<preamble> <question>" is mostly the preamble: on a stream
of one product's tool-use prompts behind a 40-word system prompt, greedy de-duplication at 0.85
kept 70 of 2,978 distinct prompts, against 1,846 of the same questions without it
(docs/diversity.md). The near-duplicate check must judge the question, not the boilerplate.

Every prompt is cut at word boundaries at (or just after) ``LEVELS`` characters (every 32 up to
512, then coarser); the number of
prompts that began with each cut is counted in Redis under a hash of it (``<ns>:preambles``,
hashes and counts only, never text; forgotten after ``ttl_s`` without use). The longest cut
that at least ``min_count`` prompts began with is a preamble, and the model reads what follows
it, when at least ``min_rest`` characters follow and 90 % of the prompts that share the
text's shortest cut share that one too (the boilerplate ends where its prompts diverge). The record keeps the whole text; the first
prompts of a new preamble are embedded whole until its count is reached.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import redis.asyncio as aioredis

from services.keys import Keys
from services.settings import Settings

LEVELS = (*range(64, 512, 32), 512, 640, 768, 1024, 1536, 2048)


def cuts(text: str, levels: Sequence[int] = LEVELS, min_rest: int = 24) -> list[int]:
    """Cut positions (after a whitespace at or beyond each level) that leave ``min_rest``
    characters or more; linear in the text (one scan per level, bounded by the levels)."""
    out: list[int] = []
    n = len(text)
    for level in levels:
        if level + min_rest > n:
            break
        i = level
        while i < n and not text[i].isspace():
            i += 1
        while i < n and text[i].isspace():
            i += 1
        if n - i < min_rest:
            break
        if not out or i > out[-1]:
            out.append(i)
    return out


def digest(prefix: str) -> str:
    return hashlib.sha256(prefix.encode()).hexdigest()[:20]


class Counts(Protocol):
    async def incr(self, fields: Sequence[str]) -> list[int]: ...


class MemoryCounts:
    """The counts in memory (one process: benchmarks, tests); ``frozen`` reads without adding."""

    def __init__(self) -> None:
        self.c: Counter[str] = Counter()
        self.frozen = False

    async def incr(self, fields: Sequence[str]) -> list[int]:
        out = []
        for f in fields:
            if not self.frozen:
                self.c[f] += 1
            out.append(self.c[f])
        return out


class RedisPreambleCounts:
    """The prefix counts in one Redis hash (one pipelined round trip per batch)."""

    def __init__(self, redis: aioredis.Redis, namespace: str, ttl_s: int) -> None:
        self.redis = redis
        self.key = Keys(namespace).preambles
        self.ttl_s = ttl_s

    async def incr(self, fields: Sequence[str]) -> list[int]:
        if not fields:
            return []
        async with self.redis.pipeline(transaction=False) as pipe:
            for f in fields:
                pipe.hincrby(self.key, f, 1)
            pipe.expire(self.key, self.ttl_s)
            res = await pipe.execute()
        return [int(x) for x in res[:-1]]


class Preambles:
    """A cut is a preamble when ``min_count`` prompts began with it *and* at least ``share`` of
    the prompts that share the text's shortest cut go on to share this one: the boilerplate ends
    where the prompts that carry it start to differ. (Without the second rule, 50 prompts that
    also share the first words of their question would have those stripped too, and be compared
    with prompts whose question was not.)"""

    def __init__(
        self, counts: Counts, min_count: int, min_rest: int = 24, share: float = 0.9
    ) -> None:
        self.counts = counts
        self.min_count = min_count
        self.min_rest = min_rest
        self.share = share

    async def strip(self, texts: Sequence[str]) -> list[str]:
        """What the model should read of each text: after its longest known preamble. Two
        rounds of counts: the coarse cuts, then the word boundaries between the longest cut that
        qualifies and the next one (the preamble ends somewhere in there)."""
        per_text = [cuts(t, min_rest=self.min_rest) for t in texts]
        fields = [digest(t[:c]) for t, cs in zip(texts, per_text, strict=True) for c in cs]
        counts = iter(await self._final(fields))
        best: list[int] = []
        at_best: list[int] = []
        words: list[list[int]] = []
        for t, cs in zip(texts, per_text, strict=True):
            b, nb, f, nxt = 0, 0, 0, len(t) - self.min_rest
            for k, c in enumerate(cs):
                n = next(counts)
                f = f or n
                if self._qualifies(n, f):
                    b, nb = c, n
                    nxt = cs[k + 1] if k + 1 < len(cs) else len(t) - self.min_rest
            best.append(b)
            at_best.append(nb)
            words.append(_word_starts(t, b, nxt) if b else [])
        fields = [digest(t[:w]) for t, ws in zip(texts, words, strict=True) for w in ws]
        counts = iter(await self._final(fields) if fields else [])
        out = []
        for t, b, nb, ws in zip(texts, best, at_best, words, strict=True):
            for w in ws:
                # word cuts are counted only once their coarse cut qualified: min_count later
                if self._qualifies(next(counts), nb - self.min_count + 1):
                    b = w
            out.append(t[b:] if b else t)
        return out

    async def _final(self, fields: list[str]) -> list[int]:
        """Counts after the whole batch (a batch that brings a preamble to its count strips it
        from all its prompts, not only from those after the one that reached it)."""
        counts = await self.counts.incr(fields)
        final: dict[str, int] = {}
        for f, n in zip(fields, counts, strict=True):
            final[f] = max(final.get(f, 0), n)
        return [final[f] for f in fields]

    def _qualifies(self, n: int, first: int) -> bool:
        return n >= self.min_count and n >= self.share * first


def redis_preambles(redis: aioredis.Redis, s: Settings) -> Preambles | None:
    """The preamble stripping the settings ask for, counted in the namespace's Redis hash;
    None with ``preamble_min_count`` 0 (the model reads whole texts)."""
    if not s.preamble_min_count:
        return None
    counts = RedisPreambleCounts(redis, s.namespace, s.preamble_ttl_s)
    return Preambles(counts, s.preamble_min_count)


def _word_starts(text: str, lo: int, hi: int) -> list[int]:
    """Positions in (lo, hi) where a word starts (after whitespace)."""
    return [
        i
        for i in range(lo + 1, min(hi, len(text)))
        if text[i - 1].isspace() and not text[i].isspace()
    ]
