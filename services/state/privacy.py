"""Erasure: what came from a user, an event or a prompt, found and removed from every store.

At acceptance (the curate commit's transaction, ``queue``) Flywheel notes where each prompt went
and whom it came from, in keys that hold hashes and ids only: ``privacy:prompt:<pid>`` = its index,
its keyed user hash and its event hash; ``privacy:user:<user hash>`` = the set of its prompts;
``privacy:event:<event hash>`` = its prompt. All expire with the retention period.

``erase`` removes a prompt from what Redis holds: its entry in the vector or signature log
(rewritten in place by a script, the id replaced by ``ERASED`` and the vector or signature by
zeros, so an index rebuilt from the log never finds it), the index snapshot (loaded, erased,
written back), the exact-duplicate claim (the same text from someone else is accepted again),
the feedback and cascade keys, the ``recent`` list, the topic-model sample and the gap examples;
and appends it to the erasure log, whose tail every worker applies to the indexes it holds in
memory before its next decision (``services/pipeline/curate/indexes.py``). Each step is
idempotent, so a request replayed after a crash finishes what the first attempt began.
docs/privacy.md lists every store and what erasure does to it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedup.ids import ERASED
from services.dedup.index import VectorIndex
from services.keys import Keys, text
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX
from services.state.cascade_store import RedisCascadeStore
from services.state.signature_log import RedisSignatureLog
from services.state.vector_entries import HEADER
from services.state.vector_log import RedisVectorLog

LEXICAL_SUFFIX = ":lex"  # services.pipeline.routing.lexical_index names end so


class Origin(NamedTuple):
    """Where an accepted prompt went and whom it came from (hashes only)."""

    index_name: str
    user: str | None  # the keyed user hash
    event: str  # services.clean.text.event_key of its event_id


# KEYS: a log list. ARGV: the id to write instead, keep, zero_to, then the prompt_ids (16 bytes
# each). Every entry of the log whose first 16 bytes are one of the prompt_ids becomes: the new
# id, bytes 17..keep as they were, zeros up to byte zero_to, the rest (the owner) as it was.
# Returns how many entries it rewrote. One pass over the log, atomic: a trim running at the same
# time cannot shift the list under it.
_REWRITE = """
local gone = {}
for i = 4, #ARGV do gone[ARGV[i]] = true end
local n = redis.call('LLEN', KEYS[1])
local keep, zero_to = tonumber(ARGV[2]), tonumber(ARGV[3])
local done, chunk = 0, 1000
for lo = 0, n - 1, chunk do
  local rows = redis.call('LRANGE', KEYS[1], lo, lo + chunk - 1)
  for i, e in ipairs(rows) do
    if gone[string.sub(e, 1, 16)] then
      local new = ARGV[1] .. string.sub(e, 17, keep) .. string.rep('\\0', zero_to - keep)
        .. string.sub(e, zero_to + 1)
      redis.call('LSET', KEYS[1], lo + i - 1, new)
      done = done + 1
    end
  end
end
return done
"""

# KEYS: a list of entries that begin with a 16-byte prompt_id. ARGV: prompt_ids (16 bytes
# each). Removes every entry that begins with one of them; returns how many.
_DROP_BY_PREFIX = """
local gone = {}
for i = 1, #ARGV do gone[ARGV[i]] = true end
local rows = redis.call('LRANGE', KEYS[1], 0, -1)
local n = 0
for _, e in ipairs(rows) do
  if gone[string.sub(e, 1, 16)] then
    n = n + redis.call('LREM', KEYS[1], 0, e)
  end
end
return n
"""


class RedisPrivacy:
    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        vectors: RedisVectorLog,
        signatures: RedisSignatureLog,
        cascade: RedisCascadeStore | None = None,
    ) -> None:
        self.redis = redis
        self.s = settings
        self.keys = Keys(settings.namespace)
        self.vectors = vectors
        self.signatures = signatures
        self.cascade = cascade
        self.ttl_s = settings.retention_s

    def queue(self, pipe: Pipeline, origins: Mapping[str, Origin]) -> None:
        """Note the batch's acceptances (in the curate commit's transaction)."""
        ttl = self.ttl_s
        for pid, o in origins.items():
            pipe.set(
                self.keys.privacy_prompt(pid), f"{o.index_name}\t{o.user or ''}\t{o.event}", ex=ttl
            )
            pipe.set(self.keys.privacy_event(o.event), pid, ex=ttl)
            if o.user:
                pipe.sadd(self.keys.privacy_user(o.user), pid)
                pipe.expire(self.keys.privacy_user(o.user), ttl)

    async def resolve(
        self, user: str | None = None, event: str | None = None, prompt: str | None = None
    ) -> dict[str, Origin]:
        """The prompts a request names, with their origins (none when nothing is known)."""
        pids: set[str] = set()
        if user:
            pids |= {text(p) for p in await self.redis.smembers(self.keys.privacy_user(user))}
        if event:
            found = await self.redis.get(self.keys.privacy_event(event))
            if found:
                pids.add(text(found))
        if prompt:
            pids.add(prompt)
        if not pids:
            return {}
        ordered = sorted(pids)
        raw = await self.redis.mget([self.keys.privacy_prompt(p) for p in ordered])
        out = {}
        for pid, value in zip(ordered, raw, strict=True):
            if value is None:
                continue
            index, user_hash, event_hash = text(value).split("\t")
            out[pid] = Origin(index, user_hash or None, event_hash)
        return out

    async def remember(self, request: str, found: Mapping[str, Origin]) -> dict[str, Origin]:
        """What request ``request`` resolved to, kept until it is done: a replay of the request
        after a crash erases (and announces) the same prompts, even though the first attempt
        already removed the keys ``resolve`` reads."""
        key = self.keys.privacy_request(request)
        value = json.dumps({p: list(o) for p, o in found.items()})
        await self.redis.set(key, value, nx=True, ex=self.ttl_s)
        kept = json.loads(await self.redis.get(key) or "{}")
        return {p: Origin(*o) for p, o in kept.items()}

    async def erase(self, found: Mapping[str, Origin]) -> Counter[str]:
        """Remove these prompts from every store Redis holds; what was removed, by store."""
        done: Counter[str] = Counter()
        if not found:
            return done
        pids = sorted(found)
        by_index: dict[str, list[str]] = {}
        for pid, o in found.items():
            by_index.setdefault(o.index_name, []).append(pid)
        by_index.setdefault(BLOCKLIST_INDEX, []).extend(pids)  # blocked by annotators, maybe
        # first the log every worker applies to its memory: from here on no decision uses them
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(
                self.keys.erasures,
                *(f"{i} {p}" for i, members in by_index.items() for p in members),
            )
            pipe.expire(self.keys.erasures, self.ttl_s)
            pipe.sadd(self.keys.erased, *pids)
            pipe.expire(self.keys.erased, self.ttl_s)
            await pipe.execute()
        for index, members in by_index.items():
            done["log_entries"] += await self._rewrite_log(index, members)
            if not index.endswith(LEXICAL_SUFFIX):
                done["snapshot_rows"] += await self._rewrite_snapshot(index, members)
        async with self.redis.pipeline(transaction=True) as pipe:
            for pid in pids:
                o = found[pid]
                for key in (
                    self.keys.seen(pid),
                    self.keys.accepted(pid),
                    self.keys.fb_item(pid),
                    self.keys.fb_meta(pid),
                    self.keys.privacy_prompt(pid),
                    self.keys.privacy_event(o.event),
                ):
                    pipe.delete(key)
                if o.user:
                    pipe.srem(self.keys.privacy_user(o.user), pid)
            if self.cascade is not None:
                self.cascade.queue_forget(pipe, pids)
            deleted = await pipe.execute()
        done["keys"] += sum(int(x) for x in deleted if isinstance(x, int))
        done["recent"] += await self._drop_recent(set(pids))
        sample_ids = [bytes.fromhex(p) for p in pids]
        done["topic_sample"] += int(
            await self.redis.eval(_DROP_BY_PREFIX, 1, self.keys.topics_sample, *sample_ids)
        )
        done["examples"] += await self._drop_examples(pids)
        done["prompts"] += len(pids)
        return done

    async def erasures_since(self, position: int) -> tuple[list[tuple[str, str]], int]:
        """``(index, prompt_id)`` erased from log position ``position`` on, and the next
        position."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.llen(self.keys.erasures)
            pipe.lrange(self.keys.erasures, position, -1)
            n, raw = await pipe.execute()
        if int(n) < position:  # the log expired and began again
            return await self.erasures_since(0)
        entries = [tuple(text(r).split(" ", 1)) for r in raw]
        return [(e[0], e[1]) for e in entries if len(e) == 2], position + len(raw)

    async def _rewrite_log(self, index: str, pids: Sequence[str]) -> int:
        if index.endswith(LEXICAL_SUFFIX):
            key, keep, zero_to = self.signatures.key(index), 16, 16 + self.signatures.sig_bytes
        else:
            key, keep, zero_to = self.vectors.key(index), 20, HEADER + self.vectors.dim
        ids = [bytes.fromhex(p) for p in pids]
        return int(await self.redis.eval(_REWRITE, 1, key, ERASED, keep, zero_to, *ids))

    async def _rewrite_snapshot(self, index: str, pids: Sequence[str]) -> int:
        """Erase the prompts from the index's current snapshot and write it back at its
        position; again if another worker wrote a newer one meanwhile."""
        erased, seen = 0, -1
        for _ in range(3):
            pos = await self.vectors.snapshot_position(index)
            if pos in (0, seen):
                break
            snap = VectorIndex(self.vectors.dim, ann_after=None)
            if await self.vectors.restore(index, snap) != pos:
                break
            erased += snap.erase(pids)
            await self.vectors.snapshot(index, snap)  # the same position, written whole
            seen = pos
        return erased

    async def _drop_recent(self, pids: set[str]) -> int:
        n = 0
        for raw in await self.redis.lrange(self.keys.recent, 0, -1):
            try:
                pid = json.loads(raw).get("prompt_id")
            except ValueError:
                continue
            if pid in pids:
                n += int(await self.redis.lrem(self.keys.recent, 0, raw))  # type: ignore[arg-type]
        return n

    async def _drop_examples(self, pids: Sequence[str]) -> int:
        n = 0
        async for key in self.redis.scan_iter(match=self.keys.examples_pattern, count=1000):
            async with self.redis.pipeline(transaction=False) as pipe:
                for pid in pids:
                    pipe.lrem(key, 0, pid)
                n += sum(int(x) for x in await pipe.execute())
        return n
