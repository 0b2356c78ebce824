"""Personal data and secrets in prompt text, replaced by typed placeholders such as ``{{EMAIL}}``.

Each detector is a pattern plus, where the type has one, a checksum (Luhn for cards, mod 97 for
IBAN, ISO 7064 for Chinese resident ids) so that look-alike numbers are left alone. A cheap
precheck skips a detector when the text cannot contain its type. Redaction runs before anything
is hashed, logged or stored: raw values never leave the worker.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass


def luhn_ok(digits: str) -> bool:
    total, double = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if double:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        double = not double
    return total % 10 == 0


def iban_ok(value: str) -> bool:
    s = value.replace(" ", "").upper()
    if not 15 <= len(s) <= 34:
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def cn_id_ok(value: str) -> bool:
    if len(value) != 18 or not value[:17].isdigit():
        return False
    check = "10X98765432"[
        sum(int(d) * w for d, w in zip(value[:17], _CN_WEIGHTS, strict=True)) % 11
    ]
    month, day = int(value[10:12]), int(value[12:14])
    return value[17].upper() == check and 1 <= month <= 12 and 1 <= day <= 31


def _card_ok(match: str) -> bool:
    digits = re.sub(r"[ -]", "", match)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def _ipv6_ok(match: str) -> bool:
    try:
        ipaddress.IPv6Address(match)
    except ValueError:
        return False
    return match.count(":") >= 2


def _ssn_ok(match: str) -> bool:
    area, group, serial = match.split("-")
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


@dataclass(frozen=True)
class Detector:
    kind: str  # placeholder name and the value listed in the record's ``pii`` field
    pattern: re.Pattern[str]
    precheck: Callable[[str], bool]
    valid: Callable[[str], bool] | None = None
    min_digits: int = 0  # skip texts with fewer ASCII digits than this


_DIGIT = re.compile(r"[0-9]")


def _always(text: str) -> bool:
    return True


# Order matters: secrets and structured ids first, so that a phone pattern never eats part of a
# card number or a key.
DETECTORS: tuple[Detector, ...] = (
    Detector(
        "PRIVATE_KEY",
        re.compile(
            r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
            re.S | re.A,
        ),
        lambda t: "PRIVATE KEY-----" in t,
    ),
    Detector(
        "URL_CREDENTIALS",
        re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@]+:[^\s@/]+@[^\s/]+", re.A),
        lambda t: "://" in t and "@" in t,
    ),
    Detector(
        "JWT",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", re.A),
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
        re.compile(r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_-]{20,}", re.A),
        lambda t: "sk-" in t,
    ),
    Detector(
        "EMAIL",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b", re.A),
        lambda t: "@" in t,
    ),
    Detector(
        "IBAN",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", re.A),
        _always,
        iban_ok,
        min_digits=10,
    ),
    Detector(
        "CN_ID",
        re.compile(
            r"(?<![0-9])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])\d{2}\d{3}[\dXx](?![0-9])",
            re.A,
        ),
        _always,
        cn_id_ok,
        min_digits=17,
    ),
    Detector(
        "CREDIT_CARD",
        re.compile(r"(?<![0-9])(?:\d[ -]?){12,18}\d(?![0-9])", re.A),
        _always,
        _card_ok,
        min_digits=13,
    ),
    Detector(
        "SSN",
        re.compile(r"(?<![0-9-])\d{3}-\d{2}-\d{4}(?![0-9-])", re.A),
        _always,
        _ssn_ok,
        min_digits=9,
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
        _ipv6_ok,
    ),
    Detector(
        "PHONE",
        re.compile(
            r"(?<![0-9A-Za-z])(?:"
            r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}"  # Chinese mobile
            r"|\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){1,4}"  # international
            r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}"  # North American
            r")(?![0-9])",
            re.A,
        ),
        _always,
        lambda m: 10 <= sum(ch.isdigit() for ch in m) <= 15,
        min_digits=10,
    ),
)


def placeholder(kind: str) -> str:
    return "{{" + kind + "}}"


def redact(text: str) -> tuple[str, list[str]]:
    """Text with every detected value replaced by its placeholder, and the sorted kinds found."""
    found: set[str] = set()
    digits = len(_DIGIT.findall(text))
    for det in DETECTORS:
        if digits < det.min_digits or not det.precheck(text):
            continue

        def repl(m: re.Match[str], det: Detector = det) -> str:
            if det.valid is not None and not det.valid(m.group(0)):
                return m.group(0)
            found.add(det.kind)
            return placeholder(det.kind)

        text = det.pattern.sub(repl, text)
    return text, sorted(found)
