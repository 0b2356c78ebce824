import numpy as np
import pytest

from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.index import VectorIndex
from tests.oracles import greedy_reference


def unit_rows(n: int, dim: int, seed: int, clusters: int = 6) -> np.ndarray:
    """Vectors around a few centres, so that near duplicates are common."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(0, clusters, n)] + rng.normal(scale=0.35, size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("threshold", [0.8, 0.9, 0.95])
def test_batched_faiss_decisions_equal_brute_force_greedy(seed, threshold):
    vecs = unit_rows(400, 32, seed)
    curator = GreedyCurator(VectorIndex(32), threshold)
    rng = np.random.default_rng(seed)
    decided, i = [], 0
    while i < len(vecs):  # random micro-batch sizes, as stream.take gives them
        size = int(rng.integers(1, 50))
        batch = [
            Candidate(f"{j:032x}", f"t/0/{j}", vecs[j]) for j in range(i, min(i + size, len(vecs)))
        ]
        decided += [d.accepted for d in curator.decide(batch)]
        i += size
    reference = greedy_reference(vecs, threshold)
    assert decided == reference
    assert 0 < sum(reference) < len(reference)  # the data exercises both outcomes


def test_nearest_and_similarity_are_reported():
    vecs = unit_rows(3, 8, 1, clusters=1)
    curator = GreedyCurator(VectorIndex(8), threshold=0.999)
    first = curator.decide([Candidate("a" * 32, "t/0/0", vecs[0])])[0]
    assert first.accepted and first.nearest_id is None and first.similarity is None
    second = curator.decide([Candidate("b" * 32, "t/0/1", vecs[1])])[0]
    assert second.nearest_id == "a" * 32
    assert second.similarity == pytest.approx(float(vecs[0] @ vecs[1]), abs=1e-5)


def test_replay_of_the_same_message_keeps_its_acceptance_and_is_not_added_twice():
    vecs = unit_rows(2, 8, 2)
    index = VectorIndex(8)
    curator = GreedyCurator(index, 0.9)
    assert curator.decide([Candidate("a" * 32, "t/0/0", vecs[0])])[0].accepted
    replay = curator.decide([Candidate("a" * 32, "t/0/0", vecs[0])])[0]
    assert replay.accepted and replay.replayed
    assert len(index) == 1


def test_same_prompt_from_another_message_is_an_exact_duplicate():
    vecs = unit_rows(1, 8, 3)
    curator = GreedyCurator(VectorIndex(8), 0.9)
    curator.decide([Candidate("a" * 32, "t/0/0", vecs[0])])
    other = curator.decide([Candidate("a" * 32, "t/0/7", vecs[0])])[0]
    assert not other.accepted and other.exact_duplicate and other.nearest_id == "a" * 32
    in_batch = GreedyCurator(VectorIndex(8), 0.9).decide(
        [Candidate("c" * 32, "t/0/1", vecs[0]), Candidate("c" * 32, "t/0/2", vecs[0])]
    )
    assert [d.accepted for d in in_batch] == [True, False] and in_batch[1].exact_duplicate
