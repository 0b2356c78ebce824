"""Context words (context.py): a value whose checksum fails is still redacted when a word naming
its type stands just before it, and left alone without one."""

from __future__ import annotations

import pytest

from services.clean.pii import redact
from services.clean.pii.context import WINDOW, named


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
    ],
)
def test_look_alikes_without_context_are_left_alone(text):
    assert redact(text) == (text, [])


def test_a_context_word_counts_only_within_the_window():
    assert named("my card: 4111", 9, "CREDIT_CARD")
    far = "card " + "x" * WINDOW + " 4111"
    assert not named(far, far.index("4111"), "CREDIT_CARD")
    assert not named("my card: 4111", 9, "EMAIL")  # a kind without context words
