"""An LLM gateway's request/response log, one JSON object per line, as chat events (contract 1.5):
what ``flywheel replay --format openai`` produces to ``chat.events``.

A line holds one ``chat.completions`` call: the request body and the response body, under the
keys gateways and batch files use (docs/runbook.md#feeding-an-llm-gateways-logs):

- ``{"request": {...}, "response": {...}}`` and the aliases ``request_body``/``response_body``
  (Helicone's export), ``input``/``output`` (OpenPipe), ``reqPayload``/``respPayload``;
  a request or response wrapped as ``{"body": {...}}`` (Portkey, OpenAI batch files) or
  JSON-encoded as a string is unwrapped;
- a line that is itself the request, ``{"messages": [...], ..., "response": {...}}`` (LiteLLM's
  standard logging payload);
- the OpenAI batch output ``{"custom_id", "response": {"status_code", "body"}, "error"}``, its
  request found by ``custom_id`` among the batch input's ``{"custom_id", "body"}`` lines
  (``batch_requests``).

Each becomes ``{"event_id", "messages", "tools", "ts", "user_id", "session_id", "meta"}``: the
request's messages with the response's first choice appended as the answer. Media parts keep
their type only (the contract leaves them out; their data never travels). A line that cannot
be converted is a ``Problem`` naming its line and why, never its content. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from services.contract.conversation import TEXT_PARTS
from services.contract.records import ChatEvent

REQUEST_KEYS = ("request", "request_body", "requestBody", "input", "reqPayload")
RESPONSE_KEYS = ("response", "response_body", "responseBody", "output", "respPayload")
ID_KEYS = ("custom_id", "id", "request_id", "requestId")
USER_KEYS = ("user_id", "request_user_id", "end_user")
TIME_KEYS = ("created", "created_at", "request_created_at", "startTime", "timestamp")
MAX_EVENT_ID = 256  # the contract's limit; a longer log id is hashed


class Unconvertible(ValueError):
    """Why a log line is not a chat event; the message never quotes the line."""


@dataclass(frozen=True)
class Problem:
    file: str  # "log" or "requests"
    line: int  # 1-based line number in that file
    reason: str

    def __str__(self) -> str:
        return f"{self.file} line {self.line}: {self.reason}"


@dataclass
class Converted:
    events: list[bytes] = field(default_factory=list)  # one JSON chat event each
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0  # non-blank lines read


def _object(value: Any, what: str) -> dict[str, Any] | None:
    """``value`` as a JSON object (parsed when a gateway stored it as a string); None if absent."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError:
            raise Unconvertible(f"{what} is a string that is not JSON") from None
    if not isinstance(value, dict):
        raise Unconvertible(f"{what} is not a JSON object")
    return value


def _unwrap(value: dict[str, Any] | None, inner: str, what: str) -> dict[str, Any] | None:
    """``{"body": {...}}`` (an HTTP envelope: Portkey, OpenAI batch files) -> the body, unless
    ``value`` already holds ``inner`` (``messages`` of a request, ``choices`` of a response)."""
    if value is not None and inner not in value and "body" in value:
        return _object(value["body"], f"{what}.body")
    return value


def _first(obj: Mapping[str, Any], keys: Iterable[str]) -> Any:
    return next((obj[k] for k in keys if obj.get(k) not in (None, "")), None)


def _part(part: Any) -> Any:
    """A content part the contract reads: text parts as they are, media parts by type only."""
    if not isinstance(part, dict):
        return part  # the contract's validation names it
    if part.get("type") in TEXT_PARTS:
        return {"type": part["type"], "text": part.get("text")}
    return {"type": part.get("type")}


def _call(call: Any) -> Any:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        return call
    fn = call["function"]
    args = fn.get("arguments", "")
    if not isinstance(args, str):  # some logs keep the arguments parsed
        args = json.dumps(args, ensure_ascii=False)
    return {
        "id": call.get("id"),
        "type": call.get("type", "function"),
        "function": {"name": fn.get("name"), "arguments": args},
    }


def _message(m: Any, where: str) -> dict[str, Any]:
    """The fields of a chat message the contract defines (role, content, name, tool calls)."""
    if not isinstance(m, dict):
        raise Unconvertible(f"{where} is not a JSON object")
    content = m.get("content")
    out: dict[str, Any] = {
        "role": m.get("role"),
        "content": [_part(p) for p in content] if isinstance(content, list) else content,
    }
    for key in ("name", "tool_call_id"):
        if m.get(key) is not None:
            out[key] = m[key]
    if m.get("tool_calls"):
        calls = m["tool_calls"]
        out["tool_calls"] = [_call(c) for c in calls] if isinstance(calls, list) else calls
    return out


def _answer(response: Any) -> dict[str, Any] | None:
    """The response's first choice as an assistant message; None without one (a failed call)."""
    if isinstance(response, str):  # a gateway that logged the answer's text only
        return {"role": "assistant", "content": response}
    choices = response.get("choices") if isinstance(response, dict) else None
    if not choices or not isinstance(choices, list):
        return None
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    if message is None:
        return None
    return {**_message(message, "response.choices.0.message"), "role": "assistant"}


def _ts(log: Mapping[str, Any], response: Any) -> Any:
    """Epoch seconds (``created``, ``startTime``) as the contract's epoch milliseconds; an RFC
    3339 string as it is."""
    value = response.get("created") if isinstance(response, dict) else None
    if value is None:
        value = _first(log, TIME_KEYS)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return round(value * 1000) if value < 1e11 else value  # seconds, else already ms
    return value


def _user(log: Mapping[str, Any], request: Mapping[str, Any]) -> Any:
    for holder in (request, request.get("metadata"), log, log.get("metadata")):
        if isinstance(holder, dict):
            found = _first(holder, ("user", "safety_identifier", *USER_KEYS))
            if isinstance(found, str):
                return found
    return None


def _event_id(log: Mapping[str, Any], response: Any, raw: bytes) -> str:
    found = _first(log, ID_KEYS)
    if found is None and isinstance(response, dict):
        found = response.get("id")
    if isinstance(found, str | int) and not isinstance(found, bool):
        text = str(found)
        if len(text) <= MAX_EVENT_ID:
            return text
        raw = text.encode()
    return "log-" + hashlib.sha256(raw.strip()).hexdigest()[:32]


def to_event(
    log: dict[str, Any], raw: bytes, requests: Mapping[str, dict[str, Any]] | None = None
) -> dict[str, Any]:
    """One log line (parsed, and its bytes for a stable id) as a chat event that validates
    against the contract; ``Unconvertible`` says why not."""
    request = _object(_first(log, REQUEST_KEYS), "request")
    if request is None and "messages" in log:
        request = log  # the line is the request (LiteLLM's standard logging payload)
    if request is None and requests and isinstance(log.get("custom_id"), str):
        request = requests.get(log["custom_id"])
    if request is None and "body" in log and "response" not in log:
        request = log  # an OpenAI batch input line on its own: ask the product's question again
    request = _unwrap(request, "messages", "request")
    if request is None:
        if "custom_id" in log and requests is None:
            raise Unconvertible("a batch output line without its request: pass --requests")
        if "custom_id" in log:
            raise Unconvertible("its custom_id is not in the batch input file")
        raise Unconvertible("no request body (keys: request, request_body, input, messages)")
    raw_response = _first(log, RESPONSE_KEYS)
    response: Any
    if isinstance(raw_response, str) and not raw_response.lstrip().startswith("{"):
        response = raw_response  # the answer's text only
    else:
        response = _unwrap(_object(raw_response, "response"), "choices", "response")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise Unconvertible("the request has no messages (not a chat.completions call)")
    event: dict[str, Any] = {
        "event_id": _event_id(log, response, raw),
        "messages": [_message(m, f"messages.{i}") for i, m in enumerate(messages)],
    }
    answer = _answer(response)
    if answer is not None:
        event["messages"].append(answer)
    tools = request.get("tools")
    if tools is None and isinstance(request.get("model_parameters"), dict):  # LiteLLM
        tools = request["model_parameters"].get("tools")
    if tools is None and isinstance(request.get("functions"), list):  # the legacy name
        tools = [{"type": "function", "function": f} for f in request["functions"]]
    optional = {
        "tools": tools,
        "ts": _ts(log, response),
        "user_id": _user(log, request),
        "session_id": _first(log, ("session_id",)),
    }
    event.update({k: v for k, v in optional.items() if v is not None})
    model = (response.get("model") if isinstance(response, dict) else None) or request.get("model")
    if model is None:
        model = log.get("model")
    if isinstance(model, str):
        event["meta"] = {"model": model}
    try:
        ChatEvent.model_validate(event)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise Unconvertible("; ".join(problems[:3])) from None
    return event


def _objects(
    lines: Iterable[bytes], file: str, done: Converted
) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """Each non-blank line as a JSON object; the others become problems in ``done``."""
    for n, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        if file == "log":
            done.lines += 1
        try:
            obj = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            done.problems.append(Problem(file, n, "not UTF-8"))
            continue
        except ValueError as exc:
            done.problems.append(Problem(file, n, f"not JSON ({exc.args[0].split(':')[0]})"))
            continue
        if not isinstance(obj, dict):
            done.problems.append(Problem(file, n, "not a JSON object"))
            continue
        yield n, raw, obj


def batch_requests(lines: Iterable[bytes], done: Converted) -> dict[str, dict[str, Any]]:
    """An OpenAI batch input file, ``{"custom_id", "method", "url", "body"}`` per line, as
    custom_id -> request body; lines without both are problems in ``done``."""
    found: dict[str, dict[str, Any]] = {}
    for n, _, obj in _objects(lines, "requests", done):
        body = obj.get("body")
        if not isinstance(obj.get("custom_id"), str) or not isinstance(body, dict):
            done.problems.append(Problem("requests", n, "needs a string custom_id and a body"))
            continue
        found[obj["custom_id"]] = body
    return found


def convert(lines: Iterable[bytes], requests_file: Iterable[bytes] | None = None) -> Converted:
    """Every line of a gateway log as a chat event, in order, or as a problem."""
    done = Converted()
    requests = batch_requests(requests_file, done) if requests_file is not None else None
    for n, raw, obj in _objects(lines, "log", done):
        try:
            event = to_event(obj, raw, requests)
        except Unconvertible as exc:
            done.problems.append(Problem("log", n, str(exc)))
            continue
        done.events.append(json.dumps(event, ensure_ascii=False).encode())
    return done
