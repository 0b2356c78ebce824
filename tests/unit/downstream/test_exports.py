"""What ``flywheel export`` writes for one record: chat lines for fine-tuning, and the annotation
tools' tasks for a prompt that came in a conversation (and, unchanged, for a lone prompt)."""

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.contract.records import AnnotationRecord
from services.downstream.exports import (
    ARGILLA_MAX_CHAT_CONTENT,
    FORMATS,
    argilla_record,
    chat_line,
    label_studio_task,
    renderer,
)

ROOT = Path(__file__).resolve().parents[3]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


def record(**extra) -> AnnotationRecord:
    base = {
        "prompt_id": "0" * 31 + "7",
        "event_id": "ev-7",
        "text": "And in Celsius?",
        "lang": "en",
        "source": "real",
        "user": None,
        "scores": {"novelty": 0.8, "quality": 0.5, "difficulty": 0.4},
        "nearest": None,
        "accepted_at": datetime(2026, 1, 2, tzinfo=UTC),
    }
    return AnnotationRecord.model_validate({**base, **extra})


CONVERSATION = [
    {"role": "system", "content": "You are a weather assistant."},
    {"role": "user", "content": "What is the weather in Lyon?"},
    {"role": "assistant", "content": 'get_weather({"city": "Lyon"})'},
    {"role": "tool", "content": '{"temp_f": 64}'},
    {"role": "assistant", "content": "It is 64 °F in Lyon."},
    {"role": "user", "content": "And in Celsius?"},
]


def conversation(**extra) -> AnnotationRecord:
    fields = {
        "messages": CONVERSATION,
        "tools": [WEATHER],
        "follows": True,
        "context_id": "ab" * 8,
        "response": "About 18 °C.",
    }
    return record(**{**fields, **extra})


# --- chat lines ---------------------------------------------------------------------------------


def test_a_conversation_becomes_messages_ending_in_the_user_turn():
    line = chat_line(conversation())
    assert line == {"messages": CONVERSATION, "tools": [WEATHER], "prompt_id": "0" * 31 + "7"}
    assert line["messages"][-1] == {"role": "user", "content": "And in Celsius?"}


def test_with_response_the_products_answer_is_the_last_assistant_message():
    line = chat_line(conversation(), with_response=True)
    assert line is not None
    assert line["messages"][:-1] == CONVERSATION
    assert line["messages"][-1] == {"role": "assistant", "content": "About 18 °C."}
    assert line["tools"] == [WEATHER]


def test_with_response_a_record_without_an_answer_is_left_out():
    assert chat_line(conversation(response=None), with_response=True) is None
    assert chat_line(record(), with_response=True) is None


def test_a_lone_prompt_is_one_user_message_and_no_tools_key():
    assert chat_line(record(text="How do I sort a dict by value?")) == {
        "messages": [{"role": "user", "content": "How do I sort a dict by value?"}],
        "prompt_id": "0" * 31 + "7",
    }
    answered = chat_line(record(text="Sort a dict?", response="Use sorted()."), True)
    assert answered is not None
    assert [m["role"] for m in answered["messages"]] == ["user", "assistant"]


def test_chat_lines_are_json_and_every_message_has_a_role_and_string_content():
    line = chat_line(conversation(), with_response=True)
    assert json.loads(json.dumps(line, ensure_ascii=False)) == line
    assert line is not None
    for m in line["messages"]:
        assert set(m) == {"role", "content"}
        assert m["role"] in {"system", "user", "assistant", "tool"}
        assert isinstance(m["content"], str)


def test_with_response_is_for_the_chat_format_only():
    assert renderer("chat") is FORMATS["chat"]
    answered = renderer("chat", with_response=True)(conversation())
    assert answered is not None and answered["messages"][-1]["role"] == "assistant"
    with pytest.raises(ValueError, match="--format chat"):
        renderer("label-studio", with_response=True)


# --- Label Studio -------------------------------------------------------------------------------


def test_label_studio_task_shows_the_conversation_around_the_prompt():
    data = label_studio_task(conversation())["data"]
    assert data["prompt"] == "And in Celsius?"
    assert data["context"] == [
        {"role": "tools", "content": "get_weather"},
        *CONVERSATION[:-1],
    ]
    assert data["answer"] == [{"role": "assistant", "content": "About 18 °C."}]
    assert data["follows"] is True and data["context_id"] == "ab" * 8


def test_label_studio_task_of_a_lone_prompt_has_empty_dialogues():
    data = label_studio_task(record())["data"]
    assert (data["prompt"], data["context"], data["answer"]) == ("And in Celsius?", [], [])


def test_label_studio_dialogues_use_the_configs_keys():
    """The config's Paragraphs read ``nameKey``/``textKey`` from each utterance."""
    root = ET.parse(ROOT / "deploy" / "label-studio" / "config.xml").getroot()
    data = label_studio_task(conversation())["data"]
    for tag in root.iter("Paragraphs"):
        name = tag.get("value", "").removeprefix("$")
        assert tag.get("layout") == "dialogue"
        for utterance in data[name]:
            assert set(utterance) == {tag.get("nameKey"), tag.get("textKey")}


# --- Argilla ------------------------------------------------------------------------------------


def test_argilla_record_has_chat_fields_for_a_conversation():
    dataset = json.loads((ROOT / "deploy" / "argilla" / "dataset.json").read_text())
    types = {f["name"]: f["type"] for f in dataset["fields"]}
    rec = argilla_record(conversation())
    assert set(rec["fields"]) == {"prompt", "context", "answer"}
    assert types["context"] == types["answer"] == "chat"
    assert rec["fields"]["context"][0] == {"role": "tools", "content": "get_weather"}
    assert rec["fields"]["context"][1:] == CONVERSATION[:-1]
    assert rec["fields"]["answer"] == [{"role": "assistant", "content": "About 18 °C."}]
    assert rec["metadata"]["follows"] == "yes"
    assert set(rec["metadata"]) <= {m["name"] for m in dataset["metadata"]}


def test_argilla_chat_content_fits_argillas_limits():
    long = "x" * (ARGILLA_MAX_CHAT_CONTENT + 5)
    messages = [
        {"role": "system", "content": ""},
        {"role": "user", "content": "Summarise this."},
        {"role": "assistant", "content": long},
        {"role": "user", "content": "Shorter?"},
    ]
    rec = argilla_record(record(text="Shorter?", messages=messages, follows=True))
    context = rec["fields"]["context"]
    assert [m["role"] for m in context] == ["user", "assistant"]  # the empty one is left out
    assert len(context[1]["content"]) == ARGILLA_MAX_CHAT_CONTENT


def test_argilla_record_of_a_lone_prompt_is_as_before():
    rec = argilla_record(record())
    assert rec["fields"] == {"prompt": "And in Celsius?"}
    assert rec["metadata"]["follows"] == "no"
