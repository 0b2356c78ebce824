"""Checksums and format rules that tell a real identifier from a look-alike number.

Each takes the matched text and answers in time linear in its length (they are only ever given
matches of bounded patterns).
"""

from __future__ import annotations

import ipaddress

_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if "0" <= ch <= "9")


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
    """ISO 13616: length 15-34, moved country code and check digits, mod 97 == 1."""
    s = value.replace(" ", "").upper()
    if not 15 <= len(s) <= 34 or not s.isalnum() or not s.isascii():
        return False
    moved = s[4:] + s[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def cn_id_ok(value: str) -> bool:
    """Chinese resident id: 17 digits, a plausible date, ISO 7064 MOD 11-2 check character."""
    if len(value) != 18 or not value[:17].isdigit() or not value[:17].isascii():
        return False
    check = "10X98765432"[
        sum(int(d) * w for d, w in zip(value[:17], _CN_WEIGHTS, strict=True)) % 11
    ]
    month, day = int(value[10:12]), int(value[12:14])
    return value[17].upper() == check and 1 <= month <= 12 and 1 <= day <= 31


def card_ok(match: str) -> bool:
    digits = digits_of(match)
    return 13 <= len(digits) <= 19 and luhn_ok(digits)


def ipv6_ok(match: str) -> bool:
    try:
        ipaddress.IPv6Address(match)
    except ValueError:
        return False
    groups = [g for g in match.split(":") if g]
    return len(groups) >= 2 and any(ch.isdigit() for ch in match)  # not "d::" in "std::vector"


def ssn_ok(match: str) -> bool:
    """US SSN written with separators; areas 000, 666 and 9xx, group 00, serial 0000 never issued."""
    digits = digits_of(match)
    if len(digits) != 9 or len(match) == 9:  # nine bare digits are too common to mean an SSN
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def de_tax_id_ok(value: str) -> bool:
    """German Steuer-ID: 11 digits, no leading 0, ISO 7064 MOD 11,10 check digit."""
    digits = digits_of(value)
    if len(digits) != 11 or digits[0] == "0":
        return False
    product = 10
    for ch in digits[:10]:
        total = (int(ch) + product) % 10 or 10
        product = (total * 2) % 11
    return (11 - product) % 10 == int(digits[10])
