from collections import Counter

import pytest

from services.clean.pii import cn_id_ok, iban_ok, luhn_ok, placeholder, redact
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


def test_checksum_failures_are_not_reported_as_their_type():
    # (another detector may still take part of a look-alike: over-redaction is the safe side)
    for text, kind, value, valid in CORPUS:
        if not valid:
            assert kind not in redact(text)[1], (kind, value)


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


def test_checksums():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("GB82 WEST 1234 5698 7654 32") and not iban_ok("GB82 WEST 1234 5698 7654 33")
    assert cn_id_ok("11010519491231002X") and not cn_id_ok("110105194912310021")


def test_redaction_is_idempotent_and_kinds_are_sorted():
    text = "x@y.io 4111111111111111"
    once, kinds = redact(text)
    assert redact(once) == (once, []) and kinds == ["CREDIT_CARD", "EMAIL"]


def test_checksummed_types_are_covered():
    assert set(CHECKSUMMED) <= set(LABELS)
