"""The OpenAPI 3.0.3 description of the ops API (served at /openapi.json).

It is checked by ``openapi-spec-validator`` (tests/unit/ops/test_openapi.py) and by a
schemathesis run against the live server (tests/integration/test_ops_hardening.py): every
status an endpoint can answer is listed with the shape of its body. The webhooks' paths are
streams/openapi/webhooks.py's.
"""

from __future__ import annotations

from typing import Any

from services.keys import RECENT_MAX
from services.ops.lag import ERROR, STATUSES, UNKNOWN
from streams.openapi import webhooks
from streams.openapi.schema import ERROR_BODY, OBJECT, json_body, json_response

PROMPT_ID_PATTERN = "^[0-9a-f]{32}$"

_UNAVAILABLE = json_response("Redis could not be read; the reason says which error", ERROR_BODY)
_UNAUTHORIZED = json_response("missing or wrong bearer token; nothing read or changed", ERROR_BODY)


def _read(summary: str, schema: dict[str, Any] | None = None, redis: bool = True) -> dict[str, Any]:
    responses = {"200": json_response("OK", schema)}
    if redis:
        responses["503"] = _UNAVAILABLE
    return {"summary": summary, "responses": responses}


def _write(summary: str, body: dict[str, Any], ok: str, ok_schema: dict[str, Any]) -> dict:
    return {
        "summary": summary,
        "security": [{"bearer": []}],
        "requestBody": json_body(body),
        "responses": {
            ok: json_response("done", ok_schema),
            "400": json_response("the body is not a JSON object", ERROR_BODY),
            "401": _UNAUTHORIZED,
            "422": json_response(
                "a value is refused (the setting's own type and range)", ERROR_BODY
            ),
            "503": _UNAVAILABLE,
        },
    }


_EVALSETS = {
    "type": "object",
    "required": ["evalsets"],
    "properties": {
        "evalsets": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name", "items", "hits", "items_seen"],
                "properties": {
                    "name": {"type": "string"},
                    "items": {"type": "integer"},
                    "bytes": {"type": "integer"},
                    "sha256": {"type": "string"},
                    "added_at": {"type": "integer"},
                    "hits": {"type": "integer"},
                    "items_seen": {"type": "integer"},
                },
            },
        }
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
        "history": {"type": "array", "items": OBJECT},
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

# services/diversity/gaps.py parse_target: one of the two forms, never both, nothing else
_GAP_TARGET = {
    "oneOf": [
        {
            "type": "object",
            "required": ["uniform"],
            "additionalProperties": False,
            "properties": {"uniform": {"type": "boolean", "enum": [True]}},
        },
        {
            "type": "object",
            "required": ["shares"],
            "additionalProperties": False,
            "properties": {
                "shares": {
                    "type": "object",
                    "minProperties": 1,
                    "description": "cluster number (decimal digits) -> share; the shares sum "
                    "to 1, clusters left out get 0",
                    "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1},
                }
            },
        },
    ]
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
        "min_crowd": {"type": "integer"},
        "clusters": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["cluster", "words", "deficit", "real", "synthetic"],
                "properties": {
                    "cluster": {"type": "integer"},
                    "label": {"type": "string", "nullable": True},
                    "words": {"type": "array", "items": {"type": "string"}},
                    "withheld": {
                        "type": "boolean",
                        "description": "fewer distinct users than FLYWHEEL_MIN_CROWD in the "
                        "window: no label, no words (docs/privacy.md)",
                    },
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
            **webhooks.SECURITY_SCHEMES,
        }
    },
    "paths": {
        "/healthz": {"get": _read("Liveness", redis=False)},
        "/readyz": {
            "get": {
                "summary": "Readiness: Redis answers and the last lag poll succeeded",
                "responses": {
                    "200": json_response("ready", _READY),
                    "503": json_response("not ready", _READY),
                },
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
                    "200": json_response("polled", _LAG),
                    "503": json_response(
                        "status UNKNOWN (not polled yet) or ERROR (poll failed)", _LAG
                    ),
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
                    "200": json_response("OK", {"type": "array", "items": OBJECT}),
                    "400": json_response(f"n is not an integer from 1 to {RECENT_MAX}", ERROR_BODY),
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
                    "200": json_response(
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
                    "503": json_response("Redis or the broker could not be reached", ERROR_BODY),
                },
            }
        },
        "/api/agreement": {
            "get": {
                "summary": "Annotator agreement (Krippendorff's alpha per cluster) with the "
                "per-annotator rows, which name annotators",
                "security": [{"read": []}],
                "responses": {
                    "200": json_response("OK", OBJECT),
                    "401": _UNAUTHORIZED,
                    "503": _UNAVAILABLE,
                },
            }
        },
        "/api/evalsets": {
            "get": _read(
                "The registered evaluation sets (flywheel evalsets add): items, file digest, "
                "prompts found copying them (hits) and distinct items among them (items_seen)",
                _EVALSETS,
            )
        },
        **webhooks.PATHS,
    },
}
