"""The NER tier with its model (spaCy ``en_core_web_sm``, pinned by digest): names without a cue
are taken, public figures are left alone. A missing or altered model fails these tests with
``NerUnavailable``; they never skip."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.clean.pii import Redactor

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def ner_redactor():
    return Redactor(ner=True)


def test_ner_tier_finds_names_without_a_cue(ner_redactor):
    texts = [
        "Remind me to call Priya Schmidt tomorrow about the contract.",
        "How do I reverse a list in Python?",
    ]
    (out, kinds), second = ner_redactor.redact_batch(texts)
    assert "Priya Schmidt" not in out and kinds == ["PERSON"]
    assert second == (texts[1], [])


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Chloe O'Brien asked me to send the slides before the meeting.", "Chloe O'Brien"),
        ("Remind me to call Mei Müller tomorrow about the contract.", "Mei Müller"),
        ("Please reserve a room for Tomás Ivanov on Friday.", "Tomás Ivanov"),
    ],
)
def test_ner_tier_takes_names_with_apostrophes_and_accents(ner_redactor, text, name):
    out, kinds = ner_redactor.redact(text)
    assert name not in out and "PERSON" in kinds


@pytest.mark.parametrize(
    "text",
    [
        "I want to listen to some music. Can you play 'Shape of You' by Ed Sheeran?",
        "I can't remember the title. The author's name is George Orwell.",
        'I love this quote: "Whatever you are, be a good one." - Abraham Lincoln',
        "Summarize the lyrics to the song 'My Way' by Frank Sinatra.",  # no first person
    ],
)
def test_ner_tier_leaves_public_figures_alone(ner_redactor, text):
    assert ner_redactor.redact(text) == (text, [])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Ann ", "O'Brien ", "me ", "by ", "- ", '"', "Müller ", "{{", "\n", "I "]),
        max_size=60,
    ).map("".join)
)
def test_ner_tier_never_raises(ner_redactor, text):
    ner_redactor.redact(text)
