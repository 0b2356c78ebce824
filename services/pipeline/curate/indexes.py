"""The indexes a curate worker decides against, kept in step with their Redis logs.

One FAISS index per (language, shard) for embedded texts, each appended to only by the worker of
its partition, and read by every other worker as a replica: a batch decides against the union of
every shard's index of its language (each tailed from its log first), so near duplicates meet
wherever they were routed. One MinHash LSH index per language for texts the model cannot read,
and the blocklist index fed by annotators (``services.state.accepted.BLOCKLIST_INDEX``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.union import Pending, UnionIndex, per_shard
from services.pipeline.curate.ports import CurateState
from services.pipeline.routing import vector_index
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX


class IndexSet:
    def __init__(self, settings: Settings, state: CurateState, dim: int) -> None:
        self.s = settings
        self.state = state
        self.dim = dim
        self.vectors: dict[str, VectorIndex] = {}
        self.lexical: dict[str, LshIndex] = {}
        self.blocklist = self._new(1)
        self.erased: dict[str, list[str]] = {}  # index -> prompt_ids erased (the erasure log)
        self.erasures_read = 0  # position reached in the erasure log
        self.applied: dict[str, int] = {}  # index -> how many of ``erased[index]`` it applied

    def reset(self) -> None:
        """Forget everything (after a failed batch); it reloads from the Redis logs."""
        self.vectors.clear()
        self.lexical.clear()
        self.blocklist = self._new(1)
        self.applied.clear()

    async def read_erasures(self) -> None:
        """The erasure log's new entries (``services/state/privacy.py``), once per batch; each
        index applies them after its next sync (``_erase_in``), before any decision."""
        entries, self.erasures_read = await self.state.erasures_since(self.erasures_read)
        for name, pid in entries:
            self.erased.setdefault(name, []).append(pid)

    def _erase_in(self, name: str, index: VectorIndex | LshIndex) -> None:
        pids = self.erased.get(name, [])
        done = self.applied.get(name, 0)
        if len(pids) > done:
            index.erase(pids[done:])
            self.applied[name] = len(pids)

    def _new(self, shards: int) -> VectorIndex:
        s = self.s
        nlist, nprobe = per_shard(s.index_nlist, s.index_nprobe, shards)
        return VectorIndex(
            self.dim,
            ann_after=max(s.index_ann_after, nlist) if s.index_ann_after is not None else None,
            nlist=nlist,
            nprobe=nprobe,
            ann=s.index_ann,
        )

    def vector(self, name: str) -> VectorIndex:
        """The index of one (language, shard): every batch searches all shards of the
        language, so each gets 1/P of the IVF lists and probes."""
        if name not in self.vectors:
            self.vectors[name] = self._new(self.s.curate_partitions)
        return self.vectors[name]

    async def lexical_synced(self, name: str) -> LshIndex:
        if name not in self.lexical:
            self.lexical[name] = LshIndex.for_threshold(self.s.lexical_threshold)
        await self.state.sync_signatures(name, self.lexical[name])
        self._erase_in(name, self.lexical[name])
        return self.lexical[name]

    async def sync_blocklist(self) -> None:
        await self.state.sync_vectors(BLOCKLIST_INDEX, self.blocklist)
        self._erase_in(BLOCKLIST_INDEX, self.blocklist)

    async def union(self, name: str, lang: str, pending: Pending) -> UnionIndex:
        """What a batch of shard ``name`` decides against: its own index brought up to date,
        and every other shard's index of the language as a read replica. Two near duplicates
        decided at the same moment on two shards can both be accepted only within the overlap
        of their batches' sync-to-commit intervals, narrowed by ``raced``."""
        own = self.vector(name)
        await self.state.sync_vectors(name, own)
        self._erase_in(name, own)
        replicas = [part for part, _ in await self._sync_others(name, lang)]
        return UnionIndex(own, replicas, pending)

    async def raced(
        self,
        entries: Mapping[str, Sequence[tuple[str, np.ndarray, str]]],
        langs: Mapping[str, str],
        close: float,
    ) -> bool:
        """Whether another shard committed, since this batch synced, a prompt at ``close`` or
        nearer to one of the batch's acceptances (the replicas are brought up to date first)."""
        raced = False
        for name, accepted in entries.items():
            fresh = [part for part, added in await self._sync_others(name, langs[name]) if added]
            if not fresh:
                continue
            vecs = np.stack([v for _, v, _ in accepted])
            pids = [p for p, _, _ in accepted]
            for part in fresh:
                for _, sim in part.nearest_other(vecs, pids):
                    raced = raced or sim >= close
        return raced

    async def _sync_others(self, name: str, lang: str) -> list[tuple[VectorIndex, int]]:
        """The other shards' indexes of ``lang``, each brought up to date with its log, and how
        many vectors each took."""
        out = []
        for shard in range(self.s.curate_partitions):
            other = vector_index(lang, shard)
            if other != name:
                index = self.vector(other)
                added = await self.state.sync_vectors(other, index)
                self._erase_in(other, index)
                out.append((index, added))
        return out

    def blocked(self, vecs: np.ndarray) -> list[tuple[str | None, float]]:
        """Nearest blocked prompt at or above the blocklist threshold, per vector."""
        if len(self.blocklist) == 0:
            return [(None, 0.0)] * len(vecs)
        sims, ids = self.blocklist.search(vecs, 1)
        return [
            (ids[i][0], float(sims[i][0]))
            if sims[i][0] >= self.s.blocklist_threshold
            else (None, 0.0)
            for i in range(len(vecs))
        ]

    async def snapshot(self, names: list[str]) -> None:
        for name in names:  # each index now holds exactly its log: a valid snapshot
            await self.state.maybe_snapshot(name, self.vectors[name], self.erasures_read)
