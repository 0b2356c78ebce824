"""The cascade's decision logic (services/dedup/cascade.py) on plain vectors: the greedy
curator over ``CascadeIndex`` makes the brute-force cascade's decisions, and the transformer's
own when every pair is a candidate."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import pytest

from services.dedup.cascade import (
    CascadeIndex,
    VectorCache,
    Verified,
    plan,
    verify,
)
from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.index import VectorIndex
from services.dedup.union import Pending, UnionIndex
from tests.oracles import cascade_reference, greedy_reference


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def spaces(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two correlated vector spaces with near duplicates: a 'static' one and a 'transformer'
    one that sees the same topics with other noise."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n // 3, 24))
    rows = np.concatenate(
        [
            base,
            base + rng.normal(scale=0.35, size=base.shape),
            base[: n - 2 * len(base)] + rng.normal(scale=0.6, size=(n - 2 * len(base), 24)),
        ]
    )
    rng.shuffle(rows)
    static = unit(rows + rng.normal(scale=0.25, size=rows.shape))
    transformer = unit(rows + rng.normal(scale=0.25, size=rows.shape))
    return static, transformer


def run_cascade(static, transformer, floor, threshold, k, batch=16, union=False, sure=None):
    own = VectorIndex(static.shape[1])
    pids = [f"{i:032x}" for i in range(len(static))]
    tvec = {pid: transformer[i] for i, pid in enumerate(pids)}
    out: list[bool] = []
    for start in range(0, len(static), batch):
        rows = range(start, min(start + batch, len(static)))
        cands = [Candidate(pids[i], f"t/0/{i}", static[i]) for i in rows]
        pending = Pending() if union else None
        inner = UnionIndex(own, [], pending) if union else own
        q = np.stack([c.vector for c in cands])
        p = plan(inner, q, [c.prompt_id for c in cands], k, floor, sure)
        needed = {pids[start + r] for r in p.batch_rows} | set(p.others)
        verified = Verified({pid: tvec[pid] for pid in needed})
        index = CascadeIndex(inner, p, verified, floor, 0.99, threshold, sure)
        out += [d.accepted for d in GreedyCurator(index, threshold).decide(cands)]
        if pending is not None:
            pending.flush()
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("union", [False, True])
def test_the_curator_over_the_cascade_makes_the_brute_force_decisions(seed, union):
    static, transformer = spaces(300, seed)
    floor, threshold = 0.7, 0.8
    got = run_cascade(static, transformer, floor, threshold, k=300, union=union)
    assert got == cascade_reference(static, transformer, floor, threshold, k=300)
    assert 30 < got.count(False) < 270  # the stream has duplicates and keeps most topics


@pytest.mark.parametrize("seed", [4, 5])
def test_a_sure_static_cosine_decides_without_the_transformer(seed):
    static, transformer = spaces(300, seed)
    got = run_cascade(static, transformer, 0.7, 0.8, k=300, union=True, sure=0.9)
    assert got == cascade_reference(static, transformer, 0.7, 0.8, k=300, sure=0.9)
    # a pair the static model cannot tell apart is a duplicate, whatever the transformer says
    same = unit(np.array([[1.0, 0.0], [1.0, 0.0]]))
    apart = unit(np.array([[1.0, 0.0], [0.0, 1.0]]))
    assert run_cascade(same, apart, 0.7, 0.8, k=2, sure=0.95) == [True, False]
    assert run_cascade(same, apart, 0.7, 0.8, k=2) == [True, True]


def test_with_every_pair_a_candidate_the_decisions_are_the_transformers():
    static, transformer = spaces(240, 7)
    got = run_cascade(static, transformer, floor=-1.0, threshold=0.8, k=240)
    assert got == greedy_reference(transformer, 0.8)


def test_a_high_floor_misses_pairs_only_the_transformer_sees():
    static, transformer = spaces(240, 9)
    strict = run_cascade(static, transformer, floor=0.99, threshold=0.8, k=8)
    assert strict.count(False) < greedy_reference(transformer, 0.8).count(False)


class Source:
    def __init__(self, vectors: dict[str, np.ndarray], texts: dict[str, str]) -> None:
        self._v, self._t = vectors, texts
        self.asked: list[list[str]] = []

    async def vectors(self, pids: Sequence[str]) -> dict[str, np.ndarray]:
        self.asked.append(list(pids))
        return {p: self._v[p] for p in pids if p in self._v}

    async def texts(self, pids: Sequence[str]) -> dict[str, str]:
        return {p: self._t[p] for p in pids if p in self._t}


def test_verify_takes_vectors_from_the_cache_then_redis_then_the_text():
    static = unit(
        np.array([[1, 0, 0], [0.99, 0.1, 0], [0.98, 0, 0.1], [0.97, 0.1, 0.1], [0, 1, 0]])
    )
    idx = VectorIndex(3)
    idx.add(static[:4], ["a" * 32, "b" * 32, "c" * 32, "d" * 32], ["o"] * 4)
    cache = VectorCache(10)
    cache.put("a" * 32, np.ones(2, dtype=np.float32))
    src = Source({"b" * 32: np.ones(2, dtype=np.float32)}, {"c" * 32: "text of c"})
    encoded: list[list[str]] = []

    def encode(texts: list[str]) -> np.ndarray:
        encoded.append(texts)
        return np.ones((len(texts), 2), dtype=np.float32)

    async def run(fn, *args):
        return fn(*args)

    q = static[4:5] * 0 + static[0:1]  # a new prompt close to all four
    p = plan(idx, q, ["e" * 32], k=8, floor=0.9)
    assert {pid for pid, _ in p.cands[0]} == {"a" * 32, "b" * 32, "c" * 32, "d" * 32}
    verified, computed = asyncio.run(
        verify(p, ["e" * 32], ["the new prompt"], {}, cache, src, encode, run)
    )
    assert encoded == [["the new prompt", "text of c"]]  # one encoder call
    assert set(computed) == {"e" * 32, "c" * 32} and verified.unverified == {"d" * 32}
    assert src.asked == [sorted({"b" * 32, "c" * 32, "d" * 32})]
    assert cache.get("c" * 32) is not None  # kept for the next batch


def test_an_unverifiable_candidate_is_a_duplicate_only_at_the_fallback():
    idx = VectorIndex(2)
    static = unit(np.array([[1.0, 0.0], [0.96, 0.28]]))  # cosine 0.96
    idx.add(static[:1], ["a" * 32], ["o"])
    cands = [Candidate("b" * 32, "t/0/1", static[1])]
    p = plan(idx, static[1:], ["b" * 32], 8, 0.8)
    for fallback, accepted in ((0.95, False), (0.97, True)):
        index = CascadeIndex(idx, p, Verified({}, {"a" * 32}), 0.8, fallback, 0.85)
        (d,) = GreedyCurator(index, 0.85).decide(cands)
        assert d.accepted is accepted and index.fallbacks == 1


def test_the_cache_keeps_the_most_recently_used():
    c = VectorCache(2)
    for pid in "abc":
        c.put(pid, np.zeros(1))
    assert c.get("a") is None and len(c) == 2
    c.get("b")
    c.put("d", np.zeros(1))
    assert c.get("b") is not None and c.get("c") is None
