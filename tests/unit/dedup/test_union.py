"""The union of several shards' indexes decides as one global index does."""

from __future__ import annotations

import numpy as np

from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.index import VectorIndex
from services.dedup.union import UnionIndex
from tests.oracles import greedy_reference


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n // 3, dim))
    v = np.concatenate(
        [base, base + 0.1 * rng.normal(size=base.shape), rng.normal(size=(n - 2 * (n // 3), dim))]
    )
    v = v[rng.permutation(len(v))]
    return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


def test_sharded_union_equals_the_global_greedy_rule():
    dim, n, shards = 16, 300, 4
    vecs = unit_rows(n, dim, 1)
    route = np.random.default_rng(2).integers(0, shards, size=n)  # routing ignores meaning
    parts = [VectorIndex(dim, ann_after=None) for _ in range(shards)]
    kept = []
    for start in range(0, n, 25):  # micro-batches, each to its shard's curator in turn
        for s in range(shards):
            rows = [i for i in range(start, min(start + 25, n)) if route[i] == s]
            cands = [Candidate(f"{i:032x}", f"t/0/{i}", vecs[i]) for i in rows]
            decided = GreedyCurator(UnionIndex(parts[s], parts), 0.9).decide(cands)
            kept += [i for i, d in zip(rows, decided, strict=True) if d.accepted]
    # sequential shards (no concurrency): exactly the global rule in the order decided
    order = [
        i
        for start in range(0, n, 25)
        for s in range(shards)
        for i in range(start, min(start + 25, n))
        if route[i] == s
    ]
    ref = greedy_reference(vecs[order], 0.9)
    assert sorted(kept) == sorted(i for i, k in zip(order, ref, strict=True) if k)
    assert sum(len(p) for p in parts) == len(kept)
    assert all(
        len(parts[s]) == int(np.isin(kept, np.flatnonzero(route == s)).sum()) for s in range(shards)
    )


def test_owners_and_neighbours_come_from_any_part():
    a, b = VectorIndex(4, ann_after=None), VectorIndex(4, ann_after=None)
    b.add(np.eye(4, dtype=np.float32)[:1], [f"{7:032x}"], ["t/1/5"])
    u = UnionIndex(a, [a, b])
    assert u.owners_of([f"{7:032x}", f"{8:032x}"]) == ["t/1/5", None]
    assert u.nearest_other(np.eye(4, dtype=np.float32)[:1], [f"{8:032x}"])[0][0] == f"{7:032x}"
    u.add_kept(np.eye(4, dtype=np.float32)[1:2], [f"{9:032x}"], ["t/0/1"])
    assert (len(a), len(b)) == (1, 1)
