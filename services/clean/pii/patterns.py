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
    # how many characters of the value are the identifier (the rest stays in the text)
    trim: Callable[[str], int] | None = None


def always(text: str) -> bool:
    """The precheck of a detector whose pattern is cheap enough to run on every text."""
    return True


def not_ascii(text: str) -> bool:
    """The precheck of a detector of Chinese text (``isascii`` is O(1))."""
    return not text.isascii()


class Has:
    """A precheck: some needle occurs in the case-folded text. ``in`` runs in C at a few ns per
    character, so a detector whose cue is absent costs almost nothing. ``redact`` case-folds a
    text once and calls ``hit`` for every such precheck; an ASCII text (``isascii`` is O(1)) is
    only searched for the ASCII needles. ``require``: a substring that must also occur."""

    def __init__(self, needles: tuple[str, ...], require: str = "") -> None:
        self.needles = needles
        self.ascii = tuple(n for n in needles if n.isascii())
        self.require = require

    def hit(self, low: str) -> bool:
        if self.require and self.require not in low:
            return False
        for n in self.ascii if low.isascii() else self.needles:  # a loop: no generator frame
            if n in low:
                return True
        return False

    def __call__(self, text: str) -> bool:
        return self.hit(text.casefold())


def has(*needles: str, require: str = "") -> Has:
    return Has(tuple(dict.fromkeys(n.casefold() for n in needles)), require)


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

_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|jän|mär|mai|okt|dez|janv|févr|mars|avr|juin"
    "|juil|août|déc|ene|abr|ago|dic|gen|mag|giu|lug|set|ott|fev|out|maa|mei|sty|lut|kwi|cze|lip"
    "|sie|wrz|paź|lis|gru"
)
_DATE = (
    r"\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?|\d{4}년 ?\d{1,2}월 ?\d{1,2}일|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}"
    rf"|(?i:{_MONTHS})[a-zäéûçíóúñ]{{0,7}}\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th|er|º)?\.? (?:of |de )?(?i:{_MONTHS})[a-zäéûçíóúñ]{{0,7}}\.?,?"
    r" (?:de )?\d{4}"
)

PASSPORT_WORDS = (
    "passport", "reisepass", "passnummer", "pass-nr", "passeport", "pasaporte", "passaporte",
    "passaporto", "paszport", "paspoort", "pasaport", "паспорт", "护照", "護照", "旅券",
    "パスポート", "여권", "hộ chiếu", "جواز",
)  # fmt: skip
# words naming a national id; "\\b" where the word is also a piece of others
ID_WORDS = (
    "id number", "id no\\b", "id card", "id-nr", "national id", "identity card",
    "identity number", "identity no", "identification number", "personalausweis",
    "ausweisnummer", "身份证", "证件号", "マイナンバー", "個人番号", "주민등록번호", "주민번호",
    "aadhaar", "aadhar", "\\bdni\\b", "\\bnie\\b", "\\bbsn\\b", "burgerservicenummer",
    "\\bcpf\\b", "\\bnric\\b", "carte d'identité", "numéro d'identité", "codice fiscale",
    "\\bpesel\\b", "personnummer", "personal number", "\\brrn\\b", "resident registration",
    "\\bnir\\b", "sécurité sociale", "national insurance", "social insurance number",
    "\\bcurp\\b", "\\brut\\b", "cédula", "documento de identidad", "kimlik", "căn cước",
    "\\bcccd\\b", "\\bnik\\b", "mykad", "emirates id", "sozialversicherungsnummer",
    "henkilötunnus", "cpr-nummer", "fødselsnummer", "rodné číslo", "\\bami\\b",
)  # fmt: skip
BIRTH_WORDS = (
    "\\bborn\\b", "date of birth", "birth ?date", "\\bd\\.?o\\.?b\\b", "birthday", "geboren",
    "geburtsdatum", "geburtstag", "geboortedatum", "\\bnée?\\b", "date de naissance",
    "fecha de nacimiento", "nacid[oa]", "\\bnat[oa]\\b", "data di nascita", "nascid[oa]",
    "data de nascimento", "urodzon[ya]", "data urodzenia", "ngày sinh", "sinh ngày",
    "дата рождения", "родил", "doğum", "تاريخ الميلاد", "fødselsdato", "födelsedatum",
    "syntymäaika", "出生", "生日", "生年月日", "생년월일", "출생",
)  # fmt: skip
# the same as plain substrings of the case-folded text, for the precheck
BIRTH_NEEDLES = (
    "born", "birth", "dob", "d.o.b", "geboren", "geburt", "geboorte", "né", "naissance",
    "nacimiento", "nacid", "nato", "nata", "nascita", "nascid", "nascimento", "urodz", "sinh",
    "рождения", "родил", "doğum", "الميلاد", "fødsel", "födelse", "syntymä", "出生", "生日",
    "生年月日", "생년월일", "출생",
)  # fmt: skip

_ID_LONG = has(*(w for w in ID_WORDS if "\\b" not in w))
# three- and four-letter acronyms as written (DNI, Cpf): a substring test of their lower case
# ("nie", "ami") would pass most texts, and a word-boundary search costs more than all the rest
_ID_SHORT = tuple(
    v
    for w in ID_WORDS
    if "\\b" in w
    for v in (w.replace("\\b", "").upper(), w.replace("\\b", "").capitalize())
)


def id_hint(text: str) -> bool:
    return any(a in text for a in _ID_SHORT) or _ID_LONG(text)


# an IPv4 address has a digit, a dot and one to three digits and a dot; an IPv6 address with
# two groups or more has "::" or ":h:" (python -m bench pii: the full patterns cost 10x these scans)
_V4_HINT = re.compile(r"\d\.\d{1,3}\.\d", re.A)
_V6_HINT = re.compile(r":[0-9A-Fa-f]{1,4}:", re.A)


def v4_hint(text: str) -> bool:
    return text.count(".") >= 3 and _V4_HINT.search(text) is not None


def v6_hint(text: str) -> bool:
    return text.count(":") >= 2 and ("::" in text or _V6_HINT.search(text) is not None)


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
        re.compile(
            r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \u00a0-]?[A-Za-z0-9]{4}){2,7}"
            r"(?:[ \u00a0-]?[A-Za-z0-9]{1,4})?(?![A-Za-z0-9])"
        ),
        always,
        v.iban_value_ok,
        min_digits=4,
        context=True,
        trim=v.iban_trim,
    ),
    Detector(
        "CN_ID",
        re.compile(
            r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9])",
            re.A,
        ),
        always,
        v.cn_id_ok,
        min_digits=17,
        context=True,
    ),
    Detector(
        "PASSPORT",
        re.compile(
            rf"(?i:{'|'.join(PASSPORT_WORDS)})[^0-9\n]{{0,40}}?(?<![A-Za-z0-9])"
            r"(?P<v>[A-Z]{1,3}[ -][0-9]{6,9}|(?=[A-Za-z0-9]{0,11}[0-9])[A-Za-z0-9]{1,12}"
            r"(?:[ -][0-9]{2,9}){0,2})(?![A-Za-z0-9])"
        ),
        has(*PASSPORT_WORDS),
        v.passport_ok,
        min_digits=3,
    ),
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
            rf"(?i:{'|'.join(ID_WORDS)})[^0-9\n]{{0,30}}?(?<![A-Za-z0-9])"
            r"(?P<v>(?=[A-Za-z]{0,6}[0-9]|[A-Z]{1,3}[ .-][0-9])[A-Za-z0-9]"
            r"(?:[A-Za-z0-9]|[.\-/](?=[A-Za-z0-9])){2,24}"
            r"(?: (?=[0-9])(?:[A-Za-z0-9]|[.\-](?=[A-Za-z0-9])){1,12}){0,7})(?![A-Za-z0-9])"
        ),
        id_hint,
        lambda m: sum(ch.isdigit() for ch in m) >= 5,
        min_digits=5,
    ),
    Detector(
        "NATIONAL_ID",
        re.compile(
            r"(?<![A-Za-z0-9.\-/+])(?<![0-9] )(?P<v>\d{8}-?[A-Z]|[XYZ]-?\d{7}-?[A-Z]"
            r"|[A-Z]{6}\d{2}[A-EHLMPRST]\d{2}[A-Z]\d{3}[A-Z]|\d{3}\.\d{3}\.\d{3}-\d{2}"
            r"|(?:19|20)?\d{6}[-+]\d{4}|[2-9]\d{3} \d{4} \d{4}|\d{6}-[1-8]\d{6}|\d{13}"
            r"|[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2})(?![A-Za-z0-9]|[.\-/ ]\d)",
            re.I | re.A,
        ),
        always,
        v.national_id_ok,
        min_digits=7,
        context=True,
    ),
    Detector(
        "DATE_OF_BIRTH",
        re.compile(rf"(?i:{'|'.join(BIRTH_WORDS)})[^0-9\n]{{0,24}}?(?P<v>{_DATE})"),
        has(*BIRTH_NEEDLES),
        min_digits=4,
    ),
    Detector(
        "CREDIT_CARD",
        re.compile(
            r"(?<![0-9.,])(?:\d{13,19}|\d{4}([ .-])\d{4}\1\d{4}\1\d{1,4}(?:\1\d{1,3})?"
            r"|\d{4}([ .-])\d{6}\2\d{4,5})(?![0-9]|[.,]\d)",
            re.A,
        ),
        always,
        v.card_ok,
        min_digits=13,
        context=True,
    ),
    Detector(
        "SSN",
        re.compile(r"(?<![0-9-])\d{3}([- ]?)\d{2}\1\d{4}(?![0-9-])", re.A),
        always,
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
        v4_hint,
        min_digits=4,
    ),
    Detector(
        "IP",
        re.compile(
            r"(?<![0-9A-Fa-f:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Fa-f:])", re.A
        ),
        v6_hint,
        v.ipv6_ok,
    ),
)
