"""The evaluation-item matcher: copies found by n-gram coverage or by cosine, the rest spared."""

from __future__ import annotations

import numpy as np

from services.dedup import evalsets
from services.dedup.evalsets import EvalItem, EvalMatcher, gram_hashes, words

ITEMS = [
    EvalItem("mmlu", "q1", "Which of the following best explains why the sky appears blue?"),
    EvalItem("mmlu", "q2", "A train travels 60 miles in 1.5 hours. What is its average speed?"),
    EvalItem("cmmlu", "z1", "在农业生产中被当作极其重要的劳动对象发挥作用的基本生产资料是"),
    EvalItem("tiny", "w1", "photosynthesis"),
]


def matcher(**kw) -> EvalMatcher:
    args = {"n": 5, "coverage": 0.5, "similarity": 0.9, "min_words": 5} | kw
    return EvalMatcher(ITEMS, None, **args)


def test_words_split_latin_words_and_each_cjk_character():
    assert words("Hello, World 42! 你好") == ["hello", "world", "42", "你", "好"]


def test_a_text_shorter_than_n_is_one_gram_of_itself():
    assert len(gram_hashes(["a", "b"], 5)) == 1
    assert len(gram_hashes(["a", "b", "c", "d", "e", "f"], 5)) == 2
    assert len(gram_hashes([], 5)) == 0


def test_verbatim_and_wrapped_copies_are_matched_with_full_coverage():
    m = matcher()
    wrapped = "Can you solve this for me? " + ITEMS[1].text + " Thanks a lot!"
    found = m.match([ITEMS[0].text, wrapped], [None, None])
    assert [(f.evalset, f.item_id, f.method, f.score) for f in found if f] == [
        ("mmlu", "q1", "ngram", 1.0),
        ("mmlu", "q2", "ngram", 1.0),
    ]


def test_an_edited_word_uncovers_only_the_words_no_surviving_ngram_reaches():
    edited = "Which of the following best explains why the sky looks blue?"
    [found] = matcher().match([edited], [None])
    assert found is not None and found.item_id == "q1"
    assert found.score == round(9 / 11, 4)  # "looks" and "blue": no 5-gram without the edit


def test_chinese_characters_are_words():
    [found] = matcher().match(["帮我解答一下这道题：" + ITEMS[2].text], [None])
    assert found is not None and (found.evalset, found.item_id) == ("cmmlu", "z1")


def test_a_one_word_item_matches_nothing():
    m = matcher()
    assert len(m) == 3 and m.skipped == 1
    assert m.match(["Explain photosynthesis to a ten year old"], [None]) == [None]


def test_prompts_sharing_a_few_words_are_spared():
    found = matcher().match(
        ["Why is the sky blue at noon but red at sunset?", "What is its average price?"],
        [None, None],
    )
    assert found == [None, None]


def test_below_the_coverage_threshold_nothing_is_matched():
    half = "Which of the following best explains something else entirely, please?"
    assert matcher(coverage=0.6).match([half], [None]) == [None]  # 6 of its 11 words
    assert matcher(coverage=0.5).match([half], [None])[0] is not None


def test_embedding_match_at_or_above_the_cosine_only():
    vecs = np.eye(4, 8, dtype=np.float32)
    m = EvalMatcher(ITEMS, vecs, n=5, coverage=0.5, similarity=0.9, min_words=5)
    close = np.zeros(8, dtype=np.float32)
    close[1], close[4] = 0.95, np.sqrt(1 - 0.95**2)
    far = np.zeros(8, dtype=np.float32)
    far[1], far[4] = 0.8, 0.6
    found = m.match(["reworded beyond n-grams", "another text", "no vector"], [close, far, None])
    assert found[0] is not None and (found[0].item_id, found[0].method) == ("q2", "embedding")
    assert found[0].score == 0.95
    assert found[1:] == [None, None]


def test_items_without_a_vector_are_left_to_the_ngrams():
    vecs = np.zeros((4, 8), dtype=np.float32)
    m = EvalMatcher(ITEMS, vecs, n=5, coverage=0.5, similarity=0.9, min_words=5)
    assert m.index is None
    assert m.match([ITEMS[0].text], [np.ones(8, dtype=np.float32)])[0] is not None


def test_no_items_no_matches():
    m = EvalMatcher([], None, n=5, coverage=0.5, similarity=0.9, min_words=5)
    assert m.match(["anything at all here"], [None]) == [None]


def test_ngrams_of_a_template_shared_by_many_items_do_not_count():
    template = "For which of these two scenarios does the main character do something wrong?"
    items = [
        EvalItem("m", str(i), f"{template} Scenario {w} happens at noon")
        for i, w in enumerate(["alpha", "bravo", "charlie", "delta"])
    ]
    m = EvalMatcher(items, None, n=5, coverage=0.5, similarity=1.0, min_words=5)
    look_alike = f"{template} Scenario echo happens at noon"
    assert m.match([look_alike], [None]) == [None]
    [copy] = m.match([f"Help me: {items[2].text}"], [None])
    assert copy is not None and copy.item_id == "2" and copy.score == 1.0


def test_items_of_the_same_text_are_one_item():
    twice = [ITEMS[0], EvalItem("other", "x9", ITEMS[0].text)]
    m = EvalMatcher(twice, None, n=5, coverage=0.5, similarity=1.0, min_words=5)
    assert len(m) == 1
    [found] = m.match([ITEMS[0].text], [None])
    assert found is not None and (found.evalset, found.score) == ("mmlu", 1.0)


def test_an_item_shorter_than_n_is_found_inside_a_longer_prompt():
    short = [EvalItem("m", "s1", "How many eyes does a giraffe have?")]
    m = EvalMatcher(short, None, n=8, coverage=0.5, similarity=1.0, min_words=5)
    [found] = m.match(["Quick one: how many eyes does a giraffe have? Thanks"], [None])
    assert found is not None and found.score == 1.0
    assert m.match(["How many legs does a giraffe have?"], [None]) == [None]


def test_above_the_flat_limit_the_ivf_index_still_finds_a_close_copy(monkeypatch):
    monkeypatch.setattr(evalsets, "FLAT_UP_TO", 100)
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(3000, 32)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    items = [EvalItem("big", str(i), f"item number {i} of the big set") for i in range(3000)]
    m = EvalMatcher(items, vecs, n=5, coverage=0.5, similarity=0.9, min_words=5, boilerplate=10**9)
    assert m.index is not None and m.index.ntotal == 3000 and hasattr(m.index, "nprobe")
    noise = rng.normal(size=(50, 32)).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    queries = vecs[:50] * 0.97 + noise * np.sqrt(1 - 0.97**2)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    found = m.embedding_best(list(queries))
    assert sum(f is not None and f.item_id == str(i) for i, f in enumerate(found)) >= 49
