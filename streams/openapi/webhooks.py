"""The annotation tools' webhooks in the ops API's OpenAPI document: the request bodies are the
fields ``services/downstream/webhooks/`` reads; other fields are allowed (the tools send more)."""

from __future__ import annotations

from typing import Any

from streams.openapi.schema import ERROR_BODY, OBJECT, json_body, json_response

_TIME = {"type": "string", "description": "ISO 8601"}
_LS_ANNOTATION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "task": {"oneOf": [{"type": "integer"}, {"type": "object"}]},
        "project": {"type": "integer"},
        "result": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "from_name": {"type": "string"},
                    "type": {"type": "string"},
                    "value": {"type": "object"},
                },
            },
        },
        "was_cancelled": {"type": "boolean"},
        "completed_by": {"oneOf": [{"type": "integer"}, {"type": "string"}, {"type": "object"}]},
        "created_at": _TIME,
        "updated_at": _TIME,
    },
}
_LS_TASK = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "data": {"type": "object", "properties": {"prompt_id": {"type": "string"}}},
    },
}
_LABEL_STUDIO = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {
            "type": "string",
            "description": "ANNOTATION_CREATED, ANNOTATION_UPDATED, ANNOTATIONS_CREATED; "
            "other actions are answered 200 with nothing accepted",
        },
        "project": {"type": "object", "properties": {"id": {"type": "integer"}}},
        "annotation": {"oneOf": [_LS_ANNOTATION, {"type": "array", "items": _LS_ANNOTATION}]},
        "annotations": {"type": "array", "items": _LS_ANNOTATION},
        "task": {"oneOf": [_LS_TASK, {"type": "array", "items": _LS_TASK}]},
        "tasks": {"type": "array", "items": _LS_TASK},
    },
}
_ARGILLA = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {
            "type": "string",
            "description": "response.created, response.updated; other events are answered 200 "
            "with nothing accepted",
        },
        "timestamp": _TIME,
        "data": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": ["submitted", "discarded", "draft"]},
                "values": {"type": "object"},
                "user_id": {"type": "string"},
                "inserted_at": _TIME,
                "updated_at": _TIME,
                "record": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "external_id": {"type": "string"},
                        "metadata": {
                            "type": "object",
                            "properties": {"prompt_id": {"type": "string"}},
                        },
                        "dataset": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "questions": {"type": "array", "items": OBJECT},
                            },
                        },
                    },
                },
            },
        },
    },
}
_ACCEPTED = {
    "type": "object",
    "required": ["accepted"],
    "properties": {"accepted": {"type": "integer"}, "duplicate": {"type": "boolean"}},
}


def _webhook(tool: str, body: dict[str, Any], check: str, **extra: Any) -> dict[str, Any]:
    return {
        "summary": f"{tool} annotation events -> annotations.results (docs/annotation-tools.md); "
        f"verified by {check}",
        "requestBody": json_body(body),
        "responses": {
            "200": json_response(
                "the results are on the topic (or the delivery was seen)", _ACCEPTED
            ),
            "400": json_response("not a JSON object", ERROR_BODY),
            "401": json_response(
                "not verified (or the source's secret is not configured)", ERROR_BODY
            ),
            "413": json_response("body too large", ERROR_BODY),
            "415": json_response("not declared as JSON", ERROR_BODY),
            "422": json_response("no usable prompt_id or label", ERROR_BODY),
            "503": json_response("publishing failed; retry", ERROR_BODY),
        },
        **extra,
    }


def _header(name: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}


SECURITY_SCHEMES = {"labelStudio": {"type": "apiKey", "in": "header", "name": "X-Flywheel-Secret"}}
PATHS: dict[str, Any] = {
    "/webhooks/label-studio": {
        "post": _webhook(
            "Label Studio",
            _LABEL_STUDIO,
            "the X-Flywheel-Secret header",
            security=[{"labelStudio": []}],
        )
    },
    "/webhooks/argilla": {
        "post": _webhook(
            "Argilla",
            _ARGILLA,
            "a Standard Webhooks signature",
            parameters=[
                _header("webhook-id"),
                _header("webhook-timestamp"),
                _header("webhook-signature"),
            ],
        )
    },
}
