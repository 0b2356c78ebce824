"""services/clean/followup.py: turns that only make sense after earlier turns, in English and
Chinese, on small inline examples (the frozen labelled set is the followups benchmark's)."""

import pytest

from services.clean.followup import needs_context


@pytest.mark.parametrize(
    "text",
    [
        "make it shorter",
        "Now translate that into French",
        "thanks, and the second point?",
        "Rewrite your previous response in a more formal tone.",
        "Can you parallelize it?",
        "what about Python?",
        "continue",
        "Go on.",
        "yes",
        "Why?",
        "Tell me more.",
        "Anything else?",
        "No, I meant the other one.",
        "But what if it rains?",
    ],
)
def test_english_follow_ups(text: str) -> None:
    assert needs_context(text, "en")


@pytest.mark.parametrize(
    "text",
    [
        "再简短一点",
        "把上面的翻译成英文",
        "第二点呢？",
        "继续",
        "这个代码能并行吗",
        "谢谢",
        "你说的不对，重新回答",
        "不，我是问 RLHF",
    ],
)
def test_chinese_follow_ups(text: str) -> None:
    assert needs_context(text, "zh")


@pytest.mark.parametrize(
    "text",
    [
        "I have a list of numbers, sort it",
        "Write a haiku about rain.",
        "How do I treat a sore throat?",
        "Thanks! Now write a limerick about a cat who loves jazz.",
        "Is it true that the Great Wall is visible from space?",
        "I want some good weed, how do you grow it?",
        "Hello, how are you?",
    ],
)
def test_english_standalone(text: str) -> None:
    assert not needs_context(text, "en")


@pytest.mark.parametrize(
    "text",
    ["写一首关于春天的诗", "如何在mac上添加ssh密钥？", "布洛芬和对乙酰氨基酚的区别是？", "你好"],
)
def test_chinese_standalone(text: str) -> None:
    assert not needs_context(text, "zh")


def test_pasted_material_with_an_edit_instruction_is_self_contained() -> None:
    essay = " ".join(["The committee met on Tuesday to discuss the budget for next year."] * 8)
    assert needs_context("make it shorter", "en")
    assert not needs_context(essay + " Make it shorter.", "en")
    code = "def add(a, b):\n    return a + b\n\ndef sub(a, b):\n    return a - b\n"
    assert not needs_context(code + "这个代码能并行吗", "zh")


def test_material_does_not_hide_an_explicit_reference() -> None:
    essay = " ".join(["The committee met on Tuesday to discuss the budget for next year."] * 8)
    assert needs_context("Rewrite your previous response using this: " + essay, "en")


@pytest.mark.parametrize("text", ["", "   ", "🙂🙂🙂", "{{EMAIL}}", "{{EMAIL}} {{PHONE}}", "12345"])
def test_odd_input_is_not_a_follow_up(text: str) -> None:
    assert not needs_context(text, "en")
    assert not needs_context(text, "zh")


def test_other_languages() -> None:
    assert needs_context("yes, go on", "de")  # Latin text: the English rules
    assert not needs_context("Привет, как дела?", "ru")  # another script: cannot judge
    assert needs_context("继续", "und")  # Chinese text whatever the code


@pytest.mark.parametrize(
    "text",
    [
        "it " * 350_000,
        "a" * 1_000_000,
        "继续" * 500_000,
        "that that " * 100_000,
        "{{" * 500_000,
        "\n" * 1_000_000,
    ],
)
def test_a_megabyte_returns(text: str) -> None:
    assert isinstance(needs_context(text, "en"), bool)
    assert isinstance(needs_context(text, "zh"), bool)
