"""Names found by dictionary (services/clean/pii/dictionary.py): what is taken, what stays,
that the work is linear in the text, and the Latin spellings of Cyrillic, Greek and Hangul names
(data/romanize.py) that build its lists."""

from __future__ import annotations

import pytest

import services.clean.pii.dictionary as dictionary
from services.clean.pii import Redactor, redact
from services.clean.pii.data.romanize import MAX_SPELLINGS, romanize


@pytest.mark.parametrize(
    ("text", "value"),
    [
        # given name + surname, both in the lists (Nigerian, Finnish)
        ("I had lunch with Chukwuemeka Okonkwo and he liked the place.", "Chukwuemeka Okonkwo"),
        ("Our tenant Aino Virtanen says the boiler is broken again.", "Aino Virtanen"),
        # surname first (Finnish order in a roster), and a Vietnamese three-word name
        ("Can you check whether our tenant Virtanen Aino paid the deposit?", "Virtanen Aino"),
        ("We hired Nguyen Thi Lan as our bookkeeper last month.", "Nguyen Thi Lan"),
        # a given name and a capitalised word in no list and no dictionary
        ("Please move Agnieszka Kowalczyk to the afternoon slot.", "Agnieszka Kowalczyk"),
        # a word in no list before a surname; accents folded ("Dvořák" and "Dvorak" meet)
        ("my neighbour Zorvath Dvořák keeps parking in front of our gate", "Zorvath Dvořák"),
    ],
)
def test_names_the_lists_know_are_redacted_near_the_writer(text: str, value: str) -> None:
    out, kinds = redact(text)
    assert value not in out and "{{PERSON}}" in out and kinds == ["PERSON"], out


@pytest.mark.parametrize(
    "text",
    [
        # no first-person word: a name in general text is not the writer's contact
        "Chukwuemeka Okonkwo won the regional chess title in 2019.",
        # introduced as an author or performer
        "I loved the novel by Chukwuemeka Okonkwo, summarise its themes.",
        # a name pair made only of English words is left to the NER tier
        "Please ask Grace Park for the keys.",
        # two capitalised English words, and two words in no list
        "Please Forward This Message to the team.",
        "I think Zorvath Quellin is a great name for a fantasy villain.",
        # a list of capitalised products and places
        "We drove from San Diego to Los Angeles and my car broke down.",
    ],
)
def test_what_the_dictionary_leaves(text: str) -> None:
    assert dictionary.personal_spans(text) == []


def test_the_placeholder_is_typed_and_the_rest_of_the_text_kept() -> None:
    out, found = dictionary.redact_names("I will meet Aino Virtanen at noon.", "{{PERSON}}")
    assert (out, found) == ("I will meet {{PERSON}} at noon.", True)
    assert dictionary.redact_names("Nothing here.") == ("Nothing here.", False)


def test_keys_fold_case_and_accents() -> None:
    assert dictionary.key("Yılmaz") == dictionary.key("YILMAZ") == "yilmaz"
    assert dictionary.key("Đặng") == "dang" and dictionary.key("Łukasz") == "lukasz"


def test_missing_lists_are_one_clear_error_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    class Missing:
        def __truediv__(self, other: str) -> Missing:
            return self

        def read_bytes(self) -> bytes:
            raise FileNotFoundError("names.txt.gz")

    dictionary.lists.cache_clear()
    monkeypatch.setattr(dictionary.resources, "files", lambda _: Missing())
    try:
        with pytest.raises(dictionary.DictionaryUnavailable, match="name lists unreadable"):
            Redactor(ner=False)
    finally:
        monkeypatch.undo()
        dictionary.lists.cache_clear()
    assert dictionary.lists().given


ADVERSARIAL = {
    "names": lambda n: "Aino Virtanen me " * (n // 17),
    "capitals": lambda n: "Ab " * (n // 3),
    "unknown": lambda n: "Zorvath Quellin " * (n // 16) + "me",
    "one_run": lambda n: "me " + " ".join(["Aino"] * (n // 5)),
    "hyphens": lambda n: "Min-jun-Ab " * (n // 11) + "me",
}


@pytest.mark.parametrize("name", sorted(ADVERSARIAL))
def test_work_grows_linearly(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = [0]
    real = dictionary.word_class

    def counted(k: str, ls: dictionary.Lists) -> str:
        calls[0] += 1
        return real(k, ls)

    monkeypatch.setattr(dictionary, "word_class", counted)
    counts = []
    for n in (4_000, 16_000):
        calls[0] = 0
        text = ADVERSARIAL[name](n)
        dictionary.personal_spans(text)
        counts.append(calls[0] + len(text) // 64)
    small, large = counts
    assert large <= 4.4 * max(small, 1) + 10, (name, counts)


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
