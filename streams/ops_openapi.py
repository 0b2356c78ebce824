"""The OpenAPI 3.0.3 description of the ops API (served at /openapi.json).

It is checked by ``openapi-spec-validator`` (tests/unit/ops/test_openapi.py) and by a
schemathesis run against the live server (tests/integration/test_ops_hardening.py): every
status an endpoint can answer is listed with the shape of its body. The webhook bodies are the
fields ``services/downstream/webhooks/`` reads; other fields are allowed (the tools send more).
"""

from __future__ import annotations

from typing import Any

from services.ops.lag import ERROR, STATUSES, UNKNOWN

RECENT_MAX = 50
PROMPT_ID_PATTERN = "^[0-9a-f]{32}$"

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
_OBJECT: dict[str, Any] = {"type": "object"}


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or _OBJECT}},
    }


_UNAVAILABLE = _json("Redis could not be read; the reason says which error", _ERROR)
_UNAUTHORIZED = _json("missing or wrong bearer token; nothing read or changed", _ERROR)


def _read(summary: str, schema: dict[str, Any] | None = None, redis: bool = True) -> dict[str, Any]:
    responses = {"200": _json("OK", schema)}
    if redis:
        responses["503"] = _UNAVAILABLE
    return {"summary": summary, "responses": responses}


def _write(summary: str, body: dict[str, Any], ok: str, ok_schema: dict[str, Any]) -> dict:
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            ok: _json("done", ok_schema),
            "400": _json("the body is not a JSON object", _ERROR),
            "401": _UNAUTHORIZED,
            "422": _json("a value is refused (the setting's own type and range)", _ERROR),
            "503": _UNAVAILABLE,
        },
    }


_PARTITION = {
    "type": "object",
    "required": ["topic", "partition", "end", "committed", "lag", "lag_s", "status"],
    "properties": {
        "topic": {"type": "string"},
        "partition": {"type": "integer"},
        "end": {"type": "integer"},
        "committed": {"type": "integer"},
        "lag": {"type": "integer"},
        "lag_s": {"type": "number"},
        "lag_s_exact": {"type": "boolean"},
        "stuck_s": {"type": "number"},
        "status": {"type": "string", "enum": list(STATUSES)},
    },
}
_LAG = {
    "type": "object",
    "required": ["group", "status", "partitions", "history"],
    "properties": {
        "group": {"type": "string"},
        "status": {"type": "string", "enum": [*STATUSES, UNKNOWN, ERROR]},
        "error": {"type": "string", "nullable": True},
        "polled_at": {"type": "number"},
        "partitions": {"type": "array", "items": _PARTITION},
        "history": {"type": "array", "items": _OBJECT},
    },
}
_READY = {
    "type": "object",
    "required": ["ready", "problems"],
    "properties": {
        "ready": {"type": "boolean"},
        "problems": {"type": "array", "items": {"type": "string"}},
    },
}
_THRESHOLD = {
    "type": "number",
    "minimum": 0.5,  # Settings.near_dup_threshold
    "maximum": 1,
}
_PROMPT_ID = {"type": "string", "pattern": PROMPT_ID_PATTERN}

# --- webhooks: the fields the parsers read (services/downstream/webhooks/) --------------------
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
                                "questions": {"type": "array", "items": _OBJECT},
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
        "summary": f"{tool} annotation events -> annotations.results (docs/webhooks.md); "
        f"verified by {check}",
        "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
        "responses": {
            "200": _json("the results are on the topic (or the delivery was seen)", _ACCEPTED),
            "400": _json("not a JSON object", _ERROR),
            "401": _json("not verified (or the source's secret is not configured)", _ERROR),
            "413": _json("body too large", _ERROR),
            "415": _json("not declared as JSON", _ERROR),
            "422": _json("no usable prompt_id or label", _ERROR),
            "503": _json("publishing failed; retry", _ERROR),
        },
        **extra,
    }


_GAP_TARGET = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "uniform": {"type": "boolean", "enum": [True]},
        "shares": {
            "type": "object",
            "minProperties": 1,
            "description": "cluster number (decimal digits) -> share",
            "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
        },
    },
}
_GAPS = {
    "type": "object",
    "required": ["topics_version", "target", "total", "distance", "clusters"],
    "properties": {
        "topics_version": {"type": "string"},
        "target": {"type": "string", "enum": ["uniform", "set", "stale"]},
        "shares": {"type": "object", "nullable": True},
        "total": {"type": "integer"},
        "distance": {"type": "number"},
        "entropy_bits": {"type": "number"},
        "max_entropy_bits": {"type": "number"},
        "last_published": {"type": "object", "nullable": True},
        "waiting": {"type": "string", "nullable": True},
        "clusters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cluster", "words", "deficit", "real", "synthetic"],
                "properties": {
                    "cluster": {"type": "integer"},
                    "label": {"type": "string"},
                    "words": {"type": "array", "items": {"type": "string"}},
                    "target_share": {"type": "number"},
                    "share": {"type": "number"},
                    "deficit": {"type": "integer"},
                    "real": {"type": "integer"},
                    "synthetic": {"type": "integer"},
                    "synthetic_room": {"type": "integer"},
                },
            },
        },
    },
}


def _header(name: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Flywheel ops API", "version": "1.1"},
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "read": {
                "type": "http",
                "scheme": "bearer",
                "description": "FLYWHEEL_OPS_READ_TOKEN (or the write token)",
            },
            "labelStudio": {"type": "apiKey", "in": "header", "name": "X-Flywheel-Secret"},
        }
    },
    "paths": {
        "/healthz": {"get": _read("Liveness", redis=False)},
        "/readyz": {
            "get": {
                "summary": "Readiness: Redis answers and the last lag poll succeeded",
                "responses": {"200": _json("ready", _READY), "503": _json("not ready", _READY)},
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus exposition; served with Redis or Kafka down, "
                "flywheel_ops_backend_up says which",
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/api/lag": {
            "get": {
                "summary": "Lag per partition in messages and seconds, status, recent history",
                "responses": {
                    "200": _json("polled", _LAG),
                    "503": _json("status UNKNOWN (not polled yet) or ERROR (poll failed)", _LAG),
                },
            }
        },
        "/api/stats": {
            "get": _read(
                "Outputs by outcome and reason, index sizes, coverage, throughput, diversity"
            )
        },
        "/api/recent": {
            "get": {
                "summary": "Recently accepted prompts (redacted; they hold prompt text)",
                "security": [{"read": []}],
                "parameters": [
                    {
                        "name": "n",
                        "in": "query",
                        "required": False,
                        "description": "how many, newest first",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": RECENT_MAX,
                            "default": 20,
                        },
                    }
                ],
                "responses": {
                    "200": _json("OK", {"type": "array", "items": _OBJECT}),
                    "400": _json(f"n is not an integer from 1 to {RECENT_MAX}", _ERROR),
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/config": {"get": _read("Configured threshold and operator overrides")},
        "/api/config/threshold": {
            "put": _write(
                "Override the near-duplicate threshold (workers apply it from their next batch)",
                {
                    "type": "object",
                    "required": ["near_dup_threshold"],
                    "properties": {"near_dup_threshold": _THRESHOLD},
                },
                "200",
                {"type": "object", "properties": {"near_dup_threshold": {"type": "number"}}},
            )
        },
        "/api/blocklist": {
            "post": _write(
                "Block a prompt_id (its exact text is then rejected as blocklisted)",
                {
                    "type": "object",
                    "required": ["prompt_id"],
                    "properties": {"prompt_id": _PROMPT_ID},
                },
                "201",
                {"type": "object", "properties": {"blocked": _PROMPT_ID}},
            )
        },
        "/api/gaps": {
            "get": _read(
                "Coverage gaps: the window per topic cluster against the target distribution "
                "(deficits, distance, entropy, the last publication)",
                _GAPS,
            )
        },
        "/api/gaps/target": {
            "put": _write(
                "Set the target distribution over the current topic model's clusters "
                '(shares summing to 1, clusters left out get 0; or {"uniform": true})',
                _GAP_TARGET,
                "200",
                {
                    "type": "object",
                    "required": ["topics_version", "shares"],
                    "properties": {
                        "topics_version": {"type": "string"},
                        "shares": {"type": "object", "nullable": True},
                    },
                },
            )
        },
        "/api/gaps/publish": {
            "post": {
                "summary": "Publish the coverage gaps on the gaps topic now (as the timer does)",
                "security": [{"bearer": []}],
                "responses": {
                    "200": _json(
                        "published (none while the window is below gaps_min_window)",
                        {
                            "type": "object",
                            "required": ["published", "gaps"],
                            "properties": {
                                "published": {"type": "integer"},
                                "gaps": {"type": "array", "items": {"type": "string"}},
                                "waiting": {"type": "string"},
                            },
                        },
                    ),
                    "401": _UNAUTHORIZED,
                    "503": _json("Redis or the broker could not be reached", _ERROR),
                },
            }
        },
        "/api/agreement": {
            "get": {
                "summary": "Annotator agreement (Krippendorff's alpha per cluster) with the "
                "per-annotator rows, which name annotators",
                "security": [{"read": []}],
                "responses": {
                    "200": _json("OK", _OBJECT),
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
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
    },
}
