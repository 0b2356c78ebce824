"""Redis-backed state: exact-duplicate claims and the logs of accepted vectors and signatures.

Keys hold hashes and ids only, never prompt text or user ids (personal data stays out of Redis).
Every write is idempotent, because Kafka delivers at least once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import time
from collections.abc import AsyncIterator, Mapping, Sequence, Sized
from pathlib import Path
from typing import cast

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedup.ids import PID_BYTES, pids_to_bytes
from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import NUM_PERM, MinHasher
from services.embed.fingerprint import ModelMismatch, adopts_unrecorded, check
from services.keys import Keys

log = logging.getLogger(__name__)


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
        self, redis: aioredis.Redis, namespace: str, ttl_s: int, prefix: str | None = None
    ) -> None:
        self.redis = redis
        self.prefix = Keys(namespace).seen_prefix if prefix is None else prefix
        self.ttl_s = ttl_s
        self._claim = redis.register_script(_CLAIM)

    @classmethod
    def event_ids(cls, redis: aioredis.Redis, namespace: str, ttl_s: int) -> RedisSeenStore:
        """The same claims over event ids (hashed: an id may be anything a producer sends)."""
        return cls(redis, namespace, ttl_s, Keys(namespace).event_prefix)

    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]:
        if not items:
            return []
        keys = [self.prefix + pid for pid, _ in items]
        previous = await self._claim(keys, [self.ttl_s, *(owner for _, owner in items)])
        out: list[str | None] = []
        for (_, mine), prev in zip(items, previous, strict=True):
            owner = prev.decode() if isinstance(prev, bytes) else None  # false: nobody had it
            out.append(None if owner is None or owner == mine else owner)
        return out


# KEYS: the claims; ARGV: the TTL, then one owner per key. Per key: the previous owner, or false
# (nil) when this call set it -- what ``SET key owner NX GET EX ttl`` answers.
_CLAIM = """
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('SET', key, ARGV[i + 1], 'NX', 'GET', 'EX', ARGV[1])
end
return out
"""


class LogTrimmed(Exception):
    """The log no longer holds the entries an index needs next (they were trimmed)."""


class StateLost(RuntimeError):
    """A trimmed log whose snapshot is gone: the index cannot be rebuilt (never guessed)."""


class RedisLog:
    """An append-only Redis list of encoded entries per index name, replayed into the index.

    Subclasses say how an entry is encoded and added; ``len(index)`` is the log position the
    index has reached, so a sync reads only the tail. A log may be trimmed at its head: the
    string ``<prefix>base:<name>`` holds how many entries were removed (0 when absent), so log
    position ``p`` is list index ``p - base``; it is read in the same transaction as the entries.
    """

    def __init__(self, redis: aioredis.Redis, prefix: str) -> None:
        self.redis = redis
        self.prefix = prefix
        self._bases: dict[str, int] = {}  # name -> base offset last seen
        self._horizons: dict[str, int] = {}  # name -> position below which entries are forgotten
        self._marked: dict[str, int] = {}  # name -> horizon bucket last marked

    def key(self, name: str) -> str:
        return self.prefix + name

    def base_key(self, name: str) -> str:
        return f"{self.prefix}base:{name}"

    def horizon_key(self, name: str) -> str:
        """Position below which entries are forgotten (the dedup horizon); absent = 0."""
        return f"{self.prefix}horizon:{name}"

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
            pipe.get(self.base_key(name))
            pipe.llen(self.key(name))
            raw_base, n = await pipe.execute()
        base = int(raw_base or 0)
        self._bases[name] = base
        return base, base + int(n)

    async def _tail(self, name: str, index: Sized, chunk: int) -> AsyncIterator[list[bytes]]:
        """Chunks of the entries beyond ``len(index)``; add each before asking for the next.
        Raises ``LogTrimmed`` when ``len(index)`` is below the log's base offset. Also notes
        the log's horizon (``self._horizons``)."""
        key, base_key = self.key(name), self.base_key(name)
        base = self._bases.get(name, 0)
        stop: int | None = None  # the end seen by the first read: a sync does not chase writers
        while stop is None or len(index) < stop:
            start = len(index)
            lo = max(start - base, 0)
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.get(base_key)
                pipe.llen(key)
                pipe.lrange(key, lo, lo + chunk - 1)
                pipe.get(self.horizon_key(name))
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
        return int(await self.redis.eval(_TRIM, 2, self.key(name), self.base_key(name), upto))

    async def advance_horizon(
        self, name: str, position: int, horizon_s: float, now: float | None = None
    ) -> int:
        """Dedup horizon: note that the log had reached ``position`` at ``now`` (one mark per
        eighth of the horizon, in the hash ``<prefix>marks:<name>``) and move the horizon to the
        newest mark older than ``horizon_s``. Everything below a mark was appended before its
        eighth ended, so nothing younger than ``horizon_s`` is forgotten (and nothing is kept
        more than an eighth longer). Returns the horizon; readers retire rows below it on their
        next ``sync``."""
        now = time.time() if now is None else now
        step = max(horizon_s / 8, 1.0)
        bucket = int(now // step)
        if self._marked.get(name) == bucket:
            return self._horizons.get(name, 0)
        marks_key = f"{self.prefix}marks:{name}"
        await self.redis.hsetnx(marks_key, str(bucket), position)
        self._marked[name] = bucket
        marks = {int(k): int(v) for k, v in (await self.redis.hgetall(marks_key)).items()}
        expired = [b for b in marks if (b + 1) * step <= now - horizon_s]
        if not expired:
            return self._horizons.get(name, 0)
        cut = int(
            await self.redis.eval(
                _SET_MAX, 1, self.horizon_key(name), max(marks[b] for b in expired)
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


class RedisVectorLog(RedisLog):
    """Append-only log of accepted vectors per index (language/shard), replayed into FAISS.

    Entry layout (``Q8``): 16 bytes prompt_id, the format byte ``0x01``, two zero bytes, the
    marker byte ``0xFF``, the per-vector scale (float32), ``dim`` int8 (vector = int8 x scale),
    then the owning input message's coordinate in UTF-8: ~430 bytes at dim 384, not ~1,600.
    Entries written before (``F32``: 16 bytes prompt_id, ``dim`` float32, owner) still load:
    byte 19 of those is the top byte of a finite float32 of magnitude below 2**127, never
    ``0xFF``. ``sync`` loads
    the entries another process (or an earlier life of this one) appended.

    A snapshot (``snapshot``) stores a ``VectorIndex``'s state covering log positions
    ``[0, pos)`` in one hash ``<ns>:vectors:snap:<name>:<pos>`` (FAISS's serialized index in
    parts of at most ``SNAPSHOT_PART`` bytes, ids and owners as packed arrays), or, with
    ``snapshot_dir``, in a file there (the hash then holds only its path); the key
    ``<ns>:vectors:snap:<name>`` names the current one and is switched only once the new one is
    complete, so a crash while writing leaves the previous snapshot in force. The log is then
    trimmed up to ``pos - TRIM_KEEP`` (the base offset moves with it): Redis holds the tail of
    the log only. ``sync`` into an empty index, or of an index whose position the log no longer
    holds (a replica that fell behind a trim), starts from the snapshot, then replays the tail.

    With ``model`` (the embedder's fingerprint, services/embed/fingerprint.py) the log is bound
    to one vector space: the first append records it in ``<ns>:vectors:model`` and ``sync`` and
    ``append`` raise ``ModelMismatch`` on a log another model wrote (docs/runbook.md).
    """

    SNAPSHOT_PART = 64 << 20  # Redis values are capped at 512 MB; stay well below
    TRIM_KEEP = 10_000  # entries kept behind a snapshot: a replica that far behind just tails
    Q8 = 0x01
    MARKER = 0xFF
    HEADER = PID_BYTES + 8  # pid, format, 0, 0, marker, float32 scale

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        dim: int,
        model: str = "",
        snapshot_dir: str | Path | None = None,
    ) -> None:
        super().__init__(redis, Keys(namespace).vectors_prefix)
        self.dim = dim
        self._vec_bytes = 4 * dim
        self._snapshotted: dict[str, int] = {}  # name -> position of the last snapshot seen
        self.model = model
        self._model_key = self.prefix + "model"
        self._model_checked = not model  # without a fingerprint nothing is checked
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None

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
        return self.encode_all([(pid, vector, event_id)])[0]

    def encode_all(self, entries: Sequence[tuple[str, np.ndarray, str]]) -> list[bytes]:
        if not entries:
            return []
        pids = pids_to_bytes([e[0] for e in entries])
        vecs = np.stack([np.asarray(e[1], dtype=np.float32).reshape(-1) for e in entries])
        return self.encode_rows(pids, vecs, [e[2] for e in entries])

    def encode_rows(
        self, pid_bytes: np.ndarray, vectors: np.ndarray, owners: Sequence[str]
    ) -> list[bytes]:
        """Entries of (n, 16) uint8 prompt_ids, (n, dim) vectors and owners, vectorized."""
        x = np.ascontiguousarray(vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"vectors of shape {x.shape}, the log holds {self.dim} dimensions")
        n = len(x)
        scale = np.abs(x).max(axis=1) / np.float32(127)
        ok = np.isfinite(scale) & (scale >= np.finfo(np.float32).tiny)
        safe = np.where(ok, scale, np.float32(1))[:, None]
        q = np.clip(np.rint(x / safe), -127, 127).astype(np.int8)
        rows = np.empty((n, self.HEADER + self.dim), dtype=np.uint8)
        rows[:, :PID_BYTES] = pid_bytes
        rows[:, PID_BYTES : PID_BYTES + 4] = (self.Q8, 0, 0, self.MARKER)
        rows[:, PID_BYTES + 4 : self.HEADER] = scale.astype("<f4")[:, None].view(np.uint8)
        rows[:, self.HEADER :] = q.view(np.uint8)
        out = []
        for i in range(n):
            if ok[i]:
                out.append(rows[i].tobytes() + owners[i].encode())
            else:  # all zeros, or not finite: stored as float32, exactly
                out.append(bytes(pid_bytes[i]) + x[i].tobytes() + owners[i].encode())
        return out

    @staticmethod
    def quantized(vectors: np.ndarray) -> np.ndarray:
        """``vectors`` as the log stores them (int8 x scale per row), for measurements."""
        x = np.asarray(vectors, dtype=np.float32)
        s = np.abs(x).max(axis=1, keepdims=True) / np.float32(127)
        q = np.clip(np.rint(x / np.where(s > 0, s, 1)), -127, 127)
        return (q * s).astype(np.float32)

    def decode(self, raw: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(n, 16) uint8 prompt_ids, (n, dim) float32 vectors and owners of log entries."""
        n = len(raw)
        pids = np.empty((n, PID_BYTES), dtype=np.uint8)
        vecs = np.empty((n, self.dim), dtype=np.float32)
        owners: list[str] = [""] * n
        lengths = np.fromiter(map(len, raw), dtype=np.int64, count=n)
        q8 = np.fromiter(
            (len(e) >= self.HEADER and e[PID_BYTES + 3] == self.MARKER for e in raw),
            dtype=bool,
            count=n,
        )
        q8_head, f32_head = self.HEADER + self.dim, PID_BYTES + self._vec_bytes
        kinds = lengths * 2 + q8  # entries of one length and format decode as one array
        for kind in np.unique(kinds).tolist():
            length, is_q8 = kind // 2, bool(kind % 2)
            rows = np.flatnonzero(kinds == kind)
            head = q8_head if is_q8 else f32_head
            if length < head:
                raise ValueError(f"vector log entry of {length} bytes, shorter than {head}")
            block = np.frombuffer(b"".join([raw[i] for i in rows.tolist()]), dtype=np.uint8)
            block = block.reshape(len(rows), length)
            pids[rows] = block[:, :PID_BYTES]
            if is_q8:
                fmt = np.unique(block[:, PID_BYTES])
                if fmt.tolist() != [self.Q8]:
                    raise ValueError(
                        f"vector log entry format {fmt.tolist()} unknown to this version "
                        f"(knows {self.Q8}): upgrade this worker"
                    )
                scale = np.ascontiguousarray(block[:, PID_BYTES + 4 : self.HEADER]).view("<f4")
                q = np.ascontiguousarray(block[:, self.HEADER : head]).view(np.int8)
                vecs[rows] = q.astype(np.float32) * scale
            else:
                vecs[rows] = np.ascontiguousarray(block[:, PID_BYTES:head]).view(np.float32)
            for i in rows.tolist():
                owners[i] = raw[i][head:].decode()
        return pids, vecs, owners

    async def sync(self, name: str, index: VectorIndex, chunk: int = 10_000) -> int:
        """Add to ``index`` the entries beyond its current size; returns how many were added.
        An empty index first loads the latest snapshot, if any, and so does an index whose next
        entries were trimmed from the log. Raises ``ModelMismatch`` on a log of another model,
        ``StateLost`` when entries it needs are neither in the log nor in a snapshot."""
        await self.check_model(name)
        before = len(index)
        if before == 0:
            await self.restore(name, index)
        for _ in range(3):  # a writer may trim again between the restore and the tail
            try:
                async for raw in self._tail(name, index, chunk):
                    # off the event loop: adding may train the approximate index (seconds, once)
                    await asyncio.to_thread(self._add, index, raw)
                break
            except LogTrimmed as exc:
                log.info("%s: loading the newest snapshot", exc)
                if not await self.restore(name, index):
                    raise StateLost(f"{exc}, and no snapshot covers it") from exc
        else:
            raise StateLost(f"{self.key(name)}: trimmed faster than this worker could catch up")
        horizon = self._horizons.get(name, 0)
        if horizon > index.first:
            dropped = await asyncio.to_thread(index.retire, horizon)
            if dropped:
                log.info("%s: forgot %d vectors older than the dedup horizon", name, dropped)
        return len(index) - before

    def _add(self, index: VectorIndex, raw: Sequence[bytes]) -> None:
        pids, vecs, owners = self.decode(raw)
        index.add_raw(vecs, pids, owners)

    async def snapshot(self, name: str, index: VectorIndex, keep: int | None = None) -> int:
        """Store ``index`` as the snapshot of log entries ``[0, len(index))``, then trim the log
        up to ``len(index) - keep`` (default ``TRIM_KEEP``); returns the snapshot's position.

        Call it only when the index holds exactly the log's first ``len(index)`` entries (after
        ``sync``, or after ``append`` of what the last ``decide`` accepted)."""
        pos = len(index)
        parts = await asyncio.to_thread(index.state)
        key = self._snap_key(name, pos)
        if self.snapshot_dir is not None:
            path = self.snapshot_dir / f"{key}.snap"
            await asyncio.to_thread(write_snapshot_file, path, parts)
            parts = {"file": str(path).encode()}
        else:
            blob = parts.pop("faiss")
            step = self.SNAPSHOT_PART
            for i in range(0, max(len(blob), 1), step):
                parts[f"faiss:{i // step:04d}"] = blob[i : i + step]
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.delete(key)
            for field, value in parts.items():
                pipe.hset(key, field, value)
            await pipe.execute()
        previous = await self.redis.set(self._snap_key(name), pos, get=True)
        if previous is not None and int(previous) != pos:
            old = self._snap_key(name, int(previous))
            old_file = await self.redis.hget(old, "file")
            await self.redis.unlink(old)
            if old_file:
                name_of = old_file.decode() if isinstance(old_file, bytes) else str(old_file)
                Path(name_of).unlink(missing_ok=True)
        self._snapshotted[name] = pos
        await self.trim(name, pos - (self.TRIM_KEEP if keep is None else keep))
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
            raw = cast(dict[bytes, bytes], await self.redis.hgetall(self._snap_key(name, pos)))
            fields = {k.decode(): v for k, v in raw.items()}
            if "file" in fields:
                path = Path(fields["file"].decode())
                try:
                    fields = await asyncio.to_thread(read_snapshot_file, path)
                except FileNotFoundError:
                    log.warning("snapshot file %s is missing", path)
                    continue
            if fields:
                break
        else:
            return 0
        _, end = await self.bounds(name)
        if end < pos:
            log.warning("snapshot of %s covers %d entries, more than the log: ignored", name, pos)
            return 0
        faiss_parts = sorted(k for k in fields if k.startswith("faiss:"))
        if faiss_parts:
            fields["faiss"] = b"".join(fields.pop(k) for k in faiss_parts)
        await asyncio.to_thread(index.load_state, fields)
        self._snapshotted[name] = pos
        return len(index)


SNAPSHOT_MAGIC = b"FWSNAP1\n"


def write_snapshot_file(path: Path, parts: Mapping[str, bytes]) -> None:
    """``parts`` (``VectorIndex.state``) as one file: magic, then per part its name's length
    (uint16), its length (uint64), name, bytes. Written aside, fsynced, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as fh:
        fh.write(SNAPSHOT_MAGIC)
        for field, value in parts.items():
            name = field.encode()
            fh.write(struct.pack("<HQ", len(name), len(value)) + name)
            fh.write(value)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_snapshot_file(path: Path) -> dict[str, bytes]:
    data = memoryview(path.read_bytes())
    if bytes(data[: len(SNAPSHOT_MAGIC)]) != SNAPSHOT_MAGIC:
        raise ValueError(f"{path} is not a vector index snapshot")
    parts: dict[str, bytes] = {}
    at = len(SNAPSHOT_MAGIC)
    while at < len(data):
        n_name, n_value = struct.unpack_from("<HQ", data, at)
        at += 10
        name = bytes(data[at : at + n_name]).decode()
        at += n_name
        parts[name] = bytes(data[at : at + n_value])
        at += n_value
        if at > len(data):
            raise ValueError(f"{path} is truncated")
    return parts


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
