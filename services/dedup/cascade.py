"""The cascade: a static model finds the candidates, the transformer decides.

The static model (services/embed/static.py) encodes every prompt at ~17,000/s and its vectors
fill the indexes; the transformer (~200/s here) is asked only about the pairs the static model
finds close. The greedy rule is the transformer's: a prompt is a near duplicate when an accepted
prompt is at or above ``near_dup_threshold`` in transformer cosine. It is applied only to the
pairs whose static cosine reaches the floor (``cascade_floor``), at most ``k`` per prompt, most
similar first: a pair the transformer calls duplicates but the static model puts below the floor
is missed (python -m bench cascade measures how often, against the transformer on every pair). A
candidate at or above ``sure`` (``cascade_sure``) in static cosine is a duplicate without asking
the transformer: on streams where most prompts repeat, that saves half its work.

Per group of a curate batch (``prepare``): the static candidates of each prompt (in the indexes,
the batch's pending acceptances, and the group itself); the transformer vectors of the prompts
that have one and of their candidates, from the in-memory cache, then Redis (``VectorSource``),
then by encoding the candidate's text (kept for accepted prompts while the cascade is on). A
candidate whose text is gone (accepted before the cascade was switched on, or past its
retention) is judged by its static cosine against ``fallback``, and counted.

``CascadeIndex`` then speaks the greedy curator's ``NearIndex`` over the prepared candidates:
``GreedyCurator`` runs unchanged, and so do replays, exact duplicates and the quota checks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from services.dedup.greedy import Candidate
from services.dedup.index import VectorIndex
from services.dedup.union import Pending, UnionIndex


class Searchable(Protocol):
    """What candidates are searched in: a ``VectorIndex`` or a ``UnionIndex``."""

    def queries(self, batch: Sequence[Candidate]) -> np.ndarray: ...

    def owners_of(self, pids: Sequence[str]) -> list[str | None]: ...

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None: ...


def _parts(index: object) -> tuple[list[VectorIndex], Pending | None]:
    if isinstance(index, UnionIndex):
        return index.parts, index.pending
    if isinstance(index, VectorIndex):
        return [index], None
    raise TypeError(f"no candidates in {type(index).__name__}")


def static_candidates(
    index: object, queries: np.ndarray, pids: Sequence[str], k: int, floor: float
) -> list[list[tuple[str, float]]]:
    """Per query, up to ``k`` accepted prompts other than itself at static cosine >= ``floor``,
    most similar first, from every part of ``index`` and its pending acceptances."""
    found: list[dict[str, float]] = [{} for _ in pids]
    parts, pending = _parts(index)
    for part in parts:
        if len(part) == 0:
            continue
        sims, ids = part.search(queries, k + 1)  # +1: the prompt itself on a replay
        for i, pid in enumerate(pids):
            for sim, other in zip(sims[i], ids[i], strict=True):
                if other is not None and other != pid and sim >= floor:
                    found[i][other] = max(float(sim), found[i].get(other, -1.0))
    if pending is not None and len(pending):
        sims = queries @ np.stack(pending.vectors).T
        for i, pid in enumerate(pids):
            for j in np.flatnonzero(sims[i] >= floor):
                other = pending.pids[int(j)]
                if other != pid:
                    found[i][other] = max(float(sims[i][j]), found[i].get(other, -1.0))
    return [sorted(f.items(), key=lambda kv: -kv[1])[:k] for f in found]


def local_pairs(queries: np.ndarray, floor: float) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of a group at static cosine >= ``floor``."""
    sims = queries @ queries.T
    rows, cols = np.nonzero(np.triu(sims >= floor, k=1))
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


class VectorCache:
    """Transformer vectors by prompt id, the most recently used ``cap`` of them."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._d: OrderedDict[str, np.ndarray] = OrderedDict()

    def get(self, pid: str) -> np.ndarray | None:
        v = self._d.get(pid)
        if v is not None:
            self._d.move_to_end(pid)
        return v

    def put(self, pid: str, vec: np.ndarray) -> None:
        if self.cap <= 0:
            return
        self._d[pid] = vec
        self._d.move_to_end(pid)
        while len(self._d) > self.cap:
            self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)


@dataclass
class Plan:
    """What one group needs before its decisions: per prompt its index candidates, the group's
    close pairs, and which transformer vectors are missing."""

    cands: list[list[tuple[str, float]]]
    pairs: list[tuple[int, int]]
    batch_rows: list[int]  # group positions whose transformer vector is needed
    others: list[str]  # candidates outside the group whose transformer vector is needed


def plan(
    index: object,
    queries: np.ndarray,
    pids: Sequence[str],
    k: int,
    floor: float,
    sure: float | None = None,
) -> Plan:
    """A prompt whose best index candidate reaches ``sure`` is a duplicate without the
    transformer: neither it nor its index candidates need a transformer vector for its sake."""
    cands = static_candidates(index, queries, pids, k, floor)
    pairs = local_pairs(queries, floor)
    settled = {i for i, c in enumerate(cands) if sure is not None and c and c[0][1] >= sure}
    rows = {i for i, c in enumerate(cands) if c and i not in settled}
    rows |= {x for p in pairs for x in p}
    group = set(pids)
    others = sorted(
        {q for i, c in enumerate(cands) if i not in settled for q, _ in c if q not in group}
    )
    return Plan(cands, pairs, sorted(rows), others)


@dataclass
class Verified:
    """The transformer vectors a group's decisions use, and the candidates without one."""

    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    unverified: set[str] = field(default_factory=set)  # text gone: static fallback


class CascadeIndex:
    """``NearIndex`` over prepared candidates: similarities are transformer cosines of the pairs
    the static model proposed; a pair it did not propose is not near (-inf)."""

    def __init__(
        self,
        inner: Searchable,
        plan: Plan,
        verified: Verified,
        floor: float,
        fallback: float,
        threshold: float,
        sure: float | None = None,
    ) -> None:
        self.inner = inner
        self.sure = sure
        self.plan = plan
        self.verified = verified
        self.floor = floor
        self.fallback = fallback
        self.threshold = threshold
        self._pids: list[str] = []
        self.fallbacks = 0  # decisions that used a static cosine unverified

    def queries(self, batch: Sequence[Candidate]) -> np.ndarray:
        self._pids = [c.prompt_id for c in batch]  # the rows the plan was made for, in order
        return self.inner.queries(batch)

    def check_threshold(self, threshold: float) -> None:
        """Any threshold: the candidates were gathered at the floor, not at the threshold."""

    def _sim(self, a: str, b: str, static: float) -> float:
        if self.sure is not None and static >= self.sure:
            return max(self.threshold, static)  # so close the transformer is not asked
        va, vb = self.verified.vectors.get(a), self.verified.vectors.get(b)
        if va is not None and vb is not None:
            return float(va @ vb)
        self.fallbacks += 1
        # unverifiable: a duplicate only when the static model is sure on its own
        return self.threshold if static >= self.fallback else -np.inf

    def nearest_other(
        self, queries: np.ndarray, pids: Sequence[str]
    ) -> list[tuple[str | None, float]]:
        out: list[tuple[str | None, float]] = []
        for i, pid in enumerate(pids):
            best: tuple[str | None, float] = (None, -np.inf)
            for other, static in self.plan.cands[i]:
                sim = self._sim(pid, other, static)
                if sim > best[1]:
                    best = (other, sim)
            out.append(best)
        return out

    def similarities(self, queries: np.ndarray, rows: list[int], i: int) -> np.ndarray:
        static = queries[rows] @ queries[i]
        out = np.full(len(rows), -np.inf, dtype=np.float64)
        for n, r in enumerate(rows):
            if static[n] >= self.floor:
                out[n] = self._sim(self._pids[r], self._pids[i], float(static[n]))
        return out

    def owners_of(self, pids: Sequence[str]) -> list[str | None]:
        return self.inner.owners_of(pids)

    def add_kept(self, queries: np.ndarray, pids: Sequence[str], owners: Sequence[str]) -> None:
        self.inner.add_kept(queries, pids, owners)


class VectorSource(Protocol):
    """Transformer vectors and texts of accepted prompts kept outside the process
    (``services.state.cascade_store.RedisCascadeStore``)."""

    async def vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]: ...

    async def texts(self, pids: Sequence[str]) -> dict[str, str]: ...


async def verify(
    plan_: Plan,
    pids: Sequence[str],
    texts: Sequence[str],
    batch_texts: Mapping[str, str],
    cache: VectorCache,
    source: VectorSource,
    encode: Callable[[list[str]], np.ndarray],
    run: Callable[..., object],
) -> tuple[Verified, dict[str, np.ndarray]]:
    """The transformer vectors ``plan_`` needs: the group's own (``texts``, encoded), the
    candidates' from the cache, Redis, or their text (a prompt of this batch: ``batch_texts``).
    ``run(fn, *args)`` runs the encoder off the event loop. Returns them and the ones computed
    here for the group's prompts (to keep with their acceptance)."""
    out = Verified()
    todo_ids: list[str] = []
    todo_texts: list[str] = []
    for i in plan_.batch_rows:
        v = cache.get(pids[i])
        if v is None:
            todo_ids.append(pids[i])
            todo_texts.append(texts[i])
        else:
            out.vectors[pids[i]] = v
    missing = []
    for q in plan_.others:
        v = cache.get(q)
        if v is not None:
            out.vectors[q] = v
        elif q in batch_texts:
            todo_ids.append(q)
            todo_texts.append(batch_texts[q])
        else:
            missing.append(q)
    if missing:
        stored = await source.vectors(missing)
        out.vectors.update(stored)
        gone = [q for q in missing if q not in stored]
        if gone:
            found = await source.texts(gone)
            for q in gone:
                if q in found:
                    todo_ids.append(q)
                    todo_texts.append(found[q])
                else:
                    out.unverified.add(q)
    computed: dict[str, np.ndarray] = {}
    if todo_texts:
        vecs = await run(encode, todo_texts)  # type: ignore[misc]
        for pid, v in zip(todo_ids, np.asarray(vecs, dtype=np.float32), strict=True):
            out.vectors[pid] = v
            computed[pid] = v
            cache.put(pid, v)
    return out, computed


@dataclass
class Verifier:
    """The cascade's parts the curate stage holds: the transformer's ``encode``, where
    vectors and texts of accepted prompts are kept, the in-memory cache and the settings."""

    encode: Callable[[list[str]], np.ndarray]
    source: VectorSource
    cache: VectorCache
    floor: float
    k: int
    fallback: float
    sure: float | None = None
