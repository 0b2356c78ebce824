"""Argilla 2.x responses (``response.created``, ``response.updated``) as ``AnnotationResult``s.
The dataset settings are deploy/argilla/dataset.json."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.contract.records import AnnotationResult
from services.downstream.webhooks.errors import WebhookRejected
from services.downstream.webhooks.fields import (
    as_dict,
    build_result,
    coerce_annotator,
    coerce_label,
    coerce_prompt_id,
    coerce_score,
    first_timestamp,
    str_or_none,
)

# deploy/argilla/dataset.json: label_selection "quality" and rating "score"
ARGILLA_LABEL_QUESTION = "quality"
ARGILLA_SCORE_QUESTION = "score"
ARGILLA_EVENTS = frozenset({"response.created", "response.updated"})
DISCARDED = "discarded"  # label of an Argilla response the annotator discarded


def parse_argilla(
    payload: Mapping[str, Any], *, annotator_key: bytes = b""
) -> list[AnnotationResult]:
    """The result of an Argilla ``response.created`` / ``response.updated`` event, or ``[]``.

    Ignored: other events (``ping``, record and dataset events), draft responses, and responses
    in datasets without a ``quality`` question (Argilla webhooks are server-wide). A discarded
    response becomes label ``discarded``. prompt_id = the record's ``external_id`` (the SDK's
    ``Record.id``; the event's ``record.id`` is Argilla's own UUID) or ``metadata.prompt_id``.
    """
    event = payload.get("type")
    if not isinstance(event, str) or event not in ARGILLA_EVENTS:
        return []
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected(422, "data missing")
    status = data.get("status")
    if status not in ("submitted", DISCARDED):
        return []  # drafts are not decisions
    record = as_dict(data.get("record"))
    dataset = as_dict(record.get("dataset"))
    questions = dataset.get("questions")
    if isinstance(questions, list) and not any(
        isinstance(q, dict) and q.get("name") == ARGILLA_LABEL_QUESTION for q in questions
    ):
        return []  # another dataset on the same Argilla server
    metadata = as_dict(record.get("metadata"))
    prompt_id = coerce_prompt_id(record.get("external_id")) or coerce_prompt_id(
        metadata.get("prompt_id")
    )
    if prompt_id is None:
        raise WebhookRejected(422, "record.external_id / metadata.prompt_id missing")
    values = as_dict(data.get("values"))
    choice = _answer(values, ARGILLA_LABEL_QUESTION)
    label = DISCARDED if status == DISCARDED else coerce_label(choice, "response")
    ts = first_timestamp(data.get("updated_at"), data.get("inserted_at"), payload.get("timestamp"))
    if ts is None:
        raise WebhookRejected(422, "updated_at/inserted_at missing")
    user = data.get("user")
    return [
        build_result(
            "response",
            prompt_id=prompt_id,
            label=label,
            score=coerce_score(_answer(values, ARGILLA_SCORE_QUESTION)),
            annotator=coerce_annotator(
                user if user is not None else data.get("user_id"), annotator_key
            ),
            ts=ts,
            meta={
                "tool": "argilla",
                "dataset": str_or_none(dataset.get("name")),
                "record_id": str_or_none(record.get("id")),
                "response_id": str_or_none(data.get("id")),
                "event": event,
                "status": status,
                "choice": choice if isinstance(choice, str) else None,
            },
        )
    ]


def _answer(values: Mapping[str, Any], question: str) -> Any:
    answer = values.get(question)
    return answer.get("value") if isinstance(answer, dict) else None
