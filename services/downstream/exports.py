"""What an accepted record becomes in a file: ``flywheel export --format ...``.

Pure functions of one ``AnnotationRecord``; each returns the JSON object written for it, or
None when the record is left out (``chat`` with the product's answer asked for, and none kept).

- ``jsonl``: the record as it is on ``prompts.annotation``.
- ``chat``: one conversation in the ``{"messages": [...], "tools": [...]}`` shape chat templates
  and TRL's ``SFTTrainer`` take (docs/downstream.md#chat-lines-for-fine-tuning).
- ``label-studio``: a task for ``deploy/label-studio/config.xml``.
- ``argilla``: a record for the dataset ``deploy/argilla/dataset.json`` describes.

Annotation tasks show a conversation as a dialogue: ``context`` holds the messages before the
prompt (its system messages, the tools offered, the earlier turns), ``answer`` the product's
answer; both are empty (Label Studio) or absent (Argilla) for a prompt sent alone, which renders
as before 1.5.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from services.contract.records import AnnotationRecord

Rendered = dict[str, Any] | None
ARGILLA_MAX_CHAT_CONTENT = 20_000  # argilla-server refuses a longer chat message content


def chat_messages(rec: AnnotationRecord, with_response: bool = False) -> list[dict[str, str]]:
    """The conversation as ``{role, content}`` messages, ending in the curated user turn; with
    ``with_response``, the product's answer after it (an assistant message), if there is one."""
    if rec.messages is None:
        messages = [{"role": "user", "content": rec.text}]
    else:
        messages = [{"role": m.role, "content": m.content} for m in rec.messages]
    if with_response and rec.response is not None:
        messages.append({"role": "assistant", "content": rec.response})
    return messages


def chat_line(rec: AnnotationRecord, with_response: bool = False) -> Rendered:
    """``{"messages", "tools"?, "prompt_id"}``. Without ``with_response`` the conversation ends
    in the user turn, for annotators or a generator to answer; with it, in the product's answer,
    and a record without one is left out (None)."""
    if with_response and rec.response is None:
        return None
    line: dict[str, Any] = {"messages": chat_messages(rec, with_response)}
    if rec.tools:
        line["tools"] = rec.tools
    line["prompt_id"] = rec.prompt_id
    return line


def _tool_names(rec: AnnotationRecord) -> str:
    names = [(t.get("function") or {}).get("name") or t.get("type", "?") for t in rec.tools or ()]
    return ", ".join(str(n) for n in names)


def dialogue(rec: AnnotationRecord) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """What an annotator sees around the prompt: the messages before it (the tools offered
    first, as one ``tools`` line of their names) and the product's answer after it."""
    before = chat_messages(rec)[:-1]
    if rec.tools:
        before.insert(0, {"role": "tools", "content": _tool_names(rec)})
    after = [] if rec.response is None else [{"role": "assistant", "content": rec.response}]
    return before, after


def label_studio_task(rec: AnnotationRecord) -> dict[str, Any]:
    """A task for ``deploy/label-studio/config.xml``: ``$prompt`` and ``$lang``, and the
    ``$context`` and ``$answer`` dialogues (lists of ``{role, content}``; Label Studio requires
    every variable of the config in every task, so they are empty lists for a lone prompt)."""
    context, answer = dialogue(rec)
    return {
        "data": {
            "prompt": rec.text,
            "lang": rec.lang,
            "context": context,
            "answer": answer,
            "prompt_id": rec.prompt_id,
            "source": rec.source,
            "novelty": rec.scores.novelty,
            "quality": rec.scores.quality,
            "difficulty": rec.scores.difficulty,
            "cluster": rec.cluster,
            "follows": rec.follows,
            "context_id": rec.context_id,
        },
        "meta": {"event_id": rec.event_id, "schema_version": rec.schema_version},
    }


def _argilla_chat(messages: list[dict[str, str]]) -> list[dict[str, str]]:
    """A chat field's value: messages with content (Argilla refuses an empty one), each cut to
    the length Argilla takes."""
    return [
        {"role": m["role"], "content": m["content"][:ARGILLA_MAX_CHAT_CONTENT]}
        for m in messages
        if m["content"]
    ]


def argilla_record(rec: AnnotationRecord) -> dict[str, Any]:
    """An Argilla record: ``prompt`` field, the ``context`` and ``answer`` chat fields when the
    prompt came in a conversation or with an answer, metadata for filtering, a suggestion for the
    ``quality`` question seeded from novelty (annotators confirm or change it)."""
    novelty = rec.scores.novelty
    fields: dict[str, Any] = {"prompt": rec.text}
    context, answer = (_argilla_chat(part) for part in dialogue(rec))
    if context:
        fields["context"] = context
    if answer:
        fields["answer"] = answer
    return {
        "id": rec.prompt_id,
        "fields": fields,
        "metadata": {
            "lang": rec.lang,
            "source": rec.source,
            "novelty": novelty,
            "quality": rec.scores.quality,
            "difficulty": rec.scores.difficulty,
            "cluster": rec.cluster,
            "pii": ",".join(rec.pii),
            "event_id": rec.event_id,
            "follows": "yes" if rec.follows else "no",
        },
        "suggestions": []
        if novelty is None
        else [
            {
                "question_name": "quality",
                "value": "keep" if novelty >= 0.3 else "review",
                "score": round(min(max(novelty, 0.0), 1.0), 4),
                "agent": "flywheel-novelty",
            }
        ],
    }


def _record(rec: AnnotationRecord) -> Rendered:
    return json.loads(rec.model_dump_json())


FORMATS: dict[str, Callable[[AnnotationRecord], Rendered]] = {
    "jsonl": _record,
    "chat": chat_line,
    "label-studio": label_studio_task,
    "argilla": argilla_record,
}


def renderer(fmt: str, with_response: bool = False) -> Callable[[AnnotationRecord], Rendered]:
    """The function that renders one record in ``fmt``; ``with_response`` is for ``chat`` only
    (annotation tasks always show the answer, ``jsonl`` always carries it)."""
    if not with_response:
        return FORMATS[fmt]
    if fmt != "chat":
        raise ValueError(f"--with-response is for --format chat, not {fmt}")
    return lambda rec: chat_line(rec, with_response=True)
