"""FAISS inner-product indexes of accepted prompts and the greedy near-duplicate decision.

Vectors are L2-normalized, so inner product = cosine. Decisions follow the greedy rule used for
Llama 3's SFT prompts: in arrival order, keep a prompt iff its maximum cosine to every prompt kept
before it is below the threshold. ``greedy_reference`` is the brute-force statement of that rule;
``GreedyCurator`` computes the same decisions with batched FAISS searches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np


class VectorIndex:
    """Exact inner-product index with a prompt_id per row."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._index = faiss.IndexFlatIP(dim)
        self.ids: list[str] = []
        self.owners: dict[str, str] = {}  # prompt_id -> input message that got it accepted

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, pid: str) -> bool:
        return pid in self.owners

    def add(self, vectors: np.ndarray, ids: Sequence[str], owners: Sequence[str]) -> None:
        if len(ids) == 0:
            return
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self.ids.extend(ids)
        self.owners.update(zip(ids, owners, strict=True))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, list[list[str | None]]]:
        """Top-k cosine and prompt_ids per query; missing neighbours are (-inf, None)."""
        n = queries.shape[0]
        if len(self.ids) == 0 or n == 0:
            return np.full((n, k), -np.inf, dtype=np.float32), [[None] * k for _ in range(n)]
        sims, rows = self._index.search(np.ascontiguousarray(queries, dtype=np.float32), k)
        ids = [[self.ids[r] if r >= 0 else None for r in row] for row in rows]
        sims = np.where(rows >= 0, sims, -np.inf).astype(np.float32)
        return sims, ids


@dataclass(frozen=True)
class Candidate:
    prompt_id: str
    owner: str  # identity of the input message (topic/partition/offset); same on a replay
    vector: np.ndarray  # unit norm, float32


@dataclass(frozen=True)
class Decision:
    prompt_id: str
    accepted: bool
    nearest_id: str | None
    similarity: float | None  # max cosine to the accepted set before this prompt
    replayed: bool = False  # this event's prompt is already in the index: its acceptance stands
    exact_duplicate: bool = False  # another event already got this prompt_id accepted


class GreedyCurator:
    """Greedy semantic de-duplication of a batch against an index, in arrival order.

    Equivalent to ``greedy_reference`` on the concatenation (index contents, batch): each
    candidate is compared with the index (one batched FAISS search) and with the candidates of
    the same batch accepted before it. Accepted vectors are added to the index.
    A candidate whose prompt_id is already in the index for the same input message is a replay after a
    crash: the earlier decision (accept) stands and it is not added twice. The same prompt_id
    from another input message is an exact duplicate.
    """

    def __init__(self, index: VectorIndex, threshold: float) -> None:
        self.index = index
        self.threshold = threshold

    def decide(self, batch: Sequence[Candidate]) -> list[Decision]:
        if not batch:
            return []
        queries = np.stack([c.vector for c in batch]).astype(np.float32)
        sims, ids = self.index.search(queries, k=2)
        decisions: list[Decision] = []
        kept_vecs: list[np.ndarray] = []
        kept_ids: list[str] = []
        kept_owners: list[str] = []
        for i, cand in enumerate(batch):
            owner = self.index.owners.get(cand.prompt_id)
            if (owner is not None and owner != cand.owner) or cand.prompt_id in kept_ids:
                decisions.append(Decision(cand.prompt_id, False, cand.prompt_id, 1.0, False, True))
                continue
            if owner is not None:
                # Replay: compare with the others only, never with itself.
                others = [
                    (s, p) for s, p in zip(sims[i], ids[i], strict=True) if p != cand.prompt_id
                ]
                best_sim, best_id = others[0] if others else (-np.inf, None)
                decisions.append(_decision(cand.prompt_id, True, best_id, best_sim, replayed=True))
                continue
            best_sim, best_id = float(sims[i][0]), ids[i][0]
            if kept_vecs:
                local = np.stack(kept_vecs) @ cand.vector
                j = int(np.argmax(local))
                if float(local[j]) > best_sim:
                    best_sim, best_id = float(local[j]), kept_ids[j]
            accepted = best_sim < self.threshold
            if accepted:
                kept_vecs.append(cand.vector)
                kept_ids.append(cand.prompt_id)
                kept_owners.append(cand.owner)
            decisions.append(_decision(cand.prompt_id, accepted, best_id, best_sim))
        if kept_vecs:
            self.index.add(np.stack(kept_vecs), kept_ids, kept_owners)
        return decisions


def _decision(
    pid: str, accepted: bool, best_id: str | None, best_sim: float, replayed: bool = False
) -> Decision:
    if best_id is None or not np.isfinite(best_sim):
        return Decision(pid, accepted, None, None, replayed)
    return Decision(pid, accepted, best_id, round(float(best_sim), 6), replayed)


def greedy_reference(vectors: np.ndarray, threshold: float) -> list[bool]:
    """Brute force: keep i iff max cosine to every kept j < i is below the threshold."""
    kept: list[int] = []
    out: list[bool] = []
    for i in range(vectors.shape[0]):
        keep = not kept or float(np.max(vectors[kept] @ vectors[i])) < threshold
        out.append(keep)
        if keep:
            kept.append(i)
    return out
