"""A near-duplicate index over several shards' indexes: search them all, add to one.

Sharding the curate topic spreads the work, but whether two prompts meet must not depend on
which shard the router picked (on one product's traffic near duplicates straddle any partition
of the vector space: docs/diversity.md). A curate batch of shard ``s`` therefore decides against
the union of every shard's index of its language: its own (which it alone appends to) and read
replicas of the others (tailed from their Redis vector logs before the batch). ``UnionIndex``
speaks the greedy curator's ``NearIndex`` protocol over that union.

A batch's own acceptances wait in ``Pending`` until its commit: searched like an index (by every
group of the batch in the same language), added to their own shard's index by ``flush`` after
the commit, or dropped when the batch is decided again because another shard committed a near
duplicate meanwhile (services/pipeline/curate.py, the re-check).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.dedup.greedy import Candidate
from services.dedup.index import VectorIndex


def per_shard(nlist: int, nprobe: int, shards: int) -> tuple[int, int]:
    """IVF lists and probes for each of ``shards`` indexes that are always searched together:
    ``nlist / shards`` lists each (as many centroids compared as one index of all their vectors)
    and ``2 x nprobe / shards`` probes (an even split loses recall: 0.932 at 4 shards and 0.908
    at 8 against 0.957 for one index of 1M; twice that gives 0.949 and 0.942 at 0.60x and 0.43x
    of its decisions/s, python -m bench union-index, docs/vector-index.md)."""
    if shards <= 1:
        return nlist, nprobe
    lists = max(64, nlist // shards)
    return lists, min(lists, max(4, -(-2 * nprobe // shards)))


class Pending:
    """Acceptances of the batch being decided, not committed yet (a few hundred at most)."""

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        self.vectors: list[np.ndarray] = []
        self.pids: list[str] = []
        self.owners: list[str] = []
        self.targets: list[VectorIndex] = []

    def __len__(self) -> int:
        return len(self.pids)

    def add(
        self, target: VectorIndex, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]
    ) -> None:
        self.vectors.extend(np.asarray(queries, dtype=np.float32))
        self.pids.extend(pids)
        self.owners.extend(owners)
        self.targets.extend([target] * len(pids))

    def nearest(self, queries: np.ndarray, pids: Sequence[str]) -> list[tuple[str | None, float]]:
        if not self.pids:
            return [(None, -np.inf)] * len(pids)
        sims = queries @ np.stack(self.vectors).T
        out: list[tuple[str | None, float]] = []
        for i, pid in enumerate(pids):
            row = np.where(np.array(self.pids) == pid, -np.inf, sims[i])
            j = int(np.argmax(row))
            out.append((self.pids[j], float(row[j])) if np.isfinite(row[j]) else (None, -np.inf))
        return out

    def owner(self, pid: str) -> str | None:
        for p, o in zip(self.pids, self.owners, strict=True):
            if p == pid:
                return o
        return None

    def flush(self) -> None:
        """Into their own indexes (after the commit: the indexes then hold their logs)."""
        by_target: dict[int, list[int]] = {}
        for i, t in enumerate(self.targets):
            by_target.setdefault(id(t), []).append(i)
        for rows in by_target.values():
            t = self.targets[rows[0]]
            t.add(
                np.stack([self.vectors[i] for i in rows]),
                [self.pids[i] for i in rows],
                [self.owners[i] for i in rows],
            )
        self.clear()


class UnionIndex:
    """``own`` receives the acceptances (through ``pending`` when given); ``replicas`` are only
    searched (never written)."""

    def __init__(
        self, own: VectorIndex, replicas: Sequence[VectorIndex], pending: Pending | None = None
    ) -> None:
        self.own = own
        self.replicas = [r for r in replicas if r is not own]
        self.pending = pending

    @property
    def parts(self) -> list[VectorIndex]:
        return [self.own, *self.replicas]

    def __len__(self) -> int:
        return sum(len(p) for p in self.parts)

    def queries(self, batch: Sequence[Candidate]) -> np.ndarray:
        return self.own.queries(batch)

    def check_threshold(self, threshold: float) -> None:
        """Every part searches every cosine: any threshold is safe."""

    def nearest_other(
        self, queries: np.ndarray, pids: Sequence[str]
    ) -> list[tuple[str | None, float]]:
        """The best neighbour over all parts (one batched search per non-empty part)."""
        best: list[tuple[str | None, float]] = (
            self.pending.nearest(queries, pids) if self.pending else [(None, -np.inf)] * len(pids)
        )
        for part in self.parts:
            if len(part) == 0:
                continue
            for i, (pid, sim) in enumerate(part.nearest_other(queries, pids)):
                if pid is not None and sim > best[i][1]:
                    best[i] = (pid, sim)
        return best

    def similarities(self, queries: np.ndarray, rows: list[int], i: int) -> np.ndarray:
        return queries[rows] @ queries[i]

    def owners_of(self, pids: Sequence[str]) -> list[str | None]:
        """Who got each prompt into any part (a replay is recognised whichever shard took it)."""
        out: list[str | None] = (
            [self.pending.owner(p) for p in pids] if self.pending else [None] * len(pids)
        )
        for part in self.parts:
            if len(part) == 0:
                continue
            for i, owner in enumerate(part.owners_of(pids)):
                if out[i] is None and owner is not None:
                    out[i] = owner
        return out

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None:
        if self.pending is None:
            self.own.add(queries, pids, owners)
        else:
            self.pending.add(self.own, queries, pids, owners)
