"""The word-repeat measure is fair to length: long real prose reaches max_chars, spam does not."""

import pydoc_data.topics

import pytest

from services.clean.filters import (
    Doc,
    RepetitionFilter,
    default_chain,
    run_chain,
    word_repeat_ratio,
)
from services.contract.records import Reason
from services.settings import Settings

S = Settings()


def prose(topic: str, n: int) -> str:
    """Real English prose shipped with Python (the language reference), cut to n characters."""
    return " ".join(pydoc_data.topics.topics[topic].split())[:n]


@pytest.mark.parametrize("topic", ["assignment", "import", "execmodel", "typesseq"])
@pytest.mark.parametrize("n", [3000, 5000, S.max_chars - 1])
def test_long_real_prose_is_not_repetitive(topic, n):
    text = prose(topic, n)
    assert len(text) == n
    assert RepetitionFilter(S.max_char_repeat_ratio, S.max_word_repeat_ratio)(Doc(text)) is None
    assert run_chain(default_chain(S), Doc(text, "en", 0.99)) is None


def test_ratio_does_not_grow_with_length():
    short, long = (word_repeat_ratio(prose("execmodel", n).split()) for n in (1500, 7999))
    assert abs(long - short) < 0.1


@pytest.mark.parametrize(
    "text",
    [
        "buy buy buy buy buy buy buy now",
        "spam " * 1500,
        ("buy cheap now " * 600),
    ],
)
def test_repetition_is_still_caught_at_any_length(text):
    doc = Doc(text.strip())
    assert (
        RepetitionFilter(S.max_char_repeat_ratio, S.max_word_repeat_ratio)(doc) == Reason.REPETITIVE
    )


def test_short_prompts_are_measured_on_all_words():
    words = "a b c d e f a b".split()
    assert word_repeat_ratio(words) == pytest.approx(2 / 8)
