"""The greedy near-duplicate decision, one rule over any similarity.

Decisions follow the greedy rule used for Llama 3's SFT prompts: in decision order, keep a
prompt iff its maximum similarity to every prompt kept before it is below the threshold.
``GreedyCurator`` computes those decisions against an index with one batched search per
micro-batch (the tests hold the brute-force statement of the rule to compare against).

The index is anything that speaks ``NearIndex``: ``services.dedup.index.VectorIndex`` (FAISS,
cosine) and ``services.dedup.lsh.LshIndex`` (MinHash LSH, estimated Jaccard).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

Admit = Callable[[int], str | None]


@dataclass(frozen=True)
class Candidate:
    prompt_id: str
    owner: str  # identity of the input message (topic/partition/offset); same on a replay
    vector: np.ndarray  # a unit float32 vector (cosine) or a uint32 MinHash signature (Jaccard)


@dataclass(frozen=True)
class Decision:
    prompt_id: str
    accepted: bool
    nearest_id: str | None
    similarity: float | None  # max similarity to the accepted set before this prompt
    replayed: bool = False  # this event's prompt is already in the index: its acceptance stands
    exact_duplicate: bool = False  # another event already got this prompt_id accepted
    refused: str | None = None  # not a duplicate, but ``admit`` refused it (quota, mix)


class NearIndex(Protocol):
    """What the greedy rule needs of an index of accepted prompts."""

    def queries(self, batch: Sequence[Candidate]) -> np.ndarray:
        """The batch's vectors stacked in the index's dtype."""
        ...

    def check_threshold(self, threshold: float) -> None:
        """Raise ``ValueError`` when the index could miss pairs at ``threshold``."""
        ...

    def nearest_other(
        self, queries: np.ndarray, pids: Sequence[str]
    ) -> list[tuple[str | None, float]]:
        """Per query, the most similar indexed prompt other than ``pids[i]`` itself
        ((None, -inf) when there is none)."""
        ...

    def similarities(self, queries: np.ndarray, rows: list[int], i: int) -> np.ndarray:
        """Similarity of ``queries[i]`` to each of ``queries[rows]``."""
        ...

    def owners_of(self, pids: Sequence[str]) -> list[str | None]: ...

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None: ...


class GreedyCurator:
    """Greedy de-duplication of a batch against an index, in the batch's order.

    Equivalent to the brute-force reference on the concatenation (index contents, batch): each
    candidate is compared with the index (one batched search) and with the candidates of the same
    batch accepted before it; accepted candidates are added to the index at the end. A
    candidate whose prompt_id is already in the index for the same input message is a replay
    after a crash: the earlier decision (accept) stands and it is not added twice. The same
    prompt_id from another input message, or twice in one batch, is an exact duplicate.
    """

    def __init__(self, index: NearIndex, threshold: float) -> None:
        index.check_threshold(threshold)
        self.index = index
        self.threshold = threshold

    def decide(self, batch: Sequence[Candidate], admit: Admit | None = None) -> list[Decision]:
        """``admit(i)``, when given, is asked about each new acceptance (batch position ``i``)
        after the near-duplicate check; a reason refuses it (``Decision.refused``) and the
        candidate is not kept, so it neither enters the index nor shadows later candidates."""
        if not batch:
            return []
        ix = self.index
        queries = ix.queries(batch)
        pids = [c.prompt_id for c in batch]
        decisions, kept = greedy_pass(
            [(c.prompt_id, c.owner) for c in batch],
            ix.owners_of(pids),
            ix.nearest_other(queries, pids),
            lambda rows, i: ix.similarities(queries, rows, i),
            self.threshold,
            admit,
        )
        if kept:
            ix.add_kept(queries[kept], [pids[i] for i in kept], [batch[i].owner for i in kept])
        return decisions


def greedy_pass(
    cands: Sequence[tuple[str, str]],
    owners: Sequence[str | None],
    nearest: Sequence[tuple[str | None, float]],
    local: Callable[[list[int], int], np.ndarray],
    threshold: float,
    admit: Admit | None = None,
) -> tuple[list[Decision], list[int]]:
    """The greedy rule over one batch.

    ``cands``: (prompt_id, owner) per candidate in decision order; ``owners``: who got each
    prompt_id into the index already (None: nobody); ``nearest``: the best (prompt_id,
    similarity) in the index other than the candidate itself; ``local(rows, i)``: similarities
    of candidate ``i`` to the batch's kept candidates ``rows``. Returns the decisions and the
    positions kept (to add to the index).
    """
    decisions: list[Decision] = []
    kept: list[int] = []
    kept_set: set[str] = set()
    for i, ((pid, mine), owner) in enumerate(zip(cands, owners, strict=True)):
        if (owner is not None and owner != mine) or pid in kept_set:
            decisions.append(Decision(pid, False, pid, 1.0, False, True))
            continue
        best_id, best_sim = nearest[i]
        if owner is not None:  # replay: the earlier acceptance stands
            decisions.append(_decision(pid, True, best_id, best_sim, replayed=True))
            continue
        if kept:
            sims = local(kept, i)
            j = int(np.argmax(sims))
            if float(sims[j]) > best_sim:
                best_sim, best_id = float(sims[j]), cands[kept[j]][0]
        accepted = best_sim < threshold
        refused = admit(i) if accepted and admit is not None else None
        if refused is not None:
            decisions.append(replace(_decision(pid, False, best_id, best_sim), refused=refused))
            continue
        if accepted:
            kept.append(i)
            kept_set.add(pid)
        decisions.append(_decision(pid, accepted, best_id, best_sim))
    return decisions, kept


def _decision(
    pid: str, accepted: bool, best_id: str | None, best_sim: float, replayed: bool = False
) -> Decision:
    if best_id is None or not np.isfinite(best_sim):
        return Decision(pid, accepted, None, None, replayed)
    return Decision(pid, accepted, best_id, round(float(best_sim), 6), replayed)
