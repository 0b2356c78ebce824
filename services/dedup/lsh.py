"""Banded LSH over MinHash signatures, exact for the greedy rule at its threshold.

With ``bands`` bands, two signatures that differ in fewer than ``bands`` positions share at least
one whole band (pigeonhole), so every pair at or above the threshold is a candidate when
``bands > num_perm - ceil(threshold * num_perm)``. The greedy decision over this index is
``services.dedup.greedy.GreedyCurator`` with estimated Jaccard in place of cosine.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from services.dedup.greedy import Candidate
from services.dedup.ids import ERASED_PID
from services.dedup.minhash import NUM_PERM, SEED, THRESHOLD, mix64, splitmix64


def max_disagreements(threshold: float, num_perm: int) -> int:
    """Most unequal positions a pair at estimated Jaccard >= ``threshold`` can have."""
    return num_perm - math.ceil(threshold * num_perm - 1e-9)


def rows_for(threshold: float, num_perm: int = NUM_PERM) -> int:
    """Most rows per band (fewest false candidates) for which LSH misses no pair >= threshold."""
    worst = max_disagreements(threshold, num_perm)
    rows = max((r for r in range(1, num_perm + 1) if num_perm // r > worst), default=0)
    if rows == 0:
        raise ValueError(f"no banding of {num_perm} permutations is exact at {threshold}")
    return rows


class LshIndex:
    """Banded LSH over MinHash signatures, with a prompt_id and an owner per row.

    Bands are hashed to 32-bit keys kept in sorted runs (merged like a binary counter, so an
    add costs O(log n) amortized and a query searches O(log n) runs). Candidates are verified
    with the estimated Jaccard of the full signatures. ``exact_for(t)``: no pair at or above
    ``t`` is ever missed.
    """

    def __init__(self, num_perm: int = NUM_PERM, rows: int | None = None) -> None:
        self.num_perm = num_perm
        self.rows = rows if rows is not None else rows_for(THRESHOLD, num_perm)
        self.bands = num_perm // self.rows
        if self.bands < 1:
            raise ValueError("rows per band exceed num_perm")
        salts = [splitmix64(SEED ^ (0xB4D5 + k)) for k in range(self.bands)]
        self._salt = np.array(salts, dtype=np.uint64)
        self.ids: list[str] = []
        self.owners: dict[str, str] = {}  # prompt_id -> input message that got it accepted
        self._row: dict[str, int] = {}
        self._sigs = np.zeros((0, num_perm), dtype=np.uint32)
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted band keys, rows)

    @classmethod
    def for_threshold(cls, threshold: float, num_perm: int = NUM_PERM) -> LshIndex:
        return cls(num_perm, rows_for(threshold, num_perm))

    def exact_for(self, threshold: float) -> bool:
        return self.bands > max_disagreements(threshold, self.num_perm)

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, pid: str) -> bool:
        return pid in self.owners

    @property
    def signatures(self) -> np.ndarray:
        return self._sigs[: len(self.ids)]

    def band_keys(self, sigs: np.ndarray) -> np.ndarray:
        """(n, bands) uint32: one key per band, salted by the band's position. 32 bits suffice:
        two bands that differ but share a key only make a false candidate, which verification
        drops (about one query in 25 at 100k signatures)."""
        n = sigs.shape[0]
        parts = sigs[:, : self.bands * self.rows].reshape(n, self.bands, self.rows)
        h = np.broadcast_to(self._salt, (n, self.bands)).copy()
        for j in range(self.rows):
            h = mix64(h ^ parts[:, :, j].astype(np.uint64))
        return (h >> np.uint64(32)).astype(np.uint32)

    def add(self, ids: Sequence[str], sigs: np.ndarray, owners: Sequence[str]) -> None:
        if len(ids) == 0:
            return
        sigs = np.ascontiguousarray(sigs, dtype=np.uint32).reshape(len(ids), self.num_perm)
        start = len(self.ids)
        if start + len(ids) > self._sigs.shape[0]:  # grow by half: amortized O(1) per row
            capacity = max(self._sigs.shape[0] * 3 // 2, start + len(ids), 1024)
            grown = np.zeros((capacity, self.num_perm), dtype=np.uint32)
            grown[:start] = self._sigs[:start]
            self._sigs = grown
        self._sigs[start : start + len(ids)] = sigs
        for k, pid in enumerate(ids):
            self._row[pid] = start + k
        self.ids.extend(ids)
        self.owners.update(zip(ids, owners, strict=True))
        keys = self.band_keys(sigs).ravel()
        rows = np.repeat(np.arange(start, start + len(ids), dtype=np.int32), self.bands)
        order = np.argsort(keys, kind="stable")
        self._runs.append((keys[order], rows[order]))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k2, r2), (k1, r1) = self._runs.pop(), self._runs.pop()
            keys, rows = np.concatenate([k1, k2]), np.concatenate([r1, r2])
            order = np.argsort(keys, kind="stable")
            self._runs.append((keys[order], rows[order]))

    def best(
        self, sigs: np.ndarray, exclude: Sequence[str | None] | None = None
    ) -> list[tuple[str, float] | None]:
        """Per query signature, the candidate with the highest estimated Jaccard (ties: the
        earliest added) and that estimate; ``None`` when no row shares a band with it.
        ``exclude[i]``, when given, is a prompt_id never to report for query i (itself).
        Exact for pairs at or above any threshold with ``exact_for``; below it, the best
        candidate is a lower bound of the best in the index."""
        sigs = np.asarray(sigs, dtype=np.uint32).reshape(-1, self.num_perm)
        n = sigs.shape[0]
        out: list[tuple[str, float] | None] = [None] * n
        if n == 0 or not self.ids:
            return out
        qs, rows = self.candidate_pairs(self.band_keys(sigs))
        if exclude is not None:
            skip = np.array([self._row.get(p, -1) if p else -1 for p in exclude], dtype=np.int64)
            keep = rows != skip[qs]
            qs, rows = qs[keep], rows[keep]
        if len(qs) == 0:
            return out
        agree = np.count_nonzero(sigs[qs] == self._sigs[rows], axis=1)
        order = np.lexsort((rows, -agree, qs))
        first = order[np.r_[True, qs[order][1:] != qs[order][:-1]]]
        for q, r, a in zip(qs[first], rows[first], agree[first], strict=True):
            pid = self.ids[int(r)]
            out[int(q)] = None if pid == ERASED_PID else (pid, float(a) / self.num_perm)
        return out

    def erase(self, pids: Sequence[str]) -> int:
        """Erase these prompts (docs/privacy.md): their rows keep their place but lose their id,
        owner and signature (zeros, which no real signature comes near); returns how many."""
        n = 0
        for pid in pids:
            row = self._row.pop(pid, None)
            if row is None:
                continue
            self.owners.pop(pid, None)
            self.ids[row] = ERASED_PID
            self._sigs[row] = 0
            n += 1
        return n

    def candidate_pairs(self, qkeys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (query, row) pairs that share at least one band key."""
        # Sorted needles: numpy's binary search narrows from the previous hit, ~5x faster.
        needle_order = np.argsort(qkeys.ravel())
        flat = qkeys.ravel()[needle_order]
        query_of = needle_order // self.bands
        qs_parts, row_parts = [], []
        for keys, rows in self._runs:
            lo = np.searchsorted(keys, flat, side="left")
            hit = keys[np.minimum(lo, len(keys) - 1)] == flat
            if not hit.any():
                continue
            lo, needles = lo[hit], flat[hit]
            counts = np.searchsorted(keys, needles, side="right") - lo
            total = int(counts.sum())
            # positions lo[i] .. lo[i]+counts[i]-1 for every i, without a Python loop
            offsets = np.repeat(lo - np.cumsum(counts) + counts, counts)
            pos = offsets + np.arange(total)
            qs_parts.append(np.repeat(query_of[hit], counts))
            row_parts.append(rows[pos])
        if not qs_parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        pairs = np.unique(
            np.concatenate(qs_parts).astype(np.int64) << 32 | np.concatenate(row_parts)
        )
        return pairs >> 32, pairs & 0xFFFFFFFF

    # The greedy curator's view of the index (services.dedup.greedy.NearIndex).

    def queries(self, batch: Sequence[Candidate]) -> np.ndarray:
        return np.stack([np.asarray(c.vector, dtype=np.uint32) for c in batch])

    def check_threshold(self, threshold: float) -> None:
        if not self.exact_for(threshold):
            raise ValueError(
                f"an index of {self.bands} bands can miss pairs at {threshold}: "
                f"build it with LshIndex.for_threshold({threshold})"
            )

    def nearest_other(
        self, queries: np.ndarray, pids: Sequence[str]
    ) -> list[tuple[str | None, float]]:
        found = self.best(queries, exclude=[p if p in self else None for p in pids])
        return [m if m is not None else (None, -math.inf) for m in found]

    def similarities(self, queries: np.ndarray, rows: list[int], i: int) -> np.ndarray:
        return np.count_nonzero(queries[rows] == queries[i], axis=1) / self.num_perm

    def owners_of(self, pids: Sequence[str]) -> list[str | None]:
        return [self.owners.get(p) for p in pids]

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None:
        self.add(pids, queries, owners)
