"""The pieces every path of the OpenAPI documents shares: JSON responses and the error body."""

from __future__ import annotations

from typing import Any

ERROR_BODY = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
OBJECT: dict[str, Any] = {"type": "object"}


def json_response(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or OBJECT}},
    }


def json_body(schema: dict[str, Any]) -> dict[str, Any]:
    """A required JSON request body."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}
