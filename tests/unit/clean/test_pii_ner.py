"""The NER tier's rules that need no model (ner.py): which PERSON spans count, and a model
that fails to load. The model itself runs in tests/integration/test_pii_ner.py."""

from __future__ import annotations

import logging

import pytest

import services.clean.pii.ner as ner_mod
from services.clean.pii import NerUnavailable, Redactor
from services.clean.pii.lexicon import FIRST_PERSON_OR_PLEASE


def test_a_name_far_from_any_first_person_word_is_a_character_not_a_contact():
    text = "I have a question about this plot. " + "x " * 60 + "Later, Tina Shepard runs away."
    start = text.index("Tina")
    near = [m.start() for m in FIRST_PERSON_OR_PLEASE.finditer(text)]
    assert not ner_mod.personal(text, start, start + len("Tina Shepard"), near)
    text = "Could you ask Tina Shepard to call me back?"
    start = text.index("Tina")
    near = [m.start() for m in FIRST_PERSON_OR_PLEASE.finditer(text)]
    assert ner_mod.personal(text, start, start + len("Tina Shepard"), near)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Please call Łucja Wiśniewska back about the invoice.", "Łucja Wiśniewska"),
        ("I met Đặng Văn Lâm at the station.", "Đặng Văn Lâm"),
        ("I want to invite Ana de la Cruz to dinner.", "Ana de la Cruz"),
    ],
)
def test_a_name_in_any_latin_letters_has_a_name_shape(text, name):
    start = text.index(name)
    near = [m.start() for m in FIRST_PERSON_OR_PLEASE.finditer(text)]
    assert ner_mod.personal(text, start, start + len(name), near)


def test_ner_model_that_fails_to_load_is_an_error_with_one_log_line(monkeypatch, caplog):
    monkeypatch.setattr(ner_mod, "NER_SHA256", "0" * 64)
    with caplog.at_level(logging.ERROR), pytest.raises(NerUnavailable):
        Redactor(ner=True)
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "FLYWHEEL_PII_NER=false" in lines[0].getMessage()
