"""Prompt filters: each is a small class with a name, a reason code and one method, ``keep``.

The base class counts what it forwarded and dropped (datatrove's habit). Thresholds are tuned for
chat prompts, which are short: the web-document defaults of batch curators (NeMo Curator wants
50 words) would reject most of them. The order of the chain is ``default_chain``'s.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field

from services.clean.text import CJK_CHAR
from services.contract.records import Reason
from services.settings import Settings

_WORD = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)
_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_ASCII_PUNCT = set("""!"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~""")
_ALPHA4 = re.compile(r"[a-z]{4,}")
# A word of 4+ letters with no vowel, a run of four keys along a keyboard row, or five
# consonants in a row: keyboard mashing.
_MASHED_WORD = re.compile(
    r"(?<![a-z])(?=[a-z]{4})(?:[b-df-hj-np-tv-xz]+"
    r"|[a-z]*(?:"
    + "|".join(
        row[i : i + 4]
        for row in ("qwertyuiop", "asdfghjkl", "zxcvbnm")
        for i in range(len(row) - 3)
    )
    + r")[a-z]*|[a-z]*[b-df-hj-np-tv-xz]{5}[a-z]*)(?![a-z])"
)
_PUNCT_DELETE = str.maketrans("", "", "".join(_ASCII_PUNCT) + "，。！？、")

LOW_INFORMATION = frozenset(
    """hi hello hey hiya yo test testing tests 1 2 3 123 ok okay k thanks thank you thx lol yes no
    nope yep sure hmm hm help start continue go asdf abc ping hello world hi there hello there
    good morning good night bye goodbye what why how who ? 你好 您好 测试 谢谢 在吗 嗨 哈哈 好的
    继续 开始""".split()
) | {"thank you", "hello world", "hi there", "hello there", "good morning", "good night"}


@dataclass
class Doc:
    """What the filters see: the cleaned text and what earlier steps learned about it."""

    text: str
    lang: str = "und"
    lang_score: float = 1.0
    pii: list[str] = field(default_factory=list)
    _tokens: list[str] | None = field(default=None, repr=False)

    @property
    def tokens(self) -> list[str]:
        """Computed once, shared by the filters that count words."""
        if self._tokens is None:
            self._tokens = tokens(self.text)
        return self._tokens


def tokens(text: str) -> list[str]:
    """Words for alphabetic scripts, single characters for CJK (which has no spaces)."""
    if text.isascii():
        return text.split()  # whitespace-separated words: what a chat prompt's length means
    out: list[str] = []
    for word in _WORD.findall(text):
        if CJK_CHAR.search(word):
            out.extend(word)
        else:
            out.append(word)
    return out


class Filter:
    """One step of the chain. Subclasses set ``name`` and ``reason`` and implement ``keep``."""

    name = "filter"
    reason: Reason = Reason.LOW_QUALITY

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def keep(self, doc: Doc) -> bool | tuple[bool, Reason]:
        raise NotImplementedError

    def __call__(self, doc: Doc) -> Reason | None:
        """None when the doc passes, else the reason it is dropped; counts both."""
        verdict = self.keep(doc)
        ok, reason = verdict if isinstance(verdict, tuple) else (verdict, self.reason)
        if ok:
            self.counts["forwarded"] += 1
            return None
        self.counts["dropped"] += 1
        self.counts[f"dropped_{reason}"] += 1
        return reason


class LengthFilter(Filter):
    """Characters and tokens: ``too_short`` / ``too_long``."""

    name = "length"

    def __init__(self, min_chars: int, max_chars: int, min_tokens: int, max_tokens: int) -> None:
        super().__init__()
        self.min_chars, self.max_chars = min_chars, max_chars
        self.min_tokens, self.max_tokens = min_tokens, max_tokens

    def keep(self, doc: Doc) -> bool | tuple[bool, Reason]:
        if len(doc.text) > self.max_chars:
            return False, Reason.TOO_LONG
        if len(doc.text) < self.min_chars:
            return False, Reason.TOO_SHORT
        n = len(doc.tokens)
        if n > self.max_tokens:
            return False, Reason.TOO_LONG
        if n < self.min_tokens:
            return False, Reason.TOO_SHORT
        return True


class LowInformationFilter(Filter):
    """Greetings and tests ("hi", "test", "1", "你好"): nothing to annotate."""

    name = "low_information"
    reason = Reason.LOW_INFORMATION

    def keep(self, doc: Doc) -> bool:
        if len(doc.text) > 40:  # none of the phrases is that long
            return True
        core = " ".join(doc.text.casefold().translate(_PUNCT_DELETE).split())
        return core not in LOW_INFORMATION and not core.isdigit()


class UrlOnlyFilter(Filter):
    name = "url_only"
    reason = Reason.URL_ONLY

    def keep(self, doc: Doc) -> bool:
        if "http" not in doc.text and "www." not in doc.text:
            return True
        rest = _URL.sub(" ", doc.text)
        return any(ch.isalnum() for ch in rest)


class SymbolFilter(Filter):
    """Emoji-only prompts (``emoji_only``) and prompts that are mostly symbols (``special_characters``).
    ASCII punctuation does not count as special: code is full of it."""

    name = "symbols"
    reason = Reason.SPECIAL_CHARACTERS

    def __init__(self, max_special_ratio: float) -> None:
        super().__init__()
        self.max_special_ratio = max_special_ratio

    def keep(self, doc: Doc) -> bool | tuple[bool, Reason]:
        text = doc.text
        if text.isascii():  # ASCII punctuation is never special
            return any(ch.isalnum() for ch in text) or (False, Reason.SPECIAL_CHARACTERS)
        chars = [ch for ch in text if not ch.isspace()]
        if not chars:
            return True
        special = [ch for ch in chars if not ch.isalnum() and ch not in _ASCII_PUNCT]
        if not any(ch.isalnum() for ch in chars):
            emoji = any(unicodedata.category(ch) == "So" for ch in special)
            return False, Reason.EMOJI_ONLY if emoji else Reason.SPECIAL_CHARACTERS
        return len(special) / len(chars) <= self.max_special_ratio


class RepetitionFilter(Filter):
    """One character or one word repeated over and over ("aaaaaaa", "buy buy buy buy"); the word
    measure is per window (``word_repeat_ratio``) so that it does not grow with length."""

    name = "repetition"
    reason = Reason.REPETITIVE

    def __init__(self, max_char_ratio: float, max_word_ratio: float) -> None:
        super().__init__()
        self.max_char_ratio, self.max_word_ratio = max_char_ratio, max_word_ratio

    def keep(self, doc: Doc) -> bool:
        counts = Counter(doc.text)
        n = len(doc.text) - sum(counts.pop(ws, 0) for ws in (" ", "\n", "\t"))
        if n >= 10 and max(counts.values()) / n > self.max_char_ratio:
            return False
        words = doc.tokens
        return len(words) < 6 or word_repeat_ratio(words) <= self.max_word_ratio


WORD_WINDOW = 100


def word_repeat_ratio(words: list[str]) -> float:
    """Share of repeated words, averaged over windows of about ``WORD_WINDOW`` words.

    Over a whole text the share grows with its length (Heaps' law: the vocabulary grows slower
    than the text), so long ordinary prose crossed the threshold that suits chat prompts (7,999
    characters of a manual: 0.73). Within a window of fixed size it does not: the same manual
    gives 0.34-0.44 per window, while "buy buy buy ..." stays near 1 in every window. Texts up to
    ``2 * WORD_WINDOW - 1`` words are one window, so short prompts are measured as before.
    """
    k = max(1, len(words) // WORD_WINDOW)
    size = len(words) / k  # k windows of WORD_WINDOW to 2 * WORD_WINDOW - 1 words
    total = 0.0
    for i in range(k):
        window = words[round(i * size) : round((i + 1) * size)]
        total += (len(window) - len({w.casefold() for w in window})) / len(window)
    return total / k


class GibberishFilter(Filter):
    """Keyboard mashing in Latin script: most words are keyboard-row runs or have no vowels."""

    name = "gibberish"
    reason = Reason.GIBBERISH

    def keep(self, doc: Doc) -> bool:
        if not doc.text.isascii():
            return True
        head = doc.text[:300].casefold()  # mashing shows early
        words = len(_ALPHA4.findall(head))
        return words == 0 or len(_MASHED_WORD.findall(head)) / words < 0.5


class LanguageFilter(Filter):
    """Allow-listed languages only; a low detector score on a long enough text is a reject too.
    Short texts carry too little signal for the detector, so their score is not held against them."""

    name = "language"
    reason = Reason.LANGUAGE

    def __init__(self, allow: list[str], min_score: float, min_chars_for_score: int = 20) -> None:
        super().__init__()
        self.allow = set(allow)
        self.min_score = min_score
        self.min_chars_for_score = min_chars_for_score

    def keep(self, doc: Doc) -> bool:
        if not self.allow:
            return True
        if doc.lang not in self.allow:
            return False
        return len(doc.text) < self.min_chars_for_score or doc.lang_score >= self.min_score


class RegexBlocklistFilter(Filter):
    name = "blocklist"
    reason = Reason.BLOCKLISTED

    def __init__(self, patterns: list[str]) -> None:
        super().__init__()
        self.patterns = [re.compile(p, re.I) for p in patterns]

    def keep(self, doc: Doc) -> bool:
        return not any(p.search(doc.text) for p in self.patterns)


def default_chain(s: Settings) -> list[Filter]:
    """What a prompt *is* (greeting, link, symbols, repetition, mashing) is decided before its
    length, so junk gets its specific reason; docs/filters.md explains each step."""
    return [
        LowInformationFilter(),
        UrlOnlyFilter(),
        SymbolFilter(s.max_special_ratio),
        RepetitionFilter(s.max_char_repeat_ratio, s.max_word_repeat_ratio),
        GibberishFilter(),
        LengthFilter(s.min_chars, s.max_chars, s.min_tokens, s.max_tokens),
        LanguageFilter(s.lang_allow, s.lang_min_score),
        RegexBlocklistFilter(s.blocklist_patterns),
    ]


def run_chain(chain: list[Filter], doc: Doc) -> Reason | None:
    for step in chain:
        reason = step(doc)
        if reason is not None:
            return reason
    return None
