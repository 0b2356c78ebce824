"""Heuristic quality and difficulty of a cleaned prompt: the order of candidates in a window.

Within a micro-batch window candidates are processed in descending ``priority = quality ×
difficulty`` (Llama 3 orders prompts inside each cluster by judged quality and difficulty; these
are cheap, explainable stand-ins). Pure functions of the cleaned text (normalized, personal data
already replaced by ``{{KIND}}`` placeholders): no I/O, no model, deterministic, never raise on a
``str``. One pass of precompiled regular expressions and set look-ups, ~30 µs a public prompt
(python -m bench scoring). Every feature and weight, with examples, is in docs/scoring.md.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

# A CJK character is worth 0.7 of an English word: the ratio of median English words to median
# CJK characters in the public set's paired English and Chinese demo sets (0.56-0.84).
CJK_UNIT = 0.7
LENGTH_SCALE = 80.0  # units at which the length feature reaches 1 - 1/e (0.63)
FULL_LENGTH = 8.0  # units a self-contained request needs for full length credit in quality
# Read-only: the scoring functions use the tuples below, built once at import.
QUALITY_WEIGHTS = MappingProxyType({"length": 0.35, "request": 0.35, "start": 0.15, "end": 0.15})
DIFFICULTY_WEIGHTS = MappingProxyType(
    {
        "length": 0.5,
        "structure": 0.3,
        "constraints": 0.4,
        "code": 0.5,
        "math": 0.5,
        "asks": 0.35,
    }
)
_QUALITY_W = tuple(QUALITY_WEIGHTS[k] for k in ("length", "request", "start", "end"))
_DIFFICULTY_W = tuple(
    DIFFICULTY_WEIGHTS[k] for k in ("length", "structure", "constraints", "code", "math", "asks")
)
_CASELESS_LANGS = frozenset({"zh", "ja", "ko"})


# Word lists (services/embed/data/lexicons.json): instruction verbs that open a sentence or
# clause, question openers, constraint and code and math vocabulary, Chinese request verbs.
_LEXICONS: dict[str, list[str]] = json.loads(
    (Path(__file__).with_name("data") / "lexicons.json").read_text(encoding="utf-8")
)


# Instruction verbs that open a sentence or clause ("Write ...", "If ..., calculate ..."). Not
# "mark" or "text" (a name, a label: "Mark has 5 apples"); a word followed by a colon is a label
# ("Output: ...") and never counts, see _SENTENCE_START.
_VERBS = frozenset(_LEXICONS["verbs"])
_QUESTION_STARTS = frozenset(_LEXICONS["question_starts"])
_CONSTRAINT_WORDS = frozenset(_LEXICONS["constraint_words"])
_CONSTRAINT_TRIGGERS = frozenset(_LEXICONS["constraint_triggers"])
_CODE_WORDS = frozenset(_LEXICONS["code_words"])
_MATH_WORDS = frozenset(_LEXICONS["math_words"])

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")  # on lowercased text
_ASCII_WORD = re.compile(r"[A-Za-z0-9]+")
_SENTENCE_START = re.compile(
    r"(?:^|[.!?;:,\n。！？；])[ \t\"'“(*]*(?:please |kindly |now |also |then |and )?"
    r"([a-z]+)\b(?! ?:)",  # the first word of a sentence or clause, not a label ("Input:")
    re.M,
)
_QUESTION_RUN = re.compile(r"[?？]+")
_REQUEST = re.compile(
    r"\b(?:please|i need|i want|i'd like|i would like|help me|let me know|i'm looking for"
    r"|i am looking for|tell me|show me|give me|teach me|you need to|your task is|you are given"
    r"|you're given|you will be given|you must|you should|how to)\b"
)
_CONSTRAINT_PHRASE = re.compile(
    r"\b(?:at (?:least|most)|no (?:more|less|longer|fewer) than|do not|does not|must not"
    r"|step[- ]by[- ]step|make sure|in the (?:style|form|voice|tone) of"
    r"|(?:in|under|within|below|about|around|of|than) (?:\d+|one|two|three|four|five|ten|a few)"
    r" (?:words?|sentences?|paragraphs?|characters?|lines?|bullets?|points|items|steps|syllables)"
    r"|\d+[- ](?:words?|sentences?|paragraphs?|characters?|lines?|syllables))\b"
)
_CODE_HINT = re.compile(r"[(_{};=&|+]")
_CODE_OPERATORS = ("==", "!=", "=>", "::", "&&", "||", "++", "->")
_CODE_SYNTAX = re.compile(
    r"\w\((?:\)|[^()\n,'\"=]*+[,'\"=][^()\n]*+\))"  # call with arguments: f(), f(a, b), f(x=1)
    r"|[a-z0-9]_[a-z]|\b[a-z]+[A-Z]\w*\s*[(=]|[;{}][ \t]*$"  # snake_case, camelCase(, line end
    r"|^[ \t]*(?:def|class|import|return|function|const|let|var|public|private|#include|SELECT)\b",
    re.M,
)
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|\b[A-Z]\w*(?:Error|Exception)\b:"
    r"|^[ \t]+at [\w.$<>]+\(|File \"[^\"]+\", line \d+",
    re.M,
)
_NUMBER = re.compile(r"[0-9][0-9.,]*")  # "1,800" and "2.50" are one number each
_MATH_OP = re.compile(r"\d ?[-+*/×÷<>≤≥] ?[\d(]|[=^] ?[-\w(]")
_MATH_NOTATION = re.compile(
    r"\\(?:frac|dfrac|sqrt|sum|int|prod|lim|cdot|times|div|leq?|geq?|neq|pm|pi|alpha|beta|theta"
    r"|lambda|sigma|infty|log|ln|sin|cos|tan|begin|left|right|mathbb|mathrm|binom|partial)\b"
    r"|[√∑∏∫∞≈≠≤≥±π²³∈∀∃]|\^\{|_\{|\$\$"
)
_LIST_ITEM = re.compile(
    r"^[ \t]*(?:[-*•+][ \t]|\d{1,2}[.)、](?!\d)|\(\d{1,2}\)|\([a-h]\)|[a-hA-H][.)][ \t]"
    r"|[一二三四五六七八九十]{1,2}[、.])",
    re.M,
)
_PLACEHOLDER = re.compile(
    r"\{\{[A-Z][A-Z0-9_]*\}\}|\[(?:EMAIL|PHONE|NAME|ADDRESS|URL|IP|SSN|IBAN|JWT|CN_ID"
    r"|[A-Z]+(?:_[A-Z]+)+)\]"
)
_PUNCT_RUN = re.compile(r"[!?！？]{2,}|\.{4,}|…{2,}|。{2,}|~{3,}")
_LETTER_RUN = re.compile(r"([a-zA-Z\u4e00-\u9fff])\1{4}")  # "sooooo"; not "yyyy" or "xxxx"
_CAPS_HINT = re.compile(r"[A-Z]{4}")
_UPPER, _LOWER = re.compile(r"[A-Z]"), re.compile(r"[a-z]")
_TERMINAL = frozenset(".?!。？！…)]}\"'”」』》`:;")

# Context-less: a short prompt whose object is only a pointer ("fix this", "translate it into
# French", "这段代码什么意思") or a bare continuation ("continue", "继续").
_BARE = re.compile(
    r"(?:please )?(?:continue|go on|keep going|more|next|again|translate|summarize|explain|fix"
    r"|rewrite|proofread|paraphrase|shorten|expand|improve|check|correct|finish|elaborate|why)"
    r"(?: (?:it|this|that|please|more|again|now))?[\s.!?]*"
    r"|(?:请)?(?:继续|接着|再来|翻译|总结|解释|修改|改写|润色|优化|检查|展开)(?:一下|一遍)?"
    r"(?:吧|它|这个|这段)?[。.!！?？]*"
)
_POINTER_EN = re.compile(
    r"\b(?:this|that|these|those|it|them|the above|above|the following|here)(?: (?:one|code|text"
    r"|sentence|paragraph|passage|article|essay|email|message|word|phrase|error|problem|question"
    r"|image|picture|file|document|story|poem|list|table|data|function|script|bug|issue|part"
    r"|answer|output|line|again|for me|please|mean|means|correct|right|wrong|good|work|into \w+"
    r"|to \w+))*[\s.!?]*$"
)
_POINTER_ZH = re.compile(
    r"(?:这|那|上面|以上|上述)(?:个|段|句|篇|些|里|张|份|道|首)?\w{0,4}"
    r"(?:是什么意思|什么意思|对吗|对不对|怎么样|吗)?[。.!！?？]*$"
    r"|(?:翻译|解释|总结|修改|改写|检查|润色|优化|看看|看一下)(?:一下)?(?:它|这|那|上面|以上)"
)

# Chinese, read only in text that contains CJK characters.
_ZH_VERBS = "|".join(_LEXICONS["zh_verbs"])
_ZH_IMPERATIVE = re.compile(
    r"(?:^|[。！？!?;；:,\n])[ \t]*(?:请|麻烦|帮我|帮忙|(?:你|您)?(?:能|可以)?(?:"
    + _ZH_VERBS
    + "))",
    re.M,
)
_ZH_QUESTION_END = re.compile(r"[吗呢么](?=[。.!！,，\s]|$)")
_ZH_REQUEST = re.compile(
    r"请|帮我|帮忙|麻烦|能否|可否|可以|能不能|如何|怎么|怎样|为什么|什么|哪|谁|是否|多少|我需要|我想|我要"
    r"|寻找|以下|下面|下列|给定|(?:写|创建|生成|设计|提供|列出|给出|描述|解释|翻译|总结|编写|撰写|分析|比较"
    r"|推荐|制定|构建|计算|举|找|说)(?:一|出|下|几)"
)
_ZH_CONSTRAINT = re.compile(
    r"不超过|不少于|不多于|不低于|至少|至多|最多|最少|必须|要求|务必|限制|以内|之内|不要|不能|"
    r"不得|禁止|避免|仅|只能|只用|确保|保证|格式|语气|风格|分点|分条|逐步|一步一步|严格|控制在"
)
_ZH_CODE = re.compile(r"代码|函数|编程|程序|算法|变量|数组|字符串|数据库|脚本|接口|报错|调试")
_ZH_MATH = re.compile(
    r"求解|求出|求证|求值|计算|证明|方程|多少|几个|几何|面积|体积|周长|概率|平均|百分|比例|分数|"
    r"积分|导数|矩阵|总共|一共|等于|加上|减去|乘以|除以"
)


class Features(NamedTuple):
    """What the scores are made of, each in [0, 1] except ``units`` (docs/scoring.md)."""

    units: float  # words; a CJK character counts CJK_UNIT
    request: float  # 1 when the text asks for something (question, imperative, "please", 请)
    start: float  # 0 when a prompt in a cased language starts lowercase
    end: float  # 1 terminal punctuation, 0.5 a letter or digit, 0 dangling (",", "-", "(")
    penalty: float  # product of the quality penalty factors (1 = none)
    length: float
    structure: float
    constraints: float
    code: float
    math: float
    asks: float


class PromptScores(NamedTuple):
    """``quality`` and ``difficulty`` in [0, 1], rounded to 4 decimals."""

    quality: float
    difficulty: float

    @property
    def priority(self) -> float:
        return priority(self.quality, self.difficulty)


def priority(quality: float, difficulty: float) -> float:
    """Order of processing within a window: higher first. Sort by ``-priority`` with a stable
    sort (equal priorities keep their arrival order), as ``CurateStage`` does."""
    return quality * difficulty


def _penalty(text: str, plain: str, units: float, marks: int, cjk: int, placeholders: int) -> float:
    """Product of the quality penalty factors; ``plain`` is ``text`` without placeholders."""
    factor = 1.0
    if _CAPS_HINT.search(plain, 0, 80):  # shouting starts at the start; the ratio is over all
        upper, lower = len(_UPPER.findall(plain)), len(_LOWER.findall(plain)) + cjk
        if upper + lower >= 8 and upper / (upper + lower) > 0.6:
            factor *= 1 - 0.5 * min(1.0, (upper / (upper + lower) - 0.6) / 0.3)
    bangs = text.count("!") + text.count("！")
    runs = int(bangs >= 3)
    if bangs + marks >= 2 or "...." in text or "……" in text or "。。" in text or "~~~" in text:
        runs += len(_PUNCT_RUN.findall(text))
    # Shouting punctuation weighs on a short prompt; a long one quoting a review ("Great!!") less.
    factor *= 1 - min(0.45, 0.15 * runs * min(1.0, 20 / max(units, 1.0)))
    if placeholders:
        factor *= 1 - min(0.6, 1.5 * placeholders / max(units, 1.0))
    if units <= 30 and _LETTER_RUN.search(text):  # in a long prompt "sooo" hardly matters
        factor *= 0.8
    if units <= 3 and not any(c.isalnum() for c in text):
        factor *= 0.2  # nothing but symbols
    if units <= 10:
        core = text.lower().strip()
        if _BARE.fullmatch(core):
            factor *= 0.25
        elif not any(c in text for c in ':\n"“「') and (
            _POINTER_EN.search(core) or _POINTER_ZH.search(core)
        ):
            factor *= 0.45
    return factor


def _code(text: str, code_words: int) -> float:
    code = 0.6 * ("```" in text or "~~~" in text) + 0.1 * code_words
    if _CODE_HINT.search(text):
        code += 0.15 * len(_CODE_SYNTAX.findall(text))
        code += 0.15 * sum(op in text for op in _CODE_OPERATORS)
    if ("Error" in text or "Exception" in text or "Traceback" in text) and _TRACE.search(text):
        code += 0.5
    return min(1.0, code)


def _math(text: str, math_words: int) -> float:
    numbers = len(_NUMBER.findall(text))
    math_ = 0.06 * min(numbers, 10) + 0.15 * math_words
    if numbers >= 2 or "=" in text or "^" in text:
        math_ += 0.12 * len(_MATH_OP.findall(text))
    if (
        not text.isascii() or "\\" in text or "{" in text or "$$" in text
    ) and _MATH_NOTATION.search(text):
        math_ += 0.3
    return min(1.0, math_)


def _structure(text: str, items: int) -> float:
    if "\n" not in text:
        return 0.0
    paragraphs = text.count("\n\n")
    lines = text.count("\n") + 1 - paragraphs  # non-empty lines
    table = text.count("|") >= 4
    return min(
        1.0, 0.1 * min(lines - 1, 6) + 0.1 * min(items, 6) + 0.15 * min(paragraphs, 2) + 0.3 * table
    )


def features(text: str, lang: str) -> Features:
    """Measure ``text``. ``lang`` only decides whether a lowercase first letter is a fragment
    sign (not in zh, ja, ko); everything else is read from the text, which is often mixed."""
    low = text.lower()
    vocab = frozenset(_WORD.findall(low))
    cjk = 0 if text.isascii() else len(_CJK.findall(text))
    units = cjk * CJK_UNIT + len(_ASCII_WORD.findall(text)) if cjk else float(len(text.split()))

    starts = _SENTENCE_START.findall(low)
    imperatives = sum(w in _VERBS for w in starts)
    marks = text.count("?") + text.count("？")
    if marks > 1 and ("??" in text or "？？" in text or "?？" in text or "？?" in text):
        marks = len(_QUESTION_RUN.findall(text))  # "???" is one question
    questions = max(marks, sum(w in _QUESTION_STARTS for w in starts))
    constraints = len(vocab & _CONSTRAINT_WORDS)
    if vocab & _CONSTRAINT_TRIGGERS or ("no" in vocab and "than" in vocab):
        constraints += len(_CONSTRAINT_PHRASE.findall(low))
    code_words, math_words = len(vocab & _CODE_WORDS), len(vocab & _MATH_WORDS)
    math_words += "how many" in low or "how much" in low
    request = imperatives > 0 or questions > 0 or _REQUEST.search(low) is not None
    if cjk:
        imperatives += len(_ZH_IMPERATIVE.findall(text))
        questions = max(questions, len(_ZH_QUESTION_END.findall(text)))
        request = request or imperatives + questions > 0 or _ZH_REQUEST.search(text) is not None
        constraints += len(set(_ZH_CONSTRAINT.findall(text)))
        code_words += len(set(_ZH_CODE.findall(text)))
        math_words += len(set(_ZH_MATH.findall(text)))
    items = len(_LIST_ITEM.findall(text)) if "\n" in text else 0
    placeholders = len(_PLACEHOLDER.findall(text)) if "{{" in text or "[" in text else 0
    plain = _PLACEHOLDER.sub(" ", text) if placeholders else text  # "{{EMAIL}}": no code, no caps

    first, last = (text[0], text[-1]) if text else (" ", " ")
    return Features(
        units=units,
        request=float(request),
        start=0.0 if first.islower() and lang not in _CASELESS_LANGS else 1.0,
        end=1.0 if last in _TERMINAL else 0.5 if last.isalnum() else 0.0,
        penalty=_penalty(text, plain, units, marks, cjk, placeholders),
        length=1 - math.exp(-units / LENGTH_SCALE),
        structure=_structure(text, items),
        constraints=min(1.0, constraints / 3),
        code=_code(plain, code_words),
        math=_math(text, math_words),
        asks=min(1.0, max(0.0, imperatives + questions + 0.5 * items - 1) / 4),
    )


def _combine(f: Features) -> PromptScores:
    wl, wr, ws, we = _QUALITY_W
    base = wl * min(1.0, f.units / FULL_LENGTH) + wr * f.request + ws * f.start + we * f.end
    quality = min(1.0, max(0.0, base * f.penalty)) if f.units else 0.0
    # Noisy-OR: each feature independently makes the prompt harder; bounded, monotone in each.
    dl, ds, dk, dc, dm, da = _DIFFICULTY_W
    easy = (1 - dl * f.length) * (1 - ds * f.structure) * (1 - dk * f.constraints)
    easy *= (1 - dc * f.code) * (1 - dm * f.math) * (1 - da * f.asks)
    return PromptScores(round(quality, 4), round(min(1.0, max(0.0, 1 - easy)), 4))


def score(text: str, lang: str) -> PromptScores:
    """Quality and difficulty of one cleaned prompt, from one measurement."""
    return _combine(features(text, lang))


def quality(text: str, lang: str) -> float:
    """How clear, well-formed and self-contained a request is, in [0, 1]."""
    return score(text, lang).quality


def difficulty(text: str, lang: str) -> float:
    """How much work an answer takes, in [0, 1]: length, structure, constraints, code, math and
    the number of distinct asks."""
    return score(text, lang).difficulty
