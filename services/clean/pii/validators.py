"""Checksums and format rules that tell a real identifier from a look-alike number.

Each takes the matched text and answers in time linear in its length (they are only ever given
matches of bounded patterns).
"""

from __future__ import annotations

import ipaddress
import re

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


# The SWIFT IBAN registry: each country's BBAN structure ("n" digits, "a" upper-case letters,
# "c" letters or digits); the IBAN is the country code, two check digits and the BBAN.
IBAN_BBAN: dict[str, str] = {
    "AD": "4n4n12c", "AE": "3n16n", "AL": "8n16c", "AT": "5n11n", "AZ": "4a20c",
    "BA": "3n3n8n2n", "BE": "3n7n2n", "BG": "4a4n2n8c", "BH": "4a14c", "BI": "5n5n11n2n",
    "BR": "8n5n10n1a1c", "BY": "4c4n16c", "CH": "5n12c", "CR": "4n14n", "CY": "3n5n16c",
    "CZ": "4n6n10n", "DE": "8n10n", "DJ": "5n5n11n2n", "DK": "4n9n1n", "DO": "4c20n",
    "EE": "2n2n11n1n", "EG": "4n4n17n", "ES": "4n4n1n1n10n", "FI": "3n11n", "FK": "2a12n",
    "FO": "4n9n1n", "FR": "5n5n11c2n", "GB": "4a6n8n", "GE": "2a16n", "GI": "4a15c",
    "GL": "4n9n1n", "GR": "3n4n16c", "GT": "4c20c", "HR": "7n10n", "HU": "3n4n1n15n1n",
    "IE": "4a6n8n", "IL": "3n3n13n", "IQ": "4a3n12n", "IS": "4n2n6n10n", "IT": "1a5n5n12c",
    "JO": "4a4n18c", "KW": "4a22c", "KZ": "3n13c", "LB": "4n20c", "LC": "4a24c",
    "LI": "5n12c", "LT": "5n11n", "LU": "3n13c", "LV": "4a13c", "LY": "3n3n15n",
    "MC": "5n5n11c2n", "MD": "2c18c", "ME": "3n13n2n", "MK": "3n10c2n", "MN": "4n12n",
    "MR": "5n5n11n2n", "MT": "4a5n18c", "MU": "4a2n2n12n3n3a", "NI": "4a20n", "NL": "4a10n",
    "NO": "4n6n1n", "OM": "3n16c", "PK": "4a16c", "PL": "8n16n", "PS": "4a21c",
    "PT": "4n4n11n2n", "QA": "4a21c", "RO": "4a16c", "RS": "3n13n2n", "RU": "9n5n15c",
    "SA": "2n18c", "SC": "4a2n2n16n3a", "SD": "2n12n", "SE": "3n16n1n", "SI": "5n8n2n",
    "SK": "4n6n10n", "SM": "1a5n5n12c", "SO": "4n3n12n", "ST": "4n4n11n2n", "SV": "4a20n",
    "TL": "3n14n2n", "TN": "2n3n13n2n", "TR": "5n1n16c", "UA": "6n19c", "VA": "3n15n",
    "VG": "4a16n", "XK": "4n10n2n", "YE": "4a4n18c",
}  # fmt: skip


def _bban_lengths(structure: str) -> list[tuple[int, str]]:
    out, num = [], ""
    for ch in structure:
        if ch.isdigit():
            num += ch
        else:
            out.append((int(num), ch))
            num = ""
    return out


_BBAN_PARTS = {cc: _bban_lengths(s) for cc, s in IBAN_BBAN.items()}
IBAN_LENGTH = {cc: 4 + sum(n for n, _ in parts) for cc, parts in _BBAN_PARTS.items()}
_CLASS_OK = {"n": str.isdigit, "a": str.isalpha, "c": str.isalnum}


def iban_trim(value: str) -> int:
    """How much of a matched IBAN candidate is the IBAN: the registry length of its country
    (a grouped IBAN followed by "2024" must not take the year), else all of it."""
    want = IBAN_LENGTH.get(value[:2].upper())
    if want is None:
        return len(value)
    seen = 0
    for i, ch in enumerate(value):
        if ch.isalnum():
            seen += 1
            if seen == want:
                return i + 1
    return len(value)


def iban_structure_ok(compact: str) -> bool:
    """The country's registered length and BBAN structure (digits where digits belong)."""
    parts = _BBAN_PARTS.get(compact[:2])
    if parts is None or len(compact) != IBAN_LENGTH[compact[:2]]:
        return False
    i = 4
    for n, cls in parts:
        if not all(_CLASS_OK[cls](ch) for ch in compact[i : i + n]):
            return False
        i += n
    return True


def iban_value_ok(value: str) -> bool:
    """An IBAN as written: upper case with a valid mod 97; lower or mixed case (more often a
    hash or an id) also needs its country's registered length and BBAN structure."""
    compact = "".join(ch for ch in value if ch.isalnum())
    if not iban_ok(compact):
        return False
    return compact.isupper() or iban_structure_ok(compact.upper())


_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CF_ODD = (1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23)  # fmt: skip
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def _date_ok(yymmdd: str, day_offset: int = 0) -> bool:
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6]) - day_offset
    return 1 <= month <= 12 and 1 <= day <= 31


def verhoeff_ok(digits: str) -> bool:
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][ord(ch) - 48]]
    return c == 0


def national_id_ok(value: str) -> bool:
    """A national id written without a word naming it, told by its shape and check characters:
    ES DNI/NIE (mod 23 letter), IT codice fiscale (check letter), BR CPF (two mod 11 digits),
    SE personnummer (date, Luhn), IN Aadhaar (4-4-4, Verhoeff), KR resident registration number
    (date, weighted mod 11), ZA id (date, citizenship digit, Luhn), FR NIR (sex, month, mod 97
    key)."""
    v = value.upper()
    compact = v.replace(" ", "").replace("-", "").replace(".", "").replace("+", "")
    if len(compact) == 9 and compact[:8].isdigit():  # DNI
        return compact[8] == _DNI_LETTERS[int(compact[:8]) % 23]
    if len(compact) == 9 and compact[0] in "XYZ" and compact[1:8].isdigit():  # NIE
        return compact[8] == _DNI_LETTERS[int(str("XYZ".index(compact[0])) + compact[1:8]) % 23]
    if len(compact) == 16 and compact[:6].isalpha():  # codice fiscale
        total = 0
        for i, ch in enumerate(compact[:15]):
            idx = ord(ch) - 48 if ch.isdigit() else ord(ch) - 65
            total += _CF_ODD[idx] if i % 2 == 0 else idx
        return compact[15] == chr(65 + total % 26)
    if not compact.isdigit():
        return _nir_ok(compact)
    if "." in v and len(compact) == 11:  # CPF 123.456.789-09
        d = [ord(c) - 48 for c in compact]
        if len(set(d)) == 1:
            return False
        for n in (9, 10):
            if (
                sum(x * w for x, w in zip(d[:n], range(n + 1, 1, -1), strict=True)) * 10 % 11 % 10
                != d[n]
            ):
                return False
        return True
    if len(compact) == 12 and " " in v:  # Aadhaar 4-4-4
        return compact[0] not in "01" and verhoeff_ok(compact)
    if (
        len(compact) in (10, 12)
        and ("-" in v or "+" in v)
        and len(v.split("-")[-1].split("+")[-1]) == 4
    ):
        ten = compact[-10:]  # SE personnummer (YY)YYMMDD-NNNC; day + 60 for a coordination number
        return (_date_ok(ten) or _date_ok(ten, 60)) and luhn_ok(ten)
    if len(compact) == 13 and "-" in v:  # KR RRN YYMMDD-SNNNNNC
        weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
        total = sum((ord(c) - 48) * w for c, w in zip(compact[:12], weights, strict=True))
        return (
            _date_ok(compact)
            and compact[6] in "12345678"
            and (11 - total % 11) % 10 == int(compact[12])
        )
    if len(compact) == 13:  # ZA YYMMDD SSSS C A Z
        return _date_ok(compact) and compact[10] in "012" and luhn_ok(compact)
    return _nir_ok(compact)


def _nir_ok(compact: str) -> bool:
    """FR NIR: sex, year, month, department (2A/2B for Corsica), commune, order, mod 97 key."""
    if len(compact) != 15 or compact[0] not in "12378":
        return False
    body = compact[:13].replace("2A", "19").replace("2B", "18")
    if not body.isdigit() or not compact[13:].isdigit():
        return False
    month = int(compact[3:5])
    if not (1 <= month <= 12 or 20 <= month <= 42 or 50 <= month <= 99):
        return False
    return 97 - int(body) % 97 == int(compact[13:])


_SIZE = re.compile(r"\d{1,4}[xX×]\d{1,4}")


def passport_ok(value: str) -> bool:
    """A passport number after a passport word: 6 to 12 letters and digits, at least three of
    them digits, not a size ("35x45"), a year range or a time."""
    compact = value.replace(" ", "").replace("-", "")
    digits = sum(ch.isdigit() for ch in compact)
    if not 6 <= len(compact) <= 12 or digits < 3:
        return False
    if compact.isdigit() and len(compact) == 8 and compact[:2] in ("19", "20") and "-" in value:
        return False  # 2019-2024
    return _SIZE.fullmatch(compact) is None
