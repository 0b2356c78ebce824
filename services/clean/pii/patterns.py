"""The pattern tier: secrets, structured identifiers and context-named values.

Linear time is a property of the patterns, checked by tests/unit/clean/test_pii_linear.py:
every quantifier is bounded (``{m,n}``), so one match attempt costs a constant and a scan of n
characters costs O(n). An unbounded ``+`` before a literal costs O(n) per start position and
O(n^2) per text: that was the e-mail pattern on "x@a-a-a-...!". Bounds follow the formats
(RFC 5321: local part <= 64, domain label <= 63) and are generous for the rest.

A value whose pattern has a group named ``v`` is that group only: the words around it (the
keyword "passport", "born on") stay in the text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from services.clean.pii import validators as v


@dataclass(frozen=True)
class Detector:
    kind: str  # placeholder name and the value listed in the record's ``pii`` field
    pattern: re.Pattern[str]
    precheck: Callable[[str], bool]
    valid: Callable[[str], bool] | None = None
    min_digits: int = 0  # skip texts with fewer ASCII digits than this
    context: bool = False  # a failed ``valid`` is overruled by a context word (context.py)
    # a check of the match's surroundings (text, start, end), run per match on a bounded slice
    around: Callable[[str, int, int], bool] | None = None


def _always(text: str) -> bool:
    return True


def has(*needles: str) -> Callable[[str], bool]:
    """A precheck: some needle occurs in the case-folded text. ``in`` runs in C at a few ns per
    character, so a detector whose cue is absent costs almost nothing."""

    def check(text: str) -> bool:
        low = text.casefold()
        return any(n in low for n in needles)

    return check


_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# E-mail: ASCII or internationalized (RFC 6531) local parts and domains. A local part in
# Latin/Greek/Cyrillic/Devanagari may touch CJK text ("邮箱是josé@x.es"); a CJK local part must
# follow a space or punctuation, or it would swallow the sentence before it.
_LOCAL = r"[A-Za-z0-9._%+\-\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u0900-\u097F]{1,64}"
_LOCAL_CJK = rf"(?:(?<=[\s:：,，(（<\"'])|^)[{_CJK}]{{1,32}}"
_LABEL = rf"[A-Za-z0-9\-\u00C0-\u024F\u0370-\u03FF\u0400-\u04FF\u0900-\u097F{_CJK}]{{1,63}}"
_TLD = (
    r"(?:[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
    rf"|[\u0370-\u03FF\u0400-\u04FF\u0900-\u097F]{{2,24}}|[{_CJK}]{{2,8}}(?=$|[\s,，。.!！?？)）>]))"
)
EMAIL = rf"(?<![A-Za-z0-9._%+\-])(?:{_LOCAL}|{_LOCAL_CJK})@(?:{_LABEL}\.){{1,8}}{_TLD}"

_DATE = (
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    r"|(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mär|Mai|Okt|Dez)[a-zä]{0,6}\.? "
    r"\d{1,2}(?:st|nd|rd|th)?,? \d{4}"
    r"|\d{1,2}(?:st|nd|rd|th)?\.? (?:of )?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec|Mär|Mai"
    r"|Okt|Dez|janv|févr|mars|avr|mai|juin|juil|août|sept|oct|nov|déc)[a-zäéû]{0,6}\.?,? \d{4}"
)

# Order matters: secrets and structured ids first, so that a phone never eats part of a card
# number or a key; context-named values before the bare numbers they contain.
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "PRIVATE_KEY",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY-----(?:[^-]|-(?!----END)){0,16384}"
            r"(?:-----END (?:[A-Z0-9]{1,16} ){0,4}PRIVATE KEY-----)?",
            re.A,
        ),
        lambda t: "PRIVATE KEY-----" in t,
    ),
    Detector(
        "URL_CREDENTIALS",
        re.compile(
            r"(?<![A-Za-z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^\s:/@]{1,256}:[^\s@/]{1,256}@[^\s/]{1,256}",
            re.A,
        ),
        lambda t: "://" in t and "@" in t,
    ),
    Detector(
        "JWT",
        re.compile(
            r"\beyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,4096}", re.A
        ),
        lambda t: "eyJ" in t,
    ),
    Detector(
        "AWS_KEY",
        re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA)[0-9A-Z]{16}\b", re.A),
        lambda t: "A" in t,
    ),
    Detector(
        "GITHUB_TOKEN",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b", re.A),
        lambda t: "gh" in t or "github_pat_" in t,
    ),
    Detector(
        "API_KEY",
        re.compile(r"(?<![A-Za-z0-9_-])sk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{20,512}", re.A),
        lambda t: "sk-" in t,
    ),
    Detector("EMAIL", re.compile(EMAIL), lambda t: "@" in t),
    Detector(
        "IBAN",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", re.A),
        _always,
        v.iban_ok,
        min_digits=10,
        context=True,
    ),
    Detector(
        "CN_ID",
        re.compile(
            r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9])",
            re.A,
        ),
        _always,
        v.cn_id_ok,
        min_digits=17,
        context=True,
    ),
    Detector(
        "PASSPORT",
        re.compile(
            r"(?i:passport|reisepass|passeport|pasaporte|passaporto|paspoort|护照|パスポート|여권)"
            r"[^0-9A-Z\n]{0,40}?(?<![A-Za-z0-9])(?P<v>[A-Z]{0,2}\d{6,9}|[A-Z]\d{2}[A-Z0-9]{4,6}"
            r"|[A-Z0-9]{2}\d{7}|\d{2}[A-Z]{2}\d{5})(?![A-Za-z0-9])"
        ),
        has(
            "passport",
            "reisepass",
            "passeport",
            "pasaporte",
            "passaporto",
            "paspoort",
            "护照",
            "パスポート",
            "여권",
        ),
        min_digits=5,
    ),  # fmt: skip
    Detector(
        "TAX_ID",
        re.compile(
            r"(?i:steuer-?id(?:entifikationsnummer)?|steuer-?nummer|steuer-?nr|idnr|\btax ?id\b"
            r"|\btin\b|taxpayer id|税号|纳税人识别号)"
            r"[^0-9\n]{0,30}?(?P<v>\d{2} ?\d{3} ?\d{3} ?\d{3}|\d{2,3}/\d{3,4}/\d{4,5}|\d{9,13})"
            r"(?![0-9])"
        ),
        has("steuer", "idnr", "tax", "tin", "税号", "纳税人"),
        min_digits=9,
    ),
    Detector(
        "NATIONAL_ID",
        re.compile(
            r"(?i:id number|id no\b|id card|national id|identity (?:card|number)|personalausweis"
            r"|ausweisnummer|身份证|证件号|マイナンバー|주민등록번호|aadhaar|\bdni\b|\bnie\b|\bbsn\b"
            r"|\bcpf\b|\bnric\b|carte d'identité|numéro d'identité)"
            r"[^0-9A-Z\n]{0,30}?(?<![A-Za-z0-9])(?P<v>[A-Z0-9][A-Z0-9 .\-]{4,22}[0-9A-Z])"
            r"(?![A-Za-z0-9])"
        ),
        has(
            "id",
            "ausweis",
            "身份证",
            "证件号",
            "マイナンバー",
            "주민등록번호",
            "aadhaar",
            "dni",
            "nie",
            "bsn",
            "cpf",
            "nric",
            "identité",
        ),
        lambda m: sum(ch.isdigit() for ch in m) >= 5,
        min_digits=5,
    ),  # fmt: skip
    Detector(
        "DATE_OF_BIRTH",
        re.compile(
            r"(?i:\bborn\b|date of birth|birth ?date|\bd\.?o\.?b\b|birthday|geboren|geburtsdatum"
            r"|geburtstag|\bnée?\b|date de naissance|fecha de nacimiento|出生|生日)"
            rf"[^0-9\n]{{0,24}}?(?P<v>{_DATE})"
        ),
        has(
            "born",
            "birth",
            "dob",
            "d.o.b",
            "geboren",
            "geburt",
            "né",
            "naissance",
            "nacimiento",
            "出生",
            "生日",
        ),
        min_digits=4,
    ),  # fmt: skip
    Detector(
        "CREDIT_CARD",
        re.compile(
            r"(?<![0-9.,])(?:\d{13,19}|\d{4}([ .-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"
            r"|\d{4}([ .-])\d{6}\2\d{4,5})(?![0-9]|[.,]\d)",
            re.A,
        ),
        _always,
        v.card_ok,
        min_digits=13,
        context=True,
    ),
    Detector(
        "SSN",
        re.compile(r"(?<![0-9-])\d{3}([- ]?)\d{2}\1\d{4}(?![0-9-])", re.A),
        _always,
        v.ssn_ok,
        min_digits=9,
        context=True,
    ),
    Detector(
        "IP",
        re.compile(
            r"(?<![0-9.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![0-9.])",
            re.A,
        ),
        lambda t: t.count(".") >= 3,
    ),
    Detector(
        "IP",
        re.compile(
            r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])", re.A
        ),
        lambda t: t.count(":") >= 2,
        v.ipv6_ok,
    ),
)
