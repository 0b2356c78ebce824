"""The log of accepted vectors per index (language/shard), replayed into FAISS, and its snapshots.

Entries are int8 x scale (services/state/vector_entries.py); keys hold hashes, ids and vectors
only, never prompt text. Appends happen in the curate commit's transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import numpy as np
import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

from services.dedup.ids import pids_to_bytes
from services.dedup.index import VectorIndex
from services.embed.fingerprint import ModelMismatch, check
from services.errors import StateLost
from services.keys import Keys, text
from services.state.log import LogTrimmed, RedisLog
from services.state.snapshots import read_snapshot_file, write_snapshot_file
from services.state.vector_entries import decode_entries, encode_entries

log = logging.getLogger(__name__)


class RedisVectorLog(RedisLog):
    """Append-only log of accepted vectors per index (language/shard), replayed into FAISS.

    ``sync`` loads the entries another process (or an earlier life of this one) appended.

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
    ``append`` raise ``ModelMismatch`` on a log another model wrote, or one holding entries
    that records no model (docs/runbook.md).
    """

    SNAPSHOT_PART = 64 << 20  # Redis values are capped at 512 MB; stay well below
    TRIM_KEEP = 10_000  # entries kept behind a snapshot: a replica that far behind just tails

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        dim: int,
        model: str = "",
        snapshot_dir: str | Path | None = None,
    ) -> None:
        keys = Keys(namespace)
        super().__init__(redis, keys.vectors)
        self._model_key = keys.vectors_model
        self._snap_key = keys.vector_snapshot
        self.dim = dim
        self._snapshotted: dict[str, int] = {}  # name -> position of the last snapshot seen
        self.model = model
        self._model_checked = not model  # without a fingerprint nothing is checked
        self.snapshot_dir = Path(snapshot_dir) if snapshot_dir else None

    async def check_model(self, name: str) -> None:
        """Raise ``ModelMismatch`` when the log was written by another model. Once it matched,
        later calls cost nothing; until the first append records a model, one GET each."""
        if self._model_checked:
            return
        # one snapshot of both: another worker's first append records the model and its entries
        # together, so entries without a model are never a race but a log no model recorded
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(self._model_key)
            pipe.llen(self.key(name))
            raw, entries = await pipe.execute()
        if raw is None:
            if not entries:
                return  # an empty log: the first append records the model
            raise ModelMismatch(
                f"the vector log {self.key(name)} holds entries but records no model; this "
                f"worker embeds with {self.model!r}: re-embed into a new namespace "
                "(docs/runbook.md)"
            )
        found = text(raw)
        check(self.model, found, f"the vector log {self.keys.prefix}*")
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

    def encode(self, pid: str, vector: np.ndarray, owner: str) -> bytes:
        return self.encode_all([(pid, vector, owner)])[0]

    def encode_all(self, entries: Sequence[tuple[str, np.ndarray, str]]) -> list[bytes]:
        if not entries:
            return []
        pids = pids_to_bytes([e[0] for e in entries])
        vecs = np.stack([np.asarray(e[1], dtype=np.float32).reshape(-1) for e in entries])
        return encode_entries(pids, vecs, [e[2] for e in entries], self.dim)

    def decode(self, raw: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """(n, 16) uint8 prompt_ids, (n, dim) float32 vectors and owners of log entries."""
        return decode_entries(raw, self.dim)

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

    async def snapshot(
        self,
        name: str,
        index: VectorIndex,
        keep: int | None = None,
        erasures: tuple[str, int] | None = None,
    ) -> int:
        """Store ``index`` as the snapshot of log entries ``[0, len(index))``, then trim the log
        up to ``len(index) - keep`` (default ``TRIM_KEEP``); returns the snapshot's position.

        Call it only when the index holds exactly the log's first ``len(index)`` entries (after
        ``sync``, or after ``append`` of what the last ``decide`` accepted).

        ``erasures``: (the erasure log's key, how many of its entries the index applied). The
        snapshot becomes current only if no erasure came since (checked atomically with the
        switch); otherwise it is dropped and 0 returned: an erasure rewrites the snapshot that
        is current when it runs, so a snapshot must never become current behind its back."""
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
        async with self.redis.pipeline(transaction=True) as pipe:  # an erasure may rewrite it
            pipe.delete(key)
            for field, value in parts.items():
                pipe.hset(key, field, value)
            await pipe.execute()
        if erasures is None:
            previous = await self.redis.set(self._snap_key(name), pos, get=True)
        else:
            previous = await self.redis.eval(
                _SWITCH_UNLESS_ERASED, 2, self._snap_key(name), erasures[0], pos, erasures[1]
            )
            if previous == -1:  # an erasure came since the index applied the log: drop it
                old_file = await self.redis.hget(key, "file")
                await self.redis.unlink(key)
                if old_file:
                    Path(text(old_file)).unlink(missing_ok=True)
                return 0
        if previous is not None and int(previous) != pos:
            old = self._snap_key(name, int(previous))
            old_file = await self.redis.hget(old, "file")
            await self.redis.unlink(old)
            if old_file:
                name_of = text(old_file)
                Path(name_of).unlink(missing_ok=True)
        self._snapshotted[name] = pos
        await self.trim(name, pos - (self.TRIM_KEEP if keep is None else keep))
        return pos

    async def maybe_snapshot(
        self,
        name: str,
        index: VectorIndex,
        every: int,
        erasures: tuple[str, int] | None = None,
    ) -> bool:
        """``snapshot`` once the index holds ``every`` entries more than the last snapshot
        (same precondition as ``snapshot``); True when it wrote one."""
        last = self._snapshotted.get(name)
        if last is None:
            last = self._snapshotted[name] = await self.snapshot_position(name)
        if len(index) - last < every:
            return False
        return bool(await self.snapshot(name, index, erasures=erasures))

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
            raw = await self.redis.hgetall(self._snap_key(name, pos))
            fields = {k.decode(): v for k, v in cast(dict[bytes, bytes], raw).items()}
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


# KEYS: the current-snapshot pointer, the erasure log. ARGV: the new position, the erasure log
# length the index applied. Switches the pointer (returning the previous position, or nil) only
# if the erasure log is that long still; else returns -1.
_SWITCH_UNLESS_ERASED = """
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return -1 end
local old = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1])
return old
"""
