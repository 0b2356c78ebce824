"""Phone numbers (phones.py): every region's formats through libphonenumber, and the numbers
that are quantities, dates and ranges rather than phones."""

from __future__ import annotations

import pytest

from services.clean.pii import redact


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("ruf mich an: 030 12345678", "030 12345678"),
        ("meine Handynummer ist 0171 2345678", "0171 2345678"),
        ("call +81 3-1234-5678 tomorrow", "+81 3-1234-5678"),
    ],
)
def test_phones_of_several_regions(text, value):
    out, kinds = redact(text)
    assert value not in out and "{{PHONE}}" in out and kinds == ["PHONE"], out


@pytest.mark.parametrize(
    "text",
    [
        "What is 12 * 4500000?",
        "Convert 12/05/2023 to ISO format",
        "The population grew from 5 650 000 to 6 100 000.",
        "Sort: 4000-4999, 5000-5999",
    ],
)
def test_quantities_dates_and_ranges_are_not_phones(text):
    assert redact(text) == (text, [])
