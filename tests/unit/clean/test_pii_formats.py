"""Formats beyond the first detector's (issue: personal data beyond the formats we know), context
words, typed placeholders, the batch API, the NER tier and its failure, and never raising."""

from __future__ import annotations

import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import services.clean.pii.ner as ner_mod
from services.clean.pii import NerUnavailable, Redactor, redact, redact_batch


@pytest.mark.parametrize(
    ("text", "value", "kind"),
    [
        ("schreib mir an jörg.müller@bücher.de bitte", "jörg.müller@bücher.de", "EMAIL"),
        ("my email is josé.garcía@correo.es", "josé.garcía@correo.es", "EMAIL"),
        ("邮箱 用户@例子.广告 可以吗", "用户@例子.广告", "EMAIL"),
        ("ruf mich an: 030 12345678", "030 12345678", "PHONE"),
        ("meine Handynummer ist 0171 2345678", "0171 2345678", "PHONE"),
        ("call +81 3-1234-5678 tomorrow", "+81 3-1234-5678", "PHONE"),
        ("my passport number is 963545637", "963545637", "PASSPORT"),
        ("Reisepass: C01X00T47, gültig bis 2030", "C01X00T47", "PASSPORT"),
        ("my SSN is 078 05 1120", "078 05 1120", "SSN"),
        ("SSN: 123456789 please keep it safe", "123456789", "SSN"),
        ("card 4111.1111.1111.1111 was declined", "4111.1111.1111.1111", "CREDIT_CARD"),
        ("Hi, my name is Maria Gonzalez and I need help", "Maria Gonzalez", "PERSON"),
        ("ship it to 742 Evergreen Terrace, Springfield", "742 Evergreen Terrace", "ADDRESS"),
        ("I was born on 17.05.1990, what is my zodiac sign?", "17.05.1990", "DATE_OF_BIRTH"),
        ("meine Steuer-ID ist 86095742719", "86095742719", "TAX_ID"),
        ("我的身份证号是110105194912310021,帮我查一下", "110105194912310021", "CN_ID"),
        ("你好，我叫欧阳娜娜，想问一下退款", "欧阳娜娜", "PERSON"),
        (
            "我的地址是上海市浦东新区世纪大道100号，快递到了吗",
            "上海市浦东新区世纪大道100号",
            "ADDRESS",
        ),
        ("请寄到广东省深圳市南山区科技园路1号3栋502室", "南山区科技园路1号", "ADDRESS"),
    ],
)
def test_formats_beyond_the_first_detector(text, value, kind):
    out, kinds = redact(text)
    assert value not in out and "{{" + kind + "}}" in out and kind in kinds, out


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("my card number is 4111 1111 1111 1112", "CREDIT_CARD"),
        ("IBAN: GB82 WEST 1234 5698 7654 33", "IBAN"),
        ("我的身份证号是110105194912310021", "CN_ID"),
        ("SSN 666-12-3456", "SSN"),
    ],
)
def test_checksum_failure_named_by_its_context_is_still_redacted(text, kind):
    assert kind in redact(text)[1]


@pytest.mark.parametrize(
    "text",
    [
        "order 4111 1111 1111 1112 shipped",
        "ref GB82 WEST 1234 5698 7654 33 in the log",
        "batch 110105194912310021 finished",
        "What is 12 * 4500000?",
        "Convert 12/05/2023 to ISO format",
        "The population grew from 5 650 000 to 6 100 000.",
        "Sort: 4000-4999, 5000-5999",
        "std::vector<int> v;",
        "This is Python code, I am Learning it",
        "我是学生，想学编程",
        "布朗先生住在美国，那里有一家大工厂。",
        "During 5 hours a spider catches 9 flies.",
        "Who was Albert Einstein?",
    ],
)
def test_look_alikes_without_context_are_left_alone(text):
    assert redact(text) == (text, [])


def test_placeholders_are_typed_and_redaction_is_idempotent():
    text = "I'm Maria Gonzalez, passport X1234567, born on May 17, 1990, mail maria@example.com"
    once, kinds = redact(text)
    assert kinds == ["DATE_OF_BIRTH", "EMAIL", "PASSPORT", "PERSON"]
    assert "{{PERSON}}" in once and "{{PASSPORT}}" in once and "{{DATE_OF_BIRTH}}" in once
    assert redact(once) == (once, [])


def test_redact_batch_without_ner_equals_redact():
    texts = ["mail a@b.io", "nothing here", "我叫王芳，电话13812345678"]
    assert redact_batch(texts) == [redact(t) for t in texts]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_redact_never_raises(text):
    out, kinds = redact(text)
    assert isinstance(out, str) and kinds == sorted(set(kinds))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["@", "a", "-", ".", "1", " ", "+", ":", "号", "路", "我叫", "地址是", "passport ",
             "born ", "SSN ", "Name: ", "A", "{{", "}}", "\n", "0", "(", ")", "/"]
        ),
        max_size=120,
    ).map("".join)
)  # fmt: skip
def test_redact_never_raises_on_detector_fragments(text):
    redact(text)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("I have an appointment with Dr. Patel tomorrow, can you remind me?", "Patel"),
        ("My landlord Mrs. Okafor wants the rent two days early.", "Okafor"),
        ("Please tell Prof. Lindgren that I will be late.", "Lindgren"),
    ],
)
def test_a_titled_name_near_a_first_person_word_is_a_person(text, name):
    out, kinds = redact(text)
    assert name not in out and kinds == ["PERSON"]


@pytest.mark.parametrize(
    "text",
    [
        "Mr. Sanchez has 30 students in his class. How many pencils does he need?",
        "I need directions. " + "The road is long and winding. " * 4 + "Dr. Seuss wrote it.",
    ],
)
def test_a_titled_name_without_a_first_person_word_nearby_is_left_alone(text):
    assert redact(text) == (text, [])


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


def test_a_name_far_from_any_first_person_word_is_a_character_not_a_contact():
    text = "I have a question about this plot. " + "x " * 60 + "Later, Tina Shepard runs away."
    start = text.index("Tina")
    near = [m.start() for m in ner_mod.FIRST_PERSON.finditer(text)]
    assert not ner_mod.personal(text, start, start + len("Tina Shepard"), near)
    text = "Could you ask Tina Shepard to call me back?"
    start = text.index("Tina")
    near = [m.start() for m in ner_mod.FIRST_PERSON.finditer(text)]
    assert ner_mod.personal(text, start, start + len("Tina Shepard"), near)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Ann ", "O'Brien ", "me ", "by ", "- ", '"', "Müller ", "{{", "\n", "I "]),
        max_size=60,
    ).map("".join)
)
def test_ner_tier_never_raises(ner_redactor, text):
    ner_redactor.redact(text)


def test_ner_model_that_fails_to_load_is_an_error_with_one_log_line(monkeypatch, caplog):
    monkeypatch.setattr(ner_mod, "NER_SHA256", "0" * 64)
    with caplog.at_level(logging.ERROR), pytest.raises(NerUnavailable):
        Redactor(ner=True)
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "FLYWHEEL_PII_NER=false" in lines[0].getMessage()
