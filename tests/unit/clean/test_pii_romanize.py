"""Latin spellings of Cyrillic, Greek and Hangul names (services/clean/pii/data/romanize.py),
which build the dictionary tier's lists, and names the lists now know through them."""

from __future__ import annotations

import pytest

from services.clean.pii import dictionary
from services.clean.pii.data.romanize import MAX_SPELLINGS, romanize


@pytest.mark.parametrize(
    ("name", "locale", "spellings"),
    [
        ("Александр", "ru_RU", {"Aleksandr", "Alexandr"}),
        ("Дмитрий", "ru_RU", {"Dmitriy", "Dmitry", "Dmitrii"}),  # "й" is not an accented "и"
        ("Ксения", "ru_RU", {"Kseniya", "Ksenia", "Xenia"}),
        ("Евгений", "ru_RU", {"Evgeny", "Yevgeny"}),
        ("Олександр", "uk_UA", {"Oleksandr"}),
        ("Ганна", "uk_UA", {"Hanna", "Ganna"}),  # Ukrainian "г" is "h"
        ("Γιώργος", "el_GR", {"Giorgos"}),  # the tonos is dropped
        ("Χρήστος", "el_GR", {"Christos", "Hristos"}),
        ("Μπάμπης", "el_GR", {"Babis"}),
        ("민준", "ko_KR", {"Minjun", "Min-jun"}),
        ("박", "ko_KR", {"Park", "Pak", "Bak"}),  # a surname as people spell it
    ],
)
def test_common_spellings(name: str, locale: str, spellings: set[str]) -> None:
    got = romanize(name, locale)
    assert spellings <= set(got) and len(got) <= MAX_SPELLINGS, got


def test_other_scripts_and_unknown_letters_give_nothing() -> None:
    assert romanize("Smith", "en_US") == []
    assert romanize("שרה", "he_IL") == []
    assert romanize("Ал3ксей", "ru_RU") == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Can you draft a note to Oleksandr Bondarenko about the invoice?", "Oleksandr Bondarenko"),
        ("I am meeting Yevgeny Smirnov at the station tomorrow.", "Yevgeny Smirnov"),
        ("Please book a table for Giorgos Papadopoulos and me.", "Giorgos Papadopoulos"),
    ],
)
def test_romanised_names_are_found_by_the_dictionary(text: str, value: str) -> None:
    assert [text[s:e] for s, e in dictionary.personal_spans(text)] == [value]
