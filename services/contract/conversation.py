"""Chat events in the OpenAI chat format (contract 1.5): the messages, and the turn they curate.

An event may carry ``messages`` (roles ``system``/``developer``, ``user``, ``assistant``,
``tool``; content a string or a list of parts) and ``tools`` (function definitions) instead of,
or beside, ``prompt``. ``Conversation.of`` reads one: the last ``user`` message is the turn being
curated, the system messages and the tools are its context, the turns before it its history and
the first assistant text after it (or ``response``) the answer it got. With both ``prompt`` and
``messages``, ``prompt`` is the turn and ``messages`` what came before it (unless their last user
message is the prompt itself). Everything here is linear in the event's size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr

if TYPE_CHECKING:
    from services.contract.records import ChatEvent

MAX_MESSAGES = 10_000  # a longer list is refused whole; history is truncated far below this
MAX_TOOLS = 256
SYSTEM_ROLES = ("system", "developer")  # "developer" is the newer name of the same thing
TEXT_PARTS = ("text", "input_text", "output_text")
OTHER_PARTS = ("image_url", "input_image", "input_audio", "file", "input_file", "refusal")


class ContentPart(BaseModel):
    """A part of a message's content: text, or media Flywheel does not read (left out)."""

    model_config = ConfigDict(extra="ignore")

    type: Literal[
        "text",
        "input_text",
        "output_text",
        "image_url",
        "input_image",
        "input_audio",
        "file",
        "input_file",
        "refusal",
    ]
    text: StrictStr | None = None


class FunctionCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: StrictStr
    arguments: StrictStr = Field("", description="JSON text, as the model wrote it")


class ToolCall(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: StrictStr
    type: StrictStr = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    """One message of ``messages``."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StrictStr | list[ContentPart] | None = None
    name: StrictStr | None = None
    tool_calls: list[ToolCall] | None = Field(None, max_length=MAX_TOOLS)
    tool_call_id: StrictStr | None = None

    def text(self) -> str:
        """The message's text: a string content, or its text parts joined by newlines."""
        if isinstance(self.content, str):
            return self.content
        if not self.content:
            return ""
        return "\n".join(p.text or "" for p in self.content if p.type in TEXT_PARTS and p.text)


class Tool(BaseModel):
    """A tool definition as the OpenAI chat API takes it: ``{"type": "function", "function":
    {"name", "description", "parameters"}}``."""

    model_config = ConfigDict(extra="allow")

    type: StrictStr = "function"
    function: dict[str, Any] | None = None


def shape_errors(messages: list[ChatMessage], has_prompt: bool) -> str | None:
    """What is wrong with a message list that each message alone does not show, as
    ``field path: problem``; None when nothing is."""
    calls: set[str] = set()
    users = 0
    for i, m in enumerate(messages):
        if m.role == "tool":
            if m.tool_call_id is None:
                return f"messages.{i}.tool_call_id: a tool message must name the call it answers"
            if m.tool_call_id not in calls:
                return f"messages.{i}.tool_call_id: answers no earlier assistant tool call"
        elif m.role == "assistant":
            calls.update(c.id for c in m.tool_calls or ())
        elif m.role == "user":
            users += 1
            if isinstance(m.content, list) and not m.text() and i == len(messages) - 1:
                return f"messages.{i}.content: the user turn has no text part"
        if m.role != "assistant" and m.tool_calls:
            return f"messages.{i}.tool_calls: only assistant messages make tool calls"
    if not users and not has_prompt:
        return "messages: no user message (and no prompt)"
    return None


@dataclass(frozen=True)
class Turn:
    role: str  # user, assistant or tool (system messages are the context)
    text: str


@dataclass(frozen=True)
class Conversation:
    """The parts of a chat event that curation reads, raw (not yet normalized or redacted)."""

    turn: str  # the user turn being curated
    system: tuple[str, ...] = ()  # system and developer messages, in order
    tools: str | None = None  # the tool definitions as canonical JSON
    history: tuple[Turn, ...] = ()  # the turns before ``turn`` (no system messages)
    response: str | None = None  # the answer the turn got

    @classmethod
    def of(cls, event: ChatEvent) -> Conversation:
        msgs = event.messages or []
        last_user = max((i for i, m in enumerate(msgs) if m.role == "user"), default=-1)
        if event.prompt is not None and (last_user < 0 or msgs[last_user].text() != event.prompt):
            turn, before, after = event.prompt, msgs, []
        else:
            turn, before, after = msgs[last_user].text(), msgs[:last_user], msgs[last_user + 1 :]
        system = tuple(m.text() for m in before if m.role in SYSTEM_ROLES and m.text())
        history = []
        for m in before:
            if m.role in SYSTEM_ROLES:
                continue
            text = m.text()
            if m.role == "assistant" and m.tool_calls:
                calls = "\n".join(
                    f"{c.function.name}({c.function.arguments})" for c in m.tool_calls
                )
                text = f"{text}\n{calls}".strip()
            if text:
                history.append(Turn(m.role, text))
        response = event.response
        if response is None:
            response = next((m.text() for m in after if m.role == "assistant" and m.text()), None)
        tools = None
        if event.tools:
            specs = [t.model_dump(exclude_none=True) for t in event.tools]
            tools = json.dumps(specs, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        return cls(turn, system, tools, tuple(history), response)


def followed(turns: Sequence[tuple[str, str]]) -> str | None:
    """What a follow-up is judged after, of the ``(role, text)`` turns before it: the user's last
    request, or the last answer when the conversation opened with the assistant; None when there
    is neither (the follow-up came without what it depends on)."""
    for wanted in ("user", "assistant"):
        found = [text for role, text in turns if role == wanted and text]
        if found:
            return found[-1]
    return None


def request_key(follows: str | None, text: str) -> str:
    """What near duplicates are judged on: the request, after the one it follows, if any."""
    return f"{follows}\n{text}" if follows else text
