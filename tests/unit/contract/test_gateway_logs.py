"""Gateway logs to chat events: the shapes gateways and the OpenAI batch API write
(tests/data/gateway/, hand-written), tool calls, media parts, and lines that cannot be converted
(counted with their line number and reason, never their text)."""

import json
from pathlib import Path

import pytest

from services.contract.conversation import Conversation
from services.contract.gateway_logs import Problem, Unconvertible, convert, to_event
from services.contract.records import ChatEvent

DATA = Path(__file__).resolve().parents[2] / "data" / "gateway"


def lines(name: str) -> list[bytes]:
    return (DATA / name).read_bytes().split(b"\n")


@pytest.fixture(scope="module")
def log():
    done = convert(lines("openai_log.jsonl"))
    events = {e["event_id"]: e for e in (json.loads(x) for x in done.events)}
    return done, events


def event(**log_line) -> dict:
    raw = json.dumps(log_line).encode()
    return to_event(json.loads(raw), raw)


def completion(content="Sure.", **extra) -> dict:
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 1767225600,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, **extra}}],
    }


def test_every_line_is_an_event_or_a_problem(log):
    done, events = log
    assert done.lines == 11  # the blank line is not one
    assert len(done.events) + len(done.problems) == done.lines
    assert len(events) == len(done.events) == 7  # ids are unique
    for raw in done.events:
        ChatEvent.model_validate_json(raw)  # each validates against the contract


def test_request_and_response_become_messages_with_the_answer_appended(log):
    _, events = log
    e = events["chatcmpl-A1"]  # no id on the line: the completion's
    assert e["messages"] == [
        {"role": "system", "content": "You are a concise cooking assistant."},
        {"role": "user", "content": "How long do I boil an egg for a runny yolk?"},
        {"role": "assistant", "content": "About 6 minutes from boiling."},
    ]
    assert e["ts"] == 1767225600 * 1000  # created (s) as the contract's epoch ms
    assert e["user_id"] == "u-1001"  # the request's user field
    assert e["meta"] == {"model": "gpt-4o-mini-2024-07-18"}
    conv = Conversation.of(ChatEvent.model_validate(e))
    assert conv.turn == "How long do I boil an egg for a runny yolk?"
    assert conv.system == ("You are a concise cooking assistant.",)
    assert conv.response == "About 6 minutes from boiling."


def test_helicone_litellm_portkey_and_openpipe_shapes(log):
    _, events = log
    helicone = events["8d1f2c3e-0000-4000-8000-000000000002"]  # request_id
    assert helicone["user_id"] == "u-1002" and helicone["messages"][-1]["content"] == "Buenos días."
    litellm = events["litellm-call-3"]  # the line is the request; startTime in seconds
    assert litellm["ts"] == 1767229200500 and litellm["user_id"] == "u-1003"
    assert litellm["meta"] == {"model": "claude-3-5-haiku-20241022"}
    portkey = events["chatcmpl-A4"]  # {"body": ...} envelopes; headers are not copied
    assert portkey["user_id"] == "u-1004"  # the request's metadata
    assert [m["content"] for m in portkey["messages"]] == [
        "What is the capital of Australia?",
        "Canberra.",
    ]
    assert "headers" not in json.dumps(portkey)
    openpipe = events["chatcmpl-A12"]  # input/output, the output JSON-encoded as a string
    assert openpipe["messages"][-1] == {"role": "assistant", "content": "2, 3 and 5."}


def test_tool_calls_and_tools_are_kept(log):
    _, events = log
    e = events["chatcmpl-A5"]
    assert e["tools"][0]["function"]["name"] == "get_weather"
    roles = [m["role"] for m in e["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user", "assistant"]
    assert e["messages"][2]["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city": "Lyon"}',
    }
    assert e["messages"][3]["tool_call_id"] == "call_1"
    answer = e["messages"][-1]  # the response: a tool call, no text
    assert answer["content"] is None and answer["tool_calls"][0]["id"] == "call_2"
    conv = Conversation.of(ChatEvent.model_validate(e))
    assert conv.turn == "Should I take an umbrella to Paris tomorrow then?"
    assert conv.response is None  # a tool call is not an answer's text


def test_media_parts_keep_their_type_and_lose_their_data(log):
    _, events = log
    e = events["chatcmpl-A6"]
    assert e["messages"][0]["content"] == [
        {"type": "text", "text": "What breed is this dog?"},
        {"type": "image_url"},
    ]
    assert "base64" not in json.dumps(e)
    assert Conversation.of(ChatEvent.model_validate(e)).turn == "What breed is this dog?"


def test_unconvertible_lines_are_reported_by_number_and_reason_without_their_text(log):
    done, _ = log
    assert [(p.file, p.line) for p in done.problems] == [
        ("log", 7),
        ("log", 8),
        ("log", 9),
        ("log", 11),
    ]
    reasons = {p.line: p.reason for p in done.problems}
    assert reasons[7] == "the request has no messages (not a chat.completions call)"  # embeddings
    assert reasons[8].startswith("not JSON")
    assert reasons[9] == "not a JSON object"
    assert reasons[11].startswith("messages.2.role")  # the legacy "function" role
    text = " ".join(str(p) for p in done.problems)
    for secret in ("hello world", "truncated", "order 42", "shipped"):
        assert secret not in text
    assert str(done.problems[0]) == f"log line 7: {reasons[7]}"


def test_openai_batch_output_joined_with_its_input_by_custom_id():
    done = convert(lines("openai_batch_output.jsonl"), lines("openai_batch_input.jsonl"))
    events = [json.loads(x) for x in done.events]
    assert [e["event_id"] for e in events] == ["req-1", "req-2"]
    assert events[0]["messages"][-1] == {
        "role": "assistant",
        "content": "Air scatters blue light more than red.",
    }
    assert events[0]["ts"] == 1767250800000
    # the failed request still carries the user's prompt; it has no answer
    assert [m["role"] for m in events[1]["messages"]] == ["user"]
    assert events[1]["meta"] == {"model": "gpt-4o-mini"}
    assert done.problems == [
        Problem("requests", 3, "needs a string custom_id and a body"),
        Problem("log", 3, "its custom_id is not in the batch input file"),
    ]


def test_a_batch_output_without_its_input_says_what_to_pass():
    done = convert(lines("openai_batch_output.jsonl"))
    assert not done.events
    assert {p.reason for p in done.problems} == {
        "a batch output line without its request: pass --requests"
    }


def test_a_batch_input_file_alone_replays_the_questions():
    done = convert(lines("openai_batch_input.jsonl"))
    assert [json.loads(x)["event_id"] for x in done.events] == ["req-1", "req-2"]
    assert [p.line for p in done.problems] == [3]


def test_event_id_falls_back_to_a_stable_hash_of_the_line():
    line = {"request": {"messages": [{"role": "user", "content": "Explain recursion."}]}}
    first, again = event(**line), event(**line)
    assert first["event_id"] == again["event_id"]
    assert first["event_id"].startswith("log-") and len(first["event_id"]) == 36
    assert "ts" not in first and "meta" not in first and "user_id" not in first
    other = event(request={"messages": [{"role": "user", "content": "Explain iteration."}]})
    assert other["event_id"] != first["event_id"]
    long = event(id="x" * 300, **line)  # longer than the contract takes: hashed
    assert long["event_id"].startswith("log-")


def test_arguments_logged_as_objects_and_legacy_functions():
    e = event(
        request={
            "model": "m",
            "functions": [{"name": "lookup", "parameters": {"type": "object"}}],
            "messages": [{"role": "user", "content": "Look up order 7."}],
        },
        response=completion(
            None,
            tool_calls=[
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": {"order": 7}},
                }
            ],
        ),
    )
    assert e["tools"] == [
        {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}
    ]
    assert e["messages"][-1]["tool_calls"][0]["function"]["arguments"] == '{"order": 7}'


def test_a_text_response_and_an_error_response():
    asked = {"messages": [{"role": "user", "content": "Name a prime."}]}
    assert event(request=asked, response="Seven.")["messages"][-1] == {
        "role": "assistant",
        "content": "Seven.",
    }
    failed = event(request=asked, response={"error": {"message": "rate limited"}})
    assert [m["role"] for m in failed["messages"]] == ["user"]


def test_shapes_the_contract_refuses_are_unconvertible_with_the_field_path():
    with pytest.raises(Unconvertible, match=r"tool_call_id: answers no earlier"):
        event(
            request={
                "messages": [
                    {"role": "user", "content": "Weather?"},
                    {"role": "tool", "tool_call_id": "nope", "content": "{}"},
                    {"role": "user", "content": "And now?"},
                ]
            }
        )
    with pytest.raises(Unconvertible, match=r"content"):
        event(request={"messages": [{"role": "user", "content": [{"type": "video", "x": 1}]}]})
    with pytest.raises(Unconvertible, match="request is a string that is not JSON"):
        event(request="not json", response=completion())
    with pytest.raises(Unconvertible, match="no request body"):
        event(response=completion())
