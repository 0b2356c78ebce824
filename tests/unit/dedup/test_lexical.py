import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.lsh import LshIndex, max_disagreements, rows_for
from services.dedup.minhash import NUM_PERM, THRESHOLD, MinHasher, shingle_text
from tests.oracles import estimated_jaccard, greedy_lexical_reference

ROOT = Path(__file__).resolve().parents[3]
TEXT = "用一句话回答以下问题：基因工程的应用是什么？"
# MinHasher() defaults (n=3, 128 permutations, seed 20240607): any change of the shingling, the
# hash or the seed changes these, and with them every signature stored in Redis.
EXPECTED_HEAD = [25268160, 340738509, 273831574, 306345444, 200498820, 37125009]

CJK = [chr(c) for c in range(0x4E00, 0x4E00 + 400)]


def pid(i: int) -> str:
    return f"{i:032x}"


def true_jaccard(a: str, b: str, n: int = 3) -> float:
    def grams(s: str) -> set[str]:
        s = shingle_text(s)
        return {s[i : i + n] for i in range(max(1, len(s) - n + 1))}

    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def test_signature_has_fixed_values_in_every_process():
    sig = MinHasher().signature(TEXT)
    assert sig.dtype == np.uint32 and sig.shape == (NUM_PERM,)
    assert sig[:6].tolist() == EXPECTED_HEAD
    code = f"from services.dedup.minhash import MinHasher;print(MinHasher().signature({TEXT!r}).tolist())"
    for seed in ("1", "2"):  # Python's str hash differs per PYTHONHASHSEED; ours must not
        out = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            cwd=ROOT,
        ).stdout
        assert json.loads(out) == sig.tolist()


def test_batched_signatures_equal_single_ones():
    rng = np.random.default_rng(0)
    texts = ["", "a", "你好", TEXT, "x" * 10_000] + [
        "".join(rng.choice(CJK, int(rng.integers(1, 300)))) for _ in range(60)
    ]
    h = MinHasher()
    assert np.array_equal(h.signatures(texts, chunk=256), np.stack([h.signature(t) for t in texts]))


def test_punctuation_spacing_width_and_case_are_not_edits():
    h = MinHasher()
    base = h.signature("你好，请问 Python 怎么读文件？")
    assert np.array_equal(base, h.signature("你好,请问python怎么读文件?"))
    assert np.array_equal(base, h.signature("  你好！请问 ＰＹＴＨＯＮ 怎么读文件。。"))


def test_short_and_empty_texts():
    h = MinHasher()
    assert np.array_equal(h.signature(""), np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32))
    assert estimated_jaccard(h.signature("你好"), h.signature("你好!")) == 1.0
    assert estimated_jaccard(h.signature("你好"), h.signature("您好")) < 0.1


def test_estimated_jaccard_is_close_to_true_jaccard():
    rng = np.random.default_rng(1)
    h = MinHasher()
    errors = []
    for _ in range(200):
        base = "".join(rng.choice(CJK, int(rng.integers(20, 120))))
        cut = int(rng.integers(1, len(base)))
        other = base[:cut] + "".join(rng.choice(CJK, int(rng.integers(0, 40)))) + base[cut:]
        est = estimated_jaccard(h.signature(base), h.signature(other))
        errors.append(est - true_jaccard(base, other))
    errors_arr = np.abs(np.array(errors))
    # one estimate has standard deviation sqrt(J(1-J)/128) <= 0.044
    assert errors_arr.mean() < 0.03 and errors_arr.max() < 0.2
    assert abs(np.mean(errors)) < 0.01  # unbiased


NEAR = [
    ("你好,我需要将500美元转换成欧元。你能帮我吗?", "你好,我需要将500美元兑换成欧元。你能帮我吗?"),
    ("描述泰姬陵的建筑风格。", "请描述泰姬陵的建筑风格。"),
    (
        "写一个Python函数,它接受两个整数并返回它们的最小公倍数。",
        "写一个Python函数，它接受两个整数并返回它们的最小公倍数吧",
    ),
    ("你好,我需要在我的日历中创建一个新事件。", "我需要在我的日历中创建一个新事件。"),
    (
        "解释一下为什么天空是蓝色的，并给出一个简单的例子。",
        "解释一下为什么天空是蓝色的，并给出一个简单的例子。谢谢！",
    ),
]
UNRELATED = [
    "用一句话回答以下问题：基因工程的应用是什么？",
    "信息革命的两个好处。",
    "解释作者为什么反对这个计划。",
    "你能帮我订一张从纽约到伦敦的机票吗?",
    "将下面的句子翻译成英文：今天天气很好。",
]


def test_near_duplicate_chinese_prompts_are_merged_and_unrelated_ones_kept():
    h = MinHasher()
    curator = GreedyCurator(LshIndex(), THRESHOLD)
    texts = [a for a, _ in NEAR] + UNRELATED + [b for _, b in NEAR]
    cands = [Candidate(pid(i), f"t/0/{i}", h.signature(t)) for i, t in enumerate(texts)]
    decisions = curator.decide(cands)
    first = len(NEAR) + len(UNRELATED)
    assert all(d.accepted for d in decisions[:first])
    for k, d in enumerate(decisions[first:]):
        assert not d.accepted and not d.exact_duplicate
        assert d.nearest_id == pid(k) and d.similarity is not None and d.similarity >= 0.7


def clustered_signatures(n: int, seed: int, clusters: int = 12) -> np.ndarray:
    """Signatures around a few centres: each copies its centre and redraws a random share of
    positions, so estimated Jaccards spread around every threshold."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2**32, size=(clusters, NUM_PERM), dtype=np.uint64)
    sigs = centres[rng.integers(0, clusters, n)].copy()
    redraw = rng.random((n, NUM_PERM)) < rng.uniform(0.0, 0.6, size=(n, 1))
    sigs[redraw] = rng.integers(0, 2**32, size=int(redraw.sum()), dtype=np.uint64)
    return sigs.astype(np.uint32)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("threshold", [0.6, 0.7, 0.8])
def test_decisions_equal_brute_force_greedy(seed, threshold):
    sigs = clustered_signatures(500, seed)
    curator = GreedyCurator(LshIndex.for_threshold(threshold), threshold)
    rng = np.random.default_rng(seed)
    decided, i = [], 0
    while i < len(sigs):  # random micro-batch sizes, as stream.take gives them
        size = int(rng.integers(1, 60))
        batch = [Candidate(pid(j), f"t/0/{j}", sigs[j]) for j in range(i, min(i + size, len(sigs)))]
        decided += curator.decide(batch)
        i += size
    reference = greedy_lexical_reference(sigs, threshold)
    assert [d.accepted for d in decided] == [k for k, _, _ in reference]
    assert 0 < sum(d.accepted for d in decided) < len(sigs)  # both outcomes exercised
    for d, (kept, nearest, sim) in zip(decided, reference, strict=True):
        if not kept:  # a rejection names the same nearest prompt and estimate
            assert d.nearest_id == pid(nearest) and d.similarity == pytest.approx(sim)
    assert len(curator.index) == sum(k for k, _, _ in reference)


def test_decisions_on_edited_texts_equal_brute_force_greedy():
    rng = np.random.default_rng(7)
    bases = ["".join(rng.choice(CJK[:60], int(rng.integers(8, 60)))) for _ in range(40)]
    texts = []
    for _ in range(400):
        t = bases[int(rng.integers(0, len(bases)))]
        for _ in range(int(rng.integers(0, 4))):
            k = int(rng.integers(0, len(t)))
            t = t[:k] + str(rng.choice(CJK)) + t[k + 1 :]
        texts.append(t)
    sigs = MinHasher().signatures(texts)
    curator = GreedyCurator(LshIndex(), 0.7)
    decided = []
    for lo in range(0, len(texts), 37):
        decided += curator.decide(
            [Candidate(pid(j), f"t/0/{j}", sigs[j]) for j in range(lo, min(lo + 37, len(texts)))]
        )
    assert [d.accepted for d in decided] == [k for k, _, _ in greedy_lexical_reference(sigs, 0.7)]


@pytest.mark.parametrize("threshold", [0.6, 0.7, 0.8])
def test_lsh_never_misses_a_pair_at_the_threshold(threshold):
    """The worst case for banding: as many differing positions as the threshold allows, one in
    each band. The default banding still finds the pair; one more row per band does not."""
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**32, NUM_PERM, dtype=np.uint64).astype(np.uint32)
    worst = max_disagreements(threshold, NUM_PERM)
    for rows, found in ((rows_for(threshold), True), (rows_for(threshold) + 1, False)):
        index = LshIndex(NUM_PERM, rows)
        index.add([pid(0)], base[None, :], ["o"])
        spread = (np.arange(worst) % index.bands) * rows + np.arange(worst) // index.bands
        query = base.copy()
        query[spread] ^= 1
        assert estimated_jaccard(base, query) >= threshold
        assert (index.best(query[None, :])[0] is not None) == found
        for _ in range(50):  # and any other placement of those differences
            query = base.copy()
            query[rng.choice(NUM_PERM, worst, replace=False)] ^= 1
            if found:
                assert index.best(query[None, :])[0] == (pid(0), (NUM_PERM - worst) / NUM_PERM)


def test_banding_is_exact_for_its_threshold_only():
    assert rows_for(0.7) == 3 and rows_for(0.8) == 4 and rows_for(0.6) == 2
    index = LshIndex.for_threshold(0.8)
    assert index.exact_for(0.8) and not index.exact_for(0.7)
    with pytest.raises(ValueError):
        GreedyCurator(index, 0.7)


def test_index_added_in_small_batches_answers_like_one_add():
    sigs = clustered_signatures(300, 11)
    one, many = LshIndex(), LshIndex()
    one.add([pid(i) for i in range(300)], sigs, ["o"] * 300)
    for lo in range(0, 300, 7):
        hi = min(300, lo + 7)
        many.add([pid(i) for i in range(lo, hi)], sigs[lo:hi], ["o"] * (hi - lo))
    queries = clustered_signatures(50, 12)
    assert one.best(queries) == many.best(queries)
    assert len(many) == 300 and pid(5) in many and pid(300) not in many
    assert many.owners[pid(5)] == "o"


def test_replay_of_the_same_message_keeps_its_acceptance_and_is_not_added_twice():
    sigs = clustered_signatures(2, 3, clusters=1)
    index = LshIndex()
    curator = GreedyCurator(index, THRESHOLD)
    assert curator.decide([Candidate(pid(1), "t/0/0", sigs[0])])[0].accepted
    replay = curator.decide([Candidate(pid(1), "t/0/0", sigs[0])])[0]
    assert replay.accepted and replay.replayed and not replay.exact_duplicate
    assert replay.nearest_id is None  # never its own nearest
    assert len(index) == 1


def test_same_prompt_from_another_message_is_an_exact_duplicate():
    sig = clustered_signatures(1, 4)[0]
    curator = GreedyCurator(LshIndex(), THRESHOLD)
    curator.decide([Candidate(pid(1), "t/0/0", sig)])
    other = curator.decide([Candidate(pid(1), "t/0/7", sig)])[0]
    assert not other.accepted and other.exact_duplicate and other.nearest_id == pid(1)
    in_batch = GreedyCurator(LshIndex(), THRESHOLD).decide(
        [Candidate(pid(2), "t/0/1", sig), Candidate(pid(2), "t/0/2", sig)]
    )
    assert [d.accepted for d in in_batch] == [True, False] and in_batch[1].exact_duplicate


def test_nearest_and_similarity_are_reported():
    h = MinHasher()
    curator = GreedyCurator(LshIndex(), THRESHOLD)
    a, b = NEAR[0]
    first = curator.decide([Candidate(pid(1), "t/0/0", h.signature(a))])[0]
    assert first.accepted and first.nearest_id is None and first.similarity is None
    second = curator.decide([Candidate(pid(2), "t/0/1", h.signature(b))])[0]
    assert second.nearest_id == pid(1)
    assert second.similarity == pytest.approx(estimated_jaccard(h.signature(a), h.signature(b)))
