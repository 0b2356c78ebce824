"""Contract 1.5: chat events as OpenAI-format conversations."""

import pytest
from pydantic import ValidationError

from services.contract.conversation import Conversation, followed, request_key
from services.contract.envelope import validation_detail
from services.contract.records import ChatEvent

SYSTEM = {"role": "system", "content": "You are the Lumio support assistant."}
TOOLS = [{"type": "function", "function": {"name": "search", "parameters": {"type": "object"}}}]


def event(**fields) -> ChatEvent:
    return ChatEvent.model_validate({"event_id": "e1", **fields})


def detail(**fields) -> str:
    with pytest.raises(ValidationError) as info:
        event(**fields)
    return validation_detail(info.value)


def test_the_last_user_message_is_the_turn_and_what_came_before_its_context():
    conv = Conversation.of(
        event(
            messages=[
                SYSTEM,
                {"role": "user", "content": "Write a haiku about rain."},
                {"role": "assistant", "content": "Grey drops on tin roofs..."},
                {"role": "user", "content": [{"type": "text", "text": "Make it shorter."}]},
                {"role": "assistant", "content": "Rain on tin."},
            ],
            tools=TOOLS,
        )
    )
    assert conv.turn == "Make it shorter."
    assert conv.system == ("You are the Lumio support assistant.",)
    assert [t.role for t in conv.history] == ["user", "assistant"]
    assert conv.response == "Rain on tin."
    assert followed([(t.role, t.text) for t in conv.history]) == "Write a haiku about rain."
    assert '"name":"search"' in (conv.tools or "")


def test_a_prompt_beside_messages_is_the_turn_after_them():
    conv = Conversation.of(
        event(prompt="And in French?", messages=[{"role": "user", "content": "Say hello."}])
    )
    assert conv.turn == "And in French?"
    assert [t.text for t in conv.history] == ["Say hello."]
    same = Conversation.of(
        event(prompt="Say hello.", messages=[{"role": "user", "content": "Say hello."}])
    )
    assert same.turn == "Say hello." and not same.history


def test_prompt_only_events_read_as_before():
    conv = Conversation.of(event(prompt="What is a monad?", response="A monoid in..."))
    assert conv.turn == "What is a monad?" and conv.response == "A monoid in..."
    assert not conv.system and not conv.history and conv.tools is None


def test_tool_calls_and_results_are_part_of_the_history():
    conv = Conversation.of(
        event(
            messages=[
                {"role": "user", "content": "Weather in Oslo?"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "function": {"name": "weather", "arguments": '{"city":"Oslo"}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "4 degrees, rain"},
                {"role": "user", "content": "And tomorrow?"},
            ]
        )
    )
    assert [t.role for t in conv.history] == ["user", "assistant", "tool"]
    assert 'weather({"city":"Oslo"})' in conv.history[1].text


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({}, "prompt or messages is required"),
        ({"messages": [SYSTEM]}, "messages: no user message"),
        ({"messages": []}, "messages: no user message"),
        (
            {"messages": [{"role": "user", "content": "x"}, {"role": "tool", "content": "42"}]},
            "messages.1.tool_call_id: a tool message must name the call it answers",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "x"},
                    {"role": "tool", "tool_call_id": "nope", "content": "42"},
                ]
            },
            "messages.1.tool_call_id: answers no earlier assistant tool call",
        ),
        (
            {"messages": [{"role": "user", "content": [{"type": "hologram", "text": "x"}]}]},
            "messages.0.content",
        ),
        ({"messages": [{"role": "narrator", "content": "x"}]}, "messages.0.role"),
        ({"messages": "hello"}, "messages"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url"}]}]},
            "messages.0.content: the user turn has no text part",
        ),
    ],
)
def test_bad_shapes_say_where(fields, says):
    assert says in detail(**fields)


def test_a_list_of_thousands_of_turns_is_refused_whole_beyond_the_cap():
    turns = [{"role": "user", "content": "hi"}] * 10_001
    assert "messages" in detail(messages=turns)
    many = [{"role": "user", "content": f"q{i}"} for i in range(5000)]
    assert Conversation.of(event(messages=many)).turn == "q4999"


def test_followed_and_the_request_key():
    assert followed([("user", "a"), ("assistant", "b"), ("user", "c")]) == "c"
    assert followed([("assistant", "Hi, how can I help?")]) == "Hi, how can I help?"
    assert followed([("tool", "42")]) is None
    assert request_key("Write a haiku.", "Shorter.") == "Write a haiku.\nShorter."
    assert request_key(None, "Shorter.") == "Shorter."
