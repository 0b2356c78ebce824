import pytest

from services.clean.filters import Doc, default_chain, run_chain, tokens
from services.contract.records import Reason
from services.settings import Settings

CHAIN = default_chain(Settings(blocklist_patterns=[r"\bbuy cheap followers\b"]))


def verdict(text: str, lang: str = "en", score: float = 0.99) -> Reason | None:
    return run_chain(CHAIN, Doc(text, lang, score))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hi", Reason.LOW_INFORMATION),
        ("Hello!", Reason.LOW_INFORMATION),
        ("test", Reason.LOW_INFORMATION),
        ("1", Reason.LOW_INFORMATION),
        ("12345", Reason.LOW_INFORMATION),
        ("你好", Reason.LOW_INFORMATION),
        ("thank you", Reason.LOW_INFORMATION),
        ("Rust", Reason.TOO_SHORT),
        ("Recursion", Reason.TOO_SHORT),
        ("https://example.com/a?b=c", Reason.URL_ONLY),
        ("www.example.com  https://x.io", Reason.URL_ONLY),
        ("😀😀😀🎉", Reason.EMOJI_ONLY),
        ("★☆★☆ ♥♥ ✓✓ ☺ word", Reason.SPECIAL_CHARACTERS),
        ("aaaaaaaaaaaaaaaaaaaa!", Reason.REPETITIVE),
        ("spam spam spam spam spam spam spam eggs", Reason.REPETITIVE),
        ("asdfgh jklqwe zxcvbn", Reason.GIBBERISH),
        ("qwertyuiop asdfghjkl", Reason.GIBBERISH),
        ("where can I buy cheap followers for my account", Reason.BLOCKLISTED),
    ],
)
def test_junk_is_dropped_with_its_reason(text, reason):
    assert verdict(text) == reason


@pytest.mark.parametrize(
    "text",
    [
        "How do I reverse a linked list in Python?",
        "Write a haiku about autumn rain.",
        "def f(x):\n    return {k: v for k, v in x.items() if v != None}  # why is this slow?",
        "Fix this SQL: SELECT * FROM users WHERE id = 1;",
        "写一首关于秋天的诗",
        "帮我 debug 这段 python code",
        "What's 17 * 23?",
        "Explain TCP vs UDP",
        "Summarize: https://example.com/article and tell me what you think",
        "Translate 'strengths' into French.",
    ],
)
def test_real_prompts_pass(text):
    lang = "zh" if any("\u4e00" <= c <= "\u9fff" for c in text) else "en"
    assert verdict(text, lang) is None


def test_language_allow_list_and_score():
    assert verdict("Wie spät ist es heute in Berlin, bitte?", "de") == Reason.LANGUAGE
    assert verdict("This sentence is long enough to be judged.", "en", 0.2) == Reason.LANGUAGE
    assert verdict("Short one ok", "en", 0.2) is None  # too short to hold the score against it


def test_tokens_count_cjk_characters():
    assert tokens("写一首诗 about autumn") == ["写", "一", "首", "诗", "about", "autumn"]


def test_filters_count_forwarded_and_dropped():
    chain = default_chain(Settings())
    run_chain(chain, Doc("hi"))
    run_chain(chain, Doc("How do I sort a list in Go?"))
    assert chain[0].counts["dropped_low_information"] == 1
    assert chain[0].counts["forwarded"] == 1
