import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.embed.scoring import (
    Features,
    PromptScores,
    difficulty,
    features,
    priority,
    quality,
    score,
)

SAMPLES = [
    ("Write a haiku about autumn rain.", "en"),
    ("How do I reverse a linked list in Python?", "en"),
    ("fix this", "en"),
    ("continue", "en"),
    ("WHY IS MY CODE NOT WORKING", "en"),
    ("Email {{EMAIL}} and {{PHONE}}", "en"),
    ("写一首关于秋天的诗", "zh"),
    ("继续", "zh"),
    ("", "en"),
    ("🎉🎉🎉", "und"),
]


def in_unit_range(s: PromptScores) -> bool:
    return 0.0 <= s.quality <= 1.0 and 0.0 <= s.difficulty <= 1.0


@pytest.mark.parametrize(("text", "lang"), SAMPLES)
def test_scores_are_in_range_rounded_and_consistent(text, lang):
    s = score(text, lang)
    assert in_unit_range(s)
    assert s.quality == round(s.quality, 4) and s.difficulty == round(s.difficulty, 4)
    assert quality(text, lang) == s.quality and difficulty(text, lang) == s.difficulty
    assert s.priority == priority(s.quality, s.difficulty) == s.quality * s.difficulty


def test_deterministic():
    texts = [t for t, _ in SAMPLES] * 3
    first = [score(t, "en") for t in texts]
    assert [score(t, "en") for t in texts] == first


def test_empty_text_scores_zero():
    assert score("", "en") == PromptScores(0.0, 0.0)


def test_features_expose_every_component():
    f = features("Write a haiku about autumn rain.", "en")
    assert isinstance(f, Features)
    assert f.units == 6 and f.request == 1.0 and f.start == 1.0 and f.end == 1.0
    assert f.penalty == 1.0


# --- difficulty: each documented feature raises it -------------------------------------------

BASE = "Write a story about a dragon."


@pytest.mark.parametrize(
    ("harder", "feature"),
    [
        (BASE + " Use at most 100 words, without the letter e, and it must rhyme.", "constraints"),
        (BASE + "\n```python\ndef dragon(name):\n    return name.upper()\n```", "code"),
        (BASE + " Then solve 3x^2 + 2x - 5 = 0 and compute \\frac{1}{2} + 7.", "math"),
        (BASE + " Why do dragons hoard gold? Explain the myth. Compare two cultures.", "asks"),
        (BASE + "\n\n- a hero\n- a castle\n- a twist", "structure"),
        (BASE + " The dragon lives in a cave by the sea and guards a village." * 8, "length"),
    ],
)
def test_adding_a_feature_raises_difficulty(harder, feature):
    assert getattr(features(harder, "en"), feature) > getattr(features(BASE, "en"), feature)
    assert difficulty(harder, "en") > difficulty(BASE, "en")


ADDITIONS = [
    "Use at most 50 words and do not rhyme.",
    "```python\nprint(1)\n```",
    "Solve 3x + 5 = 20.",
    "Why? How? Explain.",
    "- one\n- two",
    "必须不超过50字。",
    "求方程 x^2 = 4 的解。",
    "你好吗?",
]
CJK = "你好写求必须。，？"


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("\n\t" + CJK)),
    st.sampled_from(ADDITIONS),
)
def test_appending_a_line_never_lowers_difficulty(base, addition):
    # Within one script: CJK text counts its length in characters, not words.
    if has_cjk(addition) and not has_cjk(base):
        return
    assert difficulty(base + "\n" + addition, "en") >= difficulty(base, "en")


def test_a_stack_trace_is_code():
    trace = (
        "Traceback (most recent call last):\n"
        '  File "app.py", line 3, in <module>\n'
        "    main()\n"
        "NameError: name 'main' is not defined\n"
        "Why does this happen?"
    )
    assert features(trace, "en").code >= 0.5
    assert difficulty(trace, "en") > difficulty("Why does this happen?", "en")


def test_difficulty_is_monotone_as_constraints_accumulate():
    text, previous = "Write a poem about the sea.", 0.0
    for extra in (" It must rhyme.", " Use at most 50 words.", " Do not use the word blue."):
        text += extra
        assert difficulty(text, "en") > previous
        previous = difficulty(text, "en")


# --- quality: well-formed, self-contained requests beat the rest -----------------------------


@pytest.mark.parametrize(
    ("worse", "better"),
    [
        ("the capital of", "What is the capital of France?"),  # fragment
        ("low-maintenance houseplants", "Recommend three low-maintenance houseplants."),
        ("fix this", "Fix this SQL query: SELECT * FROM users WHERE id = 1;"),  # context-less
        ("continue", "Continue the story about the dragon from where the knight arrives."),
        ("translate it into French", "Translate 'good morning, my friend' into French."),
        ("What does this mean?", "What does the idiom 'break the ice' mean?"),
        ("WRITE ME A POEM ABOUT THE SEA RIGHT NOW", "Write me a poem about the sea right now."),
        ("Write me a poem about the sea!!!!!!", "Write me a poem about the sea."),
        ("Email {{EMAIL}} and {{PHONE}}", "Email the team about the meeting and call Bob."),
        ("!!!???", "Why is the sky blue?"),
    ],
)
def test_quality_orders_junk_below_a_real_request(worse, better):
    assert quality(worse, "en") < quality(better, "en")


def test_a_single_placeholder_costs_little():
    text = "Send a reminder to {{EMAIL}} about tomorrow's meeting at 10am and attach the agenda."
    assert quality(text, "en") > 0.85


def test_placeholders_are_neither_code_nor_shouting():
    f = features("Email {{EMAIL}} and {{PHONE}}", "en")
    assert f.code == 0.0
    assert f.penalty == pytest.approx(0.4)  # the placeholder factor alone, at its floor


def test_lowercase_start_is_a_fragment_sign_only_in_cased_languages():
    assert features("iPhone 怎么截图?", "zh").start == 1.0
    assert features("iphone screenshot how", "en").start == 0.0


# --- Chinese ---------------------------------------------------------------------------------


def test_chinese_requests_and_fragments():
    assert quality("请写一首关于秋天的诗。", "zh") > quality("秋天的", "zh")
    assert quality("翻译一下", "zh") < quality("把“早上好”翻译成英文。", "zh")
    assert quality("这段代码什么意思", "zh") < quality(
        "解释一下 Python 里的装饰器是什么意思。", "zh"
    )
    assert quality("继续", "zh") < 0.2
    assert features("能通俗地讲讲机器学习吗", "zh").request == 1.0  # a question without "?"


def test_chinese_constraints_math_and_code_raise_difficulty():
    base = "写一首关于秋天的诗。"
    assert difficulty(base + "要求不超过50字,必须押韵,不要使用“落叶”。", "zh") > difficulty(
        base, "zh"
    )
    assert (
        features("求方程 x^2 - 5x + 6 = 0 的解,并证明结果。", "zh").math > features(base, "zh").math
    )
    assert features("用 Python 写一个函数计算斐波那契数列的第 n 项。", "zh").code > 0
    asks = "什么是光合作用?它为什么重要?请列出三个例子。"
    assert features(asks, "zh").asks > features(base, "zh").asks


def test_shouting_in_chinese_text_needs_many_latin_capitals():
    text = (
        "为印度投资机构的银行、金融服务、保险(BFSI)团队设计一个案例研究任务,说明 BFSI 领域的政策。"
    )
    assert features(text, "zh").penalty == 1.0


# --- robustness ------------------------------------------------------------------------------

LANGS = st.sampled_from(["en", "zh", "ja", "und", "", "xx-YY"])


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=()), max_size=300), LANGS)
def test_never_raises_and_stays_in_range_on_any_unicode(text, lang):
    s = score(text, lang)
    assert in_unit_range(s)
    assert s == score(text, lang)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Write",
                "why",
                "?",
                "!!",
                "```",
                "\n",
                "- ",
                "1.",
                "{{EMAIL}}",
                "[PHONE]",
                "求",
                "必须",
                "x^2",
                "=",
                "\\frac",
                "(",
                ",",
                "这",
                "it",
                " ",
                "。",
                "def f():",
                "Error:",
                "at least",
            ]
        ),
        max_size=40,
    ).map("".join),
    LANGS,
)
def test_never_raises_on_fragments_of_every_feature(text, lang):
    assert in_unit_range(score(text, lang))


@pytest.mark.parametrize(
    "text",
    [
        "f(" + "," * 8000,
        "Error " + "\n" * 8000 + "x",
        "你好" + ",\n" * 4000,
        "1+" * 4000,
        "{{" * 4000,
        "aB" + "c" * 8000,
        "f(a" * 3000,
    ],
)
def test_no_pathological_backtracking(text):
    start = time.perf_counter()
    assert in_unit_range(score(text, "en"))
    assert time.perf_counter() - start < 0.5  # linear: a few ms on 8,000 characters
