"""The ingest stage's per-message screening: pure logic, no broker or Redis needed."""

import json

import pytest

from services.contract.envelope import InMsg, Out
from services.contract.records import RejectionRecord
from services.pipeline.ingest import IngestStage
from services.settings import Settings

S = Settings(topic_dlq="dlq", topic_rejected="rej", min_chars=4, max_chars=100)


def screen(value: bytes):
    stage = IngestStage(S, seen=None, embedder=None)  # type: ignore[arg-type]
    return stage.screen(InMsg("chat.events", 0, 5, b"k", value, 1000))


def event(prompt, **extra) -> bytes:
    return json.dumps({"event_id": "e1", "prompt": prompt, **extra}).encode()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"{not json", "invalid_json"),
        (b"[1, 2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b"\xff\xfe\xfa", "invalid_utf8"),
        (b'{"event_id": "e1"}', "invalid_event"),
        (b'{"event_id": "e1", "prompt": 5}', "invalid_event"),
        (b'{"event_id": "e1", "prompt": {"nested": [1, {"deep": 2}]}}', "invalid_event"),
        (b"", "invalid_json"),
        (
            b'{"event_id": "e1", "prompt": "x", "meta": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
            "invalid_json",
        ),
        (b'{"event_id": "e1", "prompt": "x", "ts": 1' + b"0" * 40 + b"}", "invalid_event"),
    ],
)
def test_malformed_messages_go_to_the_dlq_with_their_coordinates(raw, code):
    out = screen(raw)
    assert isinstance(out, Out) and out.topic == "dlq"
    headers = dict(out.headers)
    assert headers["fw-error"] == code.encode()
    assert headers["fw-topic"] == b"chat.events" and headers["fw-offset"] == b"5"
    assert out.value == raw  # the original bytes, untouched


@pytest.mark.parametrize(
    ("prompt", "reason"),
    [
        ("", "empty"),
        (" \u200b\t\n ", "empty"),
        ("hi", "low_information"),
        ("Test!", "low_information"),
        ("Rust", "too_short"),
        (" ".join(f"w{i}" for i in range(40)), "too_long"),
        ("y" * 1_000_000, "too_long"),
    ],
)
def test_rejections_carry_a_reason_and_no_text(prompt, reason):
    out = screen(event(prompt, user_id="alice@example.com"))
    assert isinstance(out, Out) and out.topic == "rej" and out.key == b"e1"
    rec = RejectionRecord.model_validate_json(out.value)
    assert rec.reason == reason
    assert b"alice" not in out.value and (
        not prompt.strip() or prompt[:2].encode() not in out.value
    )


def test_oversized_message_is_dead_lettered_unparsed():
    out = screen(b"x" * (S.max_message_bytes + 1))
    assert isinstance(out, Out) and dict(out.headers)["fw-error"] == b"too_large"


def test_valid_event_becomes_a_candidate_with_normalized_text():
    cand = screen(event("  What  is\u200b the capital of France? "))
    assert not isinstance(cand, Out)
    assert cand.text == "What is the capital of France?" and cand.lang == "en"
