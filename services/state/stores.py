"""Redis-backed state: exact-duplicate claims and the logs of accepted vectors and signatures.

Keys hold hashes and ids only, never prompt text or user ids (personal data stays out of Redis).
Every write is idempotent, because Kafka delivers at least once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence, Sized
from typing import cast

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedup.ids import PID_BYTES
from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import NUM_PERM, MinHasher
from services.embed.fingerprint import ModelMismatch, adopts_unrecorded, check
from services.state.keys import Keys

log = logging.getLogger(__name__)


class RedisSeenStore:
    """Exact de-duplication: the first event to claim a prompt_id owns it.

    Owners are input-message coordinates (topic/partition/offset), not event ids: a producer
    that sends the same event twice makes two messages, and the second is a duplicate, while a
    replay of the same message after a crash is not its own duplicate. ``claim`` returns, per
    item, ``None`` when this message owns the prompt_id, else the owning message's coordinate.
    One pipelined round trip per batch; ``SET NX GET`` makes each claim atomic.
    """

    def __init__(
        self, redis: aioredis.Redis, namespace: str, ttl_s: int, prefix: str | None = None
    ) -> None:
        self.redis = redis
        self.prefix = Keys(namespace).seen_prefix if prefix is None else prefix
        self.ttl_s = ttl_s

    @classmethod
    def event_ids(cls, redis: aioredis.Redis, namespace: str, ttl_s: int) -> RedisSeenStore:
        """The same claims over event ids (hashed: an id may be anything a producer sends)."""
        return cls(redis, namespace, ttl_s, Keys(namespace).event_prefix)

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


class RedisLog:
    """An append-only Redis list of encoded entries per index name, replayed into the index.

    Subclasses say how an entry is encoded and added; ``len(index)`` is the log position the
    index has reached, so a sync reads only the tail.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix

    def key(self, name: str) -> str:
        return self.prefix + name

    def encode(self, pid: str, payload: np.ndarray, owner: str) -> bytes:
        raise NotImplementedError

    async def append(self, name: str, entries: Sequence[tuple[str, np.ndarray, str]]) -> None:
        if entries:
            await self.redis.rpush(self.key(name), *(self.encode(*e) for e in entries))

    def queue_append(
        self, pipe: Pipeline, name: str, entries: Sequence[tuple[str, np.ndarray, str]]
    ) -> None:
        """``append`` queued on the caller's pipeline (a transaction with other writes)."""
        if entries:
            pipe.rpush(self.key(name), *(self.encode(*e) for e in entries))

    async def _tail(self, name: str, index: Sized, chunk: int) -> AsyncIterator[list[bytes]]:
        """Chunks of the entries beyond ``len(index)``; add each before asking for the next."""
        total = await self.redis.llen(self.key(name))
        while len(index) < total:
            start = len(index)
            raw = cast(
                list[bytes], await self.redis.lrange(self.key(name), start, start + chunk - 1)
            )
            if not raw:
                break
            yield raw


class RedisVectorLog(RedisLog):
    """Append-only log of accepted vectors per index (language/shard), replayed into FAISS.

    Entry layout: 16 bytes prompt_id, ``dim`` float32, then the owning input message's coordinate in UTF-8.
    ``sync`` loads the entries another process (or an earlier life of this one) appended.

    A snapshot (``snapshot``) stores a ``VectorIndex``'s state covering log entries ``[0, pos)``
    in one hash ``<ns>:vectors:snap:<name>:<pos>`` (FAISS's serialized index in parts of at most
    ``SNAPSHOT_PART`` bytes, ids and owners as packed arrays); the key ``<ns>:vectors:snap:<name>``
    names the current one and is switched only once the new hash is complete, so a crash while
    writing leaves the previous snapshot in force. ``sync`` into an empty index starts from the
    snapshot, then replays the tail of the log: seconds instead of retraining IVF and
    re-assigning every vector (docs/index.md).

    With ``model`` (the embedder's fingerprint, services/embed/fingerprint.py) the log is bound
    to one vector space: the first append records it in ``<ns>:vectors:model`` and ``sync`` and
    ``append`` raise ``ModelMismatch`` on a log another model wrote (docs/runbook.md).
    """

    SNAPSHOT_PART = 64 << 20  # Redis values are capped at 512 MB; stay well below

    def __init__(self, redis: aioredis.Redis, namespace: str, dim: int, model: str = "") -> None:
        super().__init__(redis, Keys(namespace).vectors_prefix)
        self.dim = dim
        self._vec_bytes = 4 * dim
        self._snapshotted: dict[str, int] = {}  # name -> position of the last snapshot seen
        self.model = model
        self._model_key = self.prefix + "model"
        self._model_checked = not model  # without a fingerprint nothing is checked

    async def check_model(self, name: str) -> None:
        """Raise ``ModelMismatch`` when the log was written by another model. Once it matched,
        later calls cost nothing; until the first append records a model, one GET each."""
        if self._model_checked:
            return
        raw = await self.redis.get(self._model_key)
        if raw is None:
            if not await self.redis.llen(self.key(name)):
                return  # an empty log: the first append records the model
            # written before logs recorded their model, when only the transformer family existed
            if not adopts_unrecorded(self.model):
                raise ModelMismatch(
                    f"the vector log {self.key(name)} records no model (written before "
                    f"fingerprints, by a transformer backend); this worker embeds with "
                    f"{self.model!r}: re-embed into a new namespace (docs/runbook.md)"
                )
            log.warning("vector logs of %s record no model: adopting %s", self.prefix, self.model)
            await self.redis.set(self._model_key, self.model, nx=True)
            raw = await self.redis.get(self._model_key)
        found = raw.decode() if isinstance(raw, bytes) else str(raw)
        check(self.model, found, f"the vector log {self.prefix}*")
        self._model_checked = True

    async def append(self, name: str, entries: Sequence[tuple[str, np.ndarray, str]]) -> None:
        await self.check_model(name)
        if entries and self.model:
            await self.redis.set(self._model_key, self.model, nx=True)
        await super().append(name, entries)

    def queue_append(
        self, pipe: Pipeline, name: str, entries: Sequence[tuple[str, np.ndarray, str]]
    ) -> None:
        """Also records the model on the first append; call it after ``sync`` (which checks)."""
        if entries and self.model:
            pipe.set(self._model_key, self.model, nx=True)
        super().queue_append(pipe, name, entries)

    def _snap_key(self, name: str, pos: int | None = None) -> str:
        base = f"{self.prefix}snap:{name}"
        return base if pos is None else f"{base}:{pos}"

    def encode(self, pid: str, vector: np.ndarray, event_id: str) -> bytes:
        return bytes.fromhex(pid) + vector.astype(np.float32).tobytes() + event_id.encode()

    def decode(self, raw: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(n, 16) uint8 prompt_ids, (n, dim) float32 vectors and owners of log entries."""
        n, head = len(raw), PID_BYTES + self._vec_bytes
        pids = np.empty((n, PID_BYTES), dtype=np.uint8)
        vecs = np.empty((n, self.dim), dtype=np.float32)
        lengths = np.fromiter(map(len, raw), dtype=np.int64, count=n)
        for length in np.unique(lengths).tolist():  # entries of one length decode as one array
            rows = np.flatnonzero(lengths == length)
            block = np.frombuffer(b"".join([raw[i] for i in rows.tolist()]), dtype=np.uint8)
            block = block.reshape(len(rows), length)
            pids[rows] = block[:, :PID_BYTES]
            vecs[rows] = np.ascontiguousarray(block[:, PID_BYTES:head]).view(np.float32)
        owners = [entry[head:].decode() for entry in raw]
        return pids, vecs, owners

    async def sync(self, name: str, index: VectorIndex, chunk: int = 10_000) -> int:
        """Add to ``index`` the entries beyond its current size; returns how many were added.
        An empty index first loads the latest snapshot, if any. Raises ``ModelMismatch`` on a
        log of another model."""
        await self.check_model(name)
        added = await self.restore(name, index) if len(index) == 0 else 0
        async for raw in self._tail(name, index, chunk):
            # off the event loop: adding may train the approximate index (seconds, once)
            await asyncio.to_thread(self._add, index, raw)
            added += len(raw)
        return added

    def _add(self, index: VectorIndex, raw: Sequence[bytes]) -> None:
        pids, vecs, owners = self.decode(raw)
        index.add_raw(vecs, pids, owners)

    async def snapshot(self, name: str, index: VectorIndex) -> int:
        """Store ``index`` as the snapshot of log entries ``[0, len(index))``; returns that position.

        Call it only when the index holds exactly the log's first ``len(index)`` entries (after
        ``sync``, or after ``append`` of what the last ``decide`` accepted)."""
        pos = len(index)
        parts = await asyncio.to_thread(index.state)
        blob = parts.pop("faiss")
        step = self.SNAPSHOT_PART
        for i in range(0, max(len(blob), 1), step):
            parts[f"faiss:{i // step:04d}"] = blob[i : i + step]
        key = self._snap_key(name, pos)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(key)
            for field, value in parts.items():
                pipe.hset(key, field, value)
            await pipe.execute()
        previous = await self.redis.set(self._snap_key(name), pos, get=True)
        if previous is not None and int(previous) != pos:
            await self.redis.unlink(self._snap_key(name, int(previous)))
        self._snapshotted[name] = pos
        return pos

    async def maybe_snapshot(self, name: str, index: VectorIndex, every: int) -> bool:
        """``snapshot`` once the index holds ``every`` entries more than the last snapshot
        (same precondition as ``snapshot``); True when it wrote one."""
        last = self._snapshotted.get(name)
        if last is None:
            last = self._snapshotted[name] = await self.snapshot_position(name)
        if len(index) - last < every:
            return False
        await self.snapshot(name, index)
        return True

    async def snapshot_position(self, name: str) -> int:
        """Log position the current snapshot covers; 0 without one."""
        pos = await self.redis.get(self._snap_key(name))
        return 0 if pos is None else int(pos)

    async def restore(self, name: str, index: VectorIndex) -> int:
        """Load the latest snapshot into ``index`` (replacing its contents); returns its
        position, 0 when there is none (or it is no longer usable: then the log is replayed)."""
        for _ in range(3):  # a newer snapshot may replace the one named between two reads
            pos = await self.snapshot_position(name)
            if pos == 0:
                return 0
            parts = cast(dict[bytes, bytes], await self.redis.hgetall(self._snap_key(name, pos)))
            if parts:
                break
        else:
            return 0
        if await self.redis.llen(self.key(name)) < pos:
            log.warning("snapshot of %s covers %d entries, more than the log: ignored", name, pos)
            return 0
        fields = {k.decode(): v for k, v in parts.items()}
        faiss_parts = sorted(k for k in fields if k.startswith("faiss:"))
        fields["faiss"] = b"".join(fields.pop(k) for k in faiss_parts)
        await asyncio.to_thread(index.load_state, fields)
        self._snapshotted[name] = pos
        return len(index)


class RedisSignatureLog(RedisLog):
    """Append-only log of accepted signatures per index (language), replayed into ``LshIndex``.

    Same pattern as ``services.state.stores.RedisVectorLog``. Entry layout: 16 bytes prompt_id,
    ``num_perm`` uint32 (little endian), then the owning input message's coordinate in UTF-8:
    hashes and ids only, never text. The key carries the hasher's tag, so signatures made with
    other parameters are never mixed into an index (a changed tag starts an empty log).
    """

    def __init__(
        self, redis: aioredis.Redis, namespace: str, hasher: MinHasher | None = None
    ) -> None:
        self.num_perm = hasher.num_perm if hasher else NUM_PERM
        tag = hasher.tag if hasher else MinHasher().tag
        super().__init__(redis, Keys(namespace).minhash_prefix(tag))
        self._sig_bytes = 4 * self.num_perm

    def encode(self, pid: str, sig: np.ndarray, owner: str) -> bytes:
        raw = np.asarray(sig, dtype="<u4").tobytes()
        if len(raw) != self._sig_bytes:
            raise ValueError(f"signature of {len(raw) // 4} values, expected {self.num_perm}")
        return bytes.fromhex(pid) + raw + owner.encode()

    async def sync(self, name: str, index: LshIndex, chunk: int = 10_000) -> int:
        """Add to ``index`` the entries beyond its current size; returns how many were added."""
        added = 0
        async for raw in self._tail(name, index, chunk):
            ids, owners = [], []
            sigs = np.empty((len(raw), self.num_perm), dtype=np.uint32)
            for i, entry in enumerate(raw):
                ids.append(entry[:16].hex())
                sigs[i] = np.frombuffer(entry[16 : 16 + self._sig_bytes], dtype="<u4")
                owners.append(entry[16 + self._sig_bytes :].decode())
            index.add(ids, sigs, owners)
            added += len(raw)
        return added
