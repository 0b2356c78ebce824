"""Phone numbers in every region's formats, parsed by ``phonenumbers`` (libphonenumber's port).

A bounded pattern finds candidates: a run of digits, spaces and ``( ) . - /`` with 7 to 15
digits, optionally led by ``+`` or ``00``. A candidate in international form is a phone when
libphonenumber finds it possible for its country code; one in national form when it is valid
for one of the configured regions (``FLYWHEEL_PII_PHONE_REGIONS``: a German "030 12345678" is
only a number if Germany is among them). A parse costs ~20 µs per region, so a text pays for at
most ``BUDGET`` candidates; past that, every candidate with the digits of a phone is redacted
unparsed: a text made of thousands of numbers costs linear time and leaks none.
"""

from __future__ import annotations

import re

import phonenumbers

from services.clean.pii.validators import digits_of
from services.settings import Settings

_FIELD = Settings.model_fields["pii_phone_regions"]
DEFAULT_REGIONS: tuple[str, ...] = tuple(_FIELD.default_factory())  # type: ignore[call-arg,misc]
BUDGET = 32

CANDIDATE = re.compile(r"(?<![\w+.,/-])(?:\+|00)?[ ]?\(?\d[\d ().\-/]{5,24}\d(?![\w]|[.,]\d)", re.A)
_SEPARATED_NANP = re.compile(r"(?:\+?1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]\d{4}", re.A)
_CN_MOBILE = re.compile(r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}", re.A)


def _is_phone(cand: str, regions: tuple[str, ...]) -> bool:
    if cand.startswith(("+", "00")):
        try:
            num = phonenumbers.parse("+" + cand.lstrip("+0 ") if cand.startswith("00") else cand)
        except phonenumbers.NumberParseException:
            return False
        return phonenumbers.is_possible_number(num)
    if _SEPARATED_NANP.fullmatch(cand) or _CN_MOBILE.fullmatch(cand):
        return True  # the two commonest shapes, also for numbers outside the metadata (555-01xx)
    for region in regions:
        try:
            num = phonenumbers.parse(cand, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(num):
            return True
    return False


def redact_phones(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> tuple[str, bool]:
    """Text with phone numbers replaced by ``{{PHONE}}``, and whether any was found."""
    found = False
    parsed = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal found, parsed
        cand = m.group(0).strip()
        n = len(digits_of(cand))
        if not 7 <= n <= 15:
            return m.group(0)
        if parsed < BUDGET:
            parsed += 1
            if not _is_phone(cand, regions):
                return m.group(0)
        found = True
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        return lead + "{{PHONE}}"

    return CANDIDATE.sub(repl, text), found
