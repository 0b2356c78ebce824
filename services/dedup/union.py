"""A near-duplicate index over several shards' indexes: search them all, add to one.

Sharding the curate topic spreads the work, but whether two prompts meet must not depend on
which shard the router picked (on one product's traffic near duplicates straddle any partition
of the vector space: docs/diversity.md). A curate batch of shard ``s`` therefore decides against
the union of every shard's index of its language: its own (which it alone appends to) and read
replicas of the others (tailed from their Redis vector logs before the batch). ``UnionIndex``
speaks the greedy curator's ``NearIndex`` protocol over that union.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.dedup.greedy import Candidate
from services.dedup.index import VectorIndex


class UnionIndex:
    """``own`` receives the acceptances; ``replicas`` are only searched (never written)."""

    def __init__(self, own: VectorIndex, replicas: Sequence[VectorIndex]) -> None:
        self.own = own
        self.replicas = [r for r in replicas if r is not own]

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
        best: list[tuple[str | None, float]] = [(None, -np.inf)] * len(pids)
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
        out: list[str | None] = [None] * len(pids)
        for part in self.parts:
            if len(part) == 0:
                continue
            for i, owner in enumerate(part.owners_of(pids)):
                if out[i] is None and owner is not None:
                    out[i] = owner
        return out

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None:
        self.own.add(queries, pids, owners)
