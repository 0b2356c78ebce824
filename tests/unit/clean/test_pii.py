"""The pattern tier as a whole (``redact``): recall and false positives on the labelled corpus,
typed placeholders, idempotence, never raising. Each detector family has its own file:
test_pii_patterns.py (structured values and validators), test_pii_context.py, test_pii_phones.py,
test_pii_names.py, test_pii_addresses.py, test_pii_dictionary.py, test_pii_ner.py; linear time
of all of them is test_pii_linear.py's."""

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.clean.pii import Redactor, placeholder, redact
from tests.pii_corpus import CHECKSUMMED, LABELS, clean_prompts, labelled

CORPUS = list(labelled(200, seed=1))


def test_recall_is_at_least_99_percent_per_type():
    hits, totals = Counter(), Counter()
    for text, kind, value, valid in CORPUS:
        if not valid:
            continue
        out, kinds = redact(text)
        totals[kind] += 1
        if value not in out and placeholder(kind) in out and kind in kinds:
            hits[kind] += 1
    assert set(totals) == set(LABELS)
    for kind in totals:
        assert hits[kind] / totals[kind] >= 0.99, (kind, hits[kind], totals[kind])


def test_false_positive_rate_on_clean_prompts_is_low():
    prompts = clean_prompts()
    flagged = [p for p in prompts if redact(p)[1]]
    assert len(flagged) / len(prompts) < 0.01, flagged


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("mail me at a.b@example.com or call +1 415 555 0134", ["EMAIL", "PHONE"]),
        ("我的手机号是13812345678", ["PHONE"]),
        ("card 4111 1111 1111 1111 and 4111 1111 1111 1112", ["CREDIT_CARD"]),
        ("ssh root@10.0.0.12 fails", ["IP"]),
        ("set OPENAI key sk-abcdefghijklmnopqrstuvwxyz012345", ["API_KEY"]),
        ("clone with https://user:hunter2@github.com/org/repo.git", ["URL_CREDENTIALS"]),
    ],
)
def test_examples(text, kinds):
    out, found = redact(text)
    assert found == sorted(kinds)
    for secret in ("a.b@example.com", "13812345678", "4111 1111 1111 1111", "10.0.0.12", "hunter2"):
        assert secret not in out


def test_redaction_is_idempotent_and_kinds_are_sorted():
    text = "x@y.io 4111111111111111"
    once, kinds = redact(text)
    assert redact(once) == (once, []) and kinds == ["CREDIT_CARD", "EMAIL"]


def test_checksummed_types_are_covered():
    assert set(CHECKSUMMED) <= set(LABELS)


def test_placeholders_are_typed_and_redaction_is_idempotent():
    text = "I'm Maria Gonzalez, passport X1234567, born on May 17, 1990, mail maria@example.com"
    once, kinds = redact(text)
    assert kinds == ["DATE_OF_BIRTH", "EMAIL", "PASSPORT", "PERSON"]
    assert "{{PERSON}}" in once and "{{PASSPORT}}" in once and "{{DATE_OF_BIRTH}}" in once
    assert redact(once) == (once, [])


def test_a_batch_without_ner_is_redacted_as_each_text_alone():
    texts = ["mail a@b.io", "nothing here", "我叫王芳，电话13812345678"]
    assert Redactor(ner=False).redact_batch(texts) == [redact(t) for t in texts]


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


@pytest.mark.parametrize("n", [0, 1, 7, 300])
def test_never_raises_on_odd_strings(n: int) -> None:
    for text in ("\x00" * n, "{{" * n, "Customer:" * n, "地址" * n, "\ud800" * n, "Ł" * n):
        redact(text)
