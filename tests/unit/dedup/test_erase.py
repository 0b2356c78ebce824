"""Erasing rows from the indexes (docs/privacy.md): the prompt is found no more, by id or by
vector, the rows keep their numbers, the rest is untouched, and the same id may come back."""

import numpy as np
import pytest

from services.dedup.ids import ERASED_PID
from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import MinHasher

DIM = 16


def unit(n: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.mark.parametrize("ann", ["flat", "ivf_sq8", "ivf_pq4fs_sq8"])
def test_an_erased_vector_is_found_no_more(ann):
    n = 600
    x = unit(n)
    pids = [f"{i:032x}" for i in range(n)]
    if ann == "flat":
        index = VectorIndex(DIM, ann_after=None)
    else:
        index = VectorIndex(DIM, ann_after=256, nlist=16, nprobe=16, ann=ann)
    index.add(x, pids, [f"ev/0/{i}" for i in range(n)])
    assert index.kind == ann
    gone = pids[10:20]
    assert index.erase([*gone, "f" * 31 + "e", "not a pid"]) == 10
    assert index.erase(gone) == 0  # once
    assert len(index) == n and index.owners_of(gone) == [None] * 10
    _, ids = index.search(x[10:20], 3)
    assert not {p for row in ids for p in row} & {*gone, ERASED_PID}
    sims, ids = index.search(x[30:40], 1)
    assert [row[0] for row in ids] == pids[30:40]
    restored = VectorIndex(DIM, ann_after=None)
    restored.load_state(index.state())  # a snapshot holds nothing of them
    assert restored.owners_of(gone) == [None] * 10
    index.add(x[10:11], pids[10:11], ["ev/1/0"])  # sent again by someone else
    assert index.owners_of(pids[10:11]) == ["ev/1/0"]


def test_an_erased_signature_is_found_no_more():
    texts = [f"how do I bake sourdough bread number {i} at home" for i in range(20)]
    sigs = MinHasher().signatures(texts)
    lsh = LshIndex.for_threshold(0.7)
    pids = [f"{i:032x}" for i in range(20)]
    lsh.add(pids, sigs, ["o"] * 20)
    assert lsh.erase(pids[:5]) == 5 and pids[0] not in lsh
    best = lsh.best(sigs[:5])
    assert all(b is None or b[0] not in pids[:5] for b in best)
