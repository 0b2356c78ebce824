"""Phone numbers in every region's formats, parsed by ``phonenumbers`` (libphonenumber's port).

A bounded pattern finds candidates: a run of digits, spaces and ``( ) . - /`` with 7 to 15
digits, optionally led by ``+`` or ``00``. A candidate in international form is a phone when
libphonenumber finds it possible for its country code; one in national form when it is valid
for one of the configured regions (``FLYWHEEL_PII_PHONE_REGIONS``: a German "030 12345678" is
only a number if Germany is among them). Bare or loosely grouped numbers ("123456789",
"5 650 000") need a phone word before them. A parse costs ~20 µs per region, so a text pays for
at most ``BUDGET`` parses; past that, every candidate that would need one is redacted unparsed:
a text made of thousands of numbers costs linear time (about a millisecond more) and leaks none.
"""

from __future__ import annotations

import re

import phonenumbers

from services.clean.pii.validators import digits_of
from services.settings import Settings

_FIELD = Settings.model_fields["pii_phone_regions"]
DEFAULT_REGIONS: tuple[str, ...] = tuple(_FIELD.default_factory())  # type: ignore[call-arg,misc]
BUDGET = 64  # phonenumbers.parse calls per text, ~20 µs each

CANDIDATE = re.compile(r"(?<![\w+.,/-])(?:\+|00)?[ ]?\(?\d[\d ().\-/]{5,24}\d(?![\w]|[.,]\d)", re.A)
_SEPARATED_NANP = re.compile(r"(?:\+?1[ .-]?)?\(?[2-9]\d{2}\)?[ .-]?\d{3}[ .-]\d{4}", re.A)
_CN_MOBILE = re.compile(r"(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}", re.A)


_DATE_LIKE = re.compile(
    r"\d{1,4}([/.-])\d{1,2}\1\d{1,4}(?: ?(?:-|to) ?\d{1,4}([/.-])\d{1,2}\2\d{1,4})?"
)


# A bare or loosely grouped number ("123456789", "5 650 000", "4000-4999", "9778474 / 743") is
# far more often a quantity than a phone: it counts only after a phone word.
_WEAK = re.compile(r"[1-9]\d{6,14}|\d{1,3}(?: \d{3}){2,4}|\d{1,10} ?[-/] ?\d{1,10}", re.A)
PHONE_WORDS = (
    "phone", "tel", "call", "mobile", "cell", "whatsapp", "sms", "text me", "fax", "number",
    "手机", "电话", "号码", "联系", "telefon", "handy", "téléphone", "portable", "teléfono",
    "móvil", "celular", "電話",
)  # fmt: skip
WINDOW = 32


class _Budget:
    """Parses left for this text; once spent, a candidate that needs parsing counts as a phone."""

    def __init__(self, n: int) -> None:
        self.left = n

    def parse(self, cand: str, region: str | None) -> phonenumbers.PhoneNumber | None:
        self.left -= 1
        try:
            return phonenumbers.parse(cand, region)
        except phonenumbers.NumberParseException:
            return None


def _is_phone(cand: str, regions: tuple[str, ...], before: str, budget: _Budget) -> bool:
    if _DATE_LIKE.fullmatch(cand):
        return False  # 12/05/2023, 2023-05-12: a date, even where a phone could be so written
    if _WEAK.fullmatch(cand) and not _CN_MOBILE.fullmatch(cand):
        low = before.casefold()
        if not any(w in low for w in PHONE_WORDS):
            return False
    if _SEPARATED_NANP.fullmatch(cand) or _CN_MOBILE.fullmatch(cand):
        return True  # the two commonest shapes, also for numbers outside the metadata (555-01xx)
    if budget.left <= 0:
        return True  # over-redact rather than parse without end
    if cand.startswith(("+", "00")):
        num = budget.parse("+" + cand.lstrip("+0 ") if cand.startswith("00") else cand, None)
        return num is not None and phonenumbers.is_possible_number(num)
    for region in regions:
        num = budget.parse(cand, region)
        if num is not None and phonenumbers.is_valid_number(num):
            return True
        if budget.left <= 0:
            return True
    return False


def redact_phones(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> tuple[str, bool]:
    """Text with phone numbers replaced by ``{{PHONE}}``, and whether any was found."""
    found = False
    budget = _Budget(BUDGET)

    def repl(m: re.Match[str]) -> str:
        nonlocal found
        cand = m.group(0).strip()
        if not 7 <= len(digits_of(cand)) <= 15:
            return m.group(0)
        before = m.string[max(0, m.start() - WINDOW) : m.start()]
        if not _is_phone(cand, regions, before, budget):
            return m.group(0)
        found = True
        lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        return lead + "{{PHONE}}"

    return CANDIDATE.sub(repl, text), found
