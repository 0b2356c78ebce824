"""Every detector runs in linear time on any input (hardening: the quadratic e-mail pattern).

Two checks, both by counting, not timing (bench/pii.py reports the µs per KB):

- structure: every quantifier of every pattern is bounded and a variable repeat nests only
  inside a repeat of at most 8, so one match attempt examines a bounded number of characters
  whatever the text, and a scan of n characters costs O(n);
- Python-level work: validator calls and phone parses per text grow at most linearly (the phone
  parser has a fixed budget) on adversarial inputs of two sizes.
"""

from __future__ import annotations

import dataclasses
import re
import re._constants as C
import re._parser as P
import time

import phonenumbers
import pytest

import services.clean.pii as pii
import services.clean.pii.dictionary as dictionary_mod
import services.clean.pii.lexicon as lexicon
import services.clean.pii.ner as ner_mod
import services.clean.pii.phones as phones_mod
from services.clean.pii import DETECTORS, addresses, names, names_zh, redact
from services.clean.pii.phones import CANDIDATE

# the NER tier's gates run on every text the model sees, and on every span it returns
NER_PATTERNS = [ner_mod.CAPITAL_WORDS, ner_mod.NAME_SHAPE]
# the words and gates every tier that finds names shares
LEXICON_PATTERNS = [
    lexicon.TWO_CAPS,
    lexicon.FIRST_PERSON,
    lexicon.FIRST_PERSON_OR_PLEASE,
    lexicon.FIRST_PERSON_OR_REQUEST,
    lexicon.PUBLIC_CUE,
]
PATTERNS = (
    [d.pattern for d in DETECTORS]
    + [CANDIDATE]
    + NER_PATTERNS
    + LEXICON_PATTERNS
    + [dictionary_mod.TOKEN, dictionary_mod.PERSONAL]
)
# the patterns of names and addresses by cue, by name
CUE_PATTERNS = {
    f"{module.__name__.rsplit('.', 1)[1]}.{name}": getattr(module, name)
    for module, names_ in (
        (addresses, ("ADDRESS_PREFIX", "EU_ADDRESS", "EN_ADDRESS", "DE_ADDRESS", "ZH_ADDRESS",
                     "ADDRESS_CUE")),
        (names, ("EN_NAME", "EN_NAME_HERE", "EN_NAME_RELATION", "EN_NAME_DEAR", "EN_NAME_SIGNOFF",
                 "EN_NAME_FIELD", "EN_NAME_BY", "EN_NAME_ACT", "EN_NAME_ADDRESSED",
                 "HONORIFIC_NAME")),
        (names_zh, ("ZH_NAME", "ZH_NAME_WEAK", "ZH_NAME_FIELD", "ZH_NAME_CONTEXT",
                    "ZH_LATIN_NAME")),
    )
    for name in names_
}  # fmt: skip
REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, C.POSSESSIVE_REPEAT)


def _walk(sub, outer_max: int, where: str) -> None:
    for op, av in sub:
        if op in REPEATS:
            lo, hi, inner = av
            assert hi != C.MAXREPEAT, f"unbounded repeat in {where}"
            if hi > lo:
                assert outer_max <= 8, f"variable repeat nested in a repeat of {outer_max}: {where}"
            _walk(inner, max(outer_max, hi) if hi > 1 else outer_max, where)
        elif op == C.SUBPATTERN:
            _walk(av[3], outer_max, where)
        elif op == C.BRANCH:
            for alt in av[1]:
                _walk(alt, outer_max, where)
        elif op in (C.ASSERT, C.ASSERT_NOT):
            _walk(av[1], outer_max, where)


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.pattern[:40])
def test_every_quantifier_is_bounded(pattern: re.Pattern[str]) -> None:
    _walk(P.parse(pattern.pattern, pattern.flags), 1, pattern.pattern[:80])


@pytest.mark.parametrize("name", sorted(CUE_PATTERNS))
def test_cue_patterns_are_bounded(name: str) -> None:
    _walk(P.parse(CUE_PATTERNS[name], 0), 1, name)


ADVERSARIAL = {
    "email": lambda n: "x@" + "a-" * (n // 2) + "!",
    "email_dots": lambda n: "a." * (n // 2) + "@",
    "email_at": lambda n: "a@" * (n // 2),
    "digits_spaced": lambda n: "1 " * (n // 2),
    "digits_run": lambda n: "4" * n,
    "card_groups": lambda n: "4111 1111 1111 1111 " * (n // 20),
    "iban_like": lambda n: "DE89 3704 0044 0532 0130 01 " * (n // 28),
    "dotted": lambda n: "1." * (n // 2),
    "colons": lambda n: "a:" * (n // 2),
    "key_headers": lambda n: "-----BEGIN RSA PRIVATE KEY-----" * (n // 31),
    "cue_names": lambda n: "my name is Aa " * (n // 14),
    "cue_address": lambda n: "my address is 1 " * (n // 16),
    "zh_address": lambda n: "地址是北京市朝阳区" * (n // 9),
    "zh_name": lambda n: "我叫王" * (n // 3),
    "passport": lambda n: "passport A1234567 " * (n // 18),
    "born": lambda n: "born 1990-01-01 " * (n // 16),
    "titled": lambda n: "me Dr. Ab Cd " * (n // 13),
    "titled_far": lambda n: "Dr. Ab " + "x" * n + " me",
}


class Counting:
    """Counts validator calls and phone parses: the work done per match in Python."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real_parse = phonenumbers.parse

        def parse(*a, **k):
            self.calls += 1
            return real_parse(*a, **k)

        monkeypatch.setattr(phones_mod.phonenumbers, "parse", parse)
        real_apply = pii.apply_detector

        def apply(det, text, found):
            if det.valid is not None:
                det = dataclasses.replace(det, valid=self._count(det.valid))
            return real_apply(det, text, found)

        monkeypatch.setattr(pii, "apply_detector", apply)

    def _count(self, fn):
        def wrapped(value: str) -> bool:
            self.calls += 1 + len(value) // 64
            return fn(value)

        return wrapped


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_python_work_grows_linearly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    counter = Counting(monkeypatch)
    counts = []
    for n in (4_000, 16_000):
        counter.calls = 0
        redact(ADVERSARIAL[name](n))
        counts.append(counter.calls)
    small, large = counts
    assert large <= 4.4 * max(small, 1) + 10, (name, counts)


def test_email_on_adversarial_input_matches_nothing_and_finds_real_addresses() -> None:
    text = "x@" + "a-" * 20_000 + "!"
    assert redact(text) == (text, [])
    assert redact("x@" + "a-" * 30 + "b.com")[1] == ["EMAIL"]


NER_ADVERSARIAL = {
    "capitals": lambda n: "Ab " * (n // 3),
    "names_me": lambda n: "Ann O'Brien me " * (n // 15),
    "by_dashes": lambda n: 'by - " - ' * (n // 8),
    "apostrophes": lambda n: "O'O'O'O' " * (n // 9),
}


@pytest.mark.parametrize("name", sorted(NER_ADVERSARIAL))
def test_ner_span_gate_is_linear(name: str) -> None:
    """The per-span check (``ner.personal``) on every two-word window of an adversarial text:
    a bounded slice each, so the steps per span do not grow with the text."""
    steps = []
    for n in (4_000, 16_000):
        text = NER_ADVERSARIAL[name](n)
        near = [m.start() for m in lexicon.FIRST_PERSON_OR_PLEASE.finditer(text)]
        spans = [m.span() for m in ner_mod.CAPITAL_WORDS.finditer(text)] or [(0, min(8, len(text)))]
        t = time.perf_counter()
        for start, end in spans:
            ner_mod.personal(text, start, end, near)
        steps.append((time.perf_counter() - t) / len(spans))
    small, large = steps
    assert large <= 4 * small + 2e-5, (name, steps)


CUE_ADVERSARIAL = {
    "zh_cue": lambda n: "帮我给王" * (n // 4),
    "zh_title": lambda n: "王小先生" * (n // 4),
    "here": lambda n: ", Ab Cd" * (n // 7) + " here",
    "relation": lambda n: "my sister " * (n // 10),
    "dear": lambda n: "Dear Ab " * (n // 8),
    "signoff": lambda n: "regards\nAb Cd Ef Gh " * (n // 20),
    "field": lambda n: "\nCustomer: Ab Cd Ef" * (n // 19),
    "act": lambda n: "please tell Ab Cd " * (n // 18),
    "act_far": lambda n: "tell Ab Cd " + "x" * n + " me",
    "subject": lambda n: ". Ab Cd from the " + "office " * (n // 7),
    "quote": lambda n: "'Ab Cd, " * (n // 8),
    "eu_words": lambda n: "Ab " * (n // 3) + "12, 10115 Berlin",
    "eu_numbers": lambda n: "Ab 12, " * (n // 7),
    "eu_district": lambda n: "Ab 1, " + "Cd. " * (n // 4) + "12345",
    "flat": lambda n: "Flat 3, " * (n // 8) + "1 Main Street",
    "zh_field": lambda n: "收件人写的是" * (n // 6),
    "zh_time": lambda n: "明天王" * (n // 3),
    "zh_latin": lambda n: "给 Ab Cd " * (n // 8),
    "zh_cue_commas": lambda n: "地址：" + "A, " * (n // 3),
}


@pytest.mark.parametrize("name", sorted(CUE_ADVERSARIAL))
def test_cue_patterns_do_linear_work(name: str) -> None:
    """Every quantifier is bounded (above), so a scan is O(n): the best of three CPU times for
    16 KB stays within ~6x the time for 4 KB (slack for timer noise; CPU time, not wall time,
    as other processes share the cores), no match is quadratic, and redact never raises."""
    compiled = [re.compile(p) for p in CUE_PATTERNS.values()]
    times = []
    for n in (4_000, 16_000):
        text = CUE_ADVERSARIAL[name](n)
        best = float("inf")
        for _ in range(3):
            t = time.process_time()
            for rx in compiled:
                rx.findall(text)
            redact(text)
            best = min(best, time.process_time() - t)
        times.append(best)
    small, large = times
    assert large <= 6 * small + 5e-3, (name, times)
