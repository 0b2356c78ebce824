import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.contract.records import ChatEvent, Reason
from services.contract.schemas import schemas

ROOT = Path(__file__).resolve().parents[3]


def test_event_accepts_rfc3339_and_epoch_millis():
    a = ChatEvent.model_validate({"event_id": "1", "prompt": "x", "ts": "2026-01-02T03:04:05Z"})
    b = ChatEvent.model_validate({"event_id": "1", "prompt": "x", "ts": 1767323045000})
    assert a.ts == b.ts == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert a.source == "real"


@pytest.mark.parametrize(
    "bad",
    [
        {"prompt": "no id"},
        {"event_id": "1"},
        {"event_id": "1", "prompt": 42},
        {"event_id": 1, "prompt": "x"},
        {"event_id": "", "prompt": "x"},
        {"event_id": "1", "prompt": "x", "source": "bot"},
        {"event_id": "1", "prompt": "x", "ts": True},
        {"event_id": "1", "prompt": "x", "meta": [1]},
        {"event_id": "1", "prompt": "x", "ts": 10**30},
        {"event_id": "1", "prompt": "x", "ts": -(10**20)},
    ],
)
def test_event_rejects_wrong_shapes(bad):
    with pytest.raises(ValidationError):
        ChatEvent.model_validate(bad)


def test_unknown_fields_are_ignored():
    assert ChatEvent.model_validate({"event_id": "1", "prompt": "x", "extra": 1}).prompt == "x"


def test_reason_codes_are_documented():
    doc = (ROOT / "docs" / "contract.md").read_text()
    for reason in Reason:
        assert f"`{reason.value}`" in doc


def test_committed_json_schemas_match_the_models():
    for name, schema in schemas().items():
        committed = json.loads((ROOT / "docs" / "schemas" / f"{name}.schema.json").read_text())
        assert committed == schema, f"run `flywheel schemas` to regenerate {name}"
