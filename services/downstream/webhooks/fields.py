"""The untrusted body: its size, media type and JSON, and the coercion of the fields both tools send.

Label Studio and Argilla name things differently but send the same kinds of values (a label, an
optional numeric score, ISO timestamps, a user, ids); the parsers share these coercions so the two
sources produce ``AnnotationResult``s by the same rules. A problem is a ``WebhookRejected``: 413
too large, 415 not declared JSON, 400 not a JSON object, 422 a field that cannot be used.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from services.clean.text import user_hash
from services.contract.records import AnnotationResult
from services.downstream.webhooks.errors import WebhookRejected

MAX_BODY_BYTES = 4 * 1024 * 1024  # a Label Studio batch of 100 annotations with long prompts fits


def require_json(content_type: str | None) -> None:
    """Refuse (415) a body not declared ``application/json`` (or ``application/*+json``).

    Both tools send JSON; a form or ``text/plain`` post is what a browser can send cross-site
    without a preflight, so it is refused even when the body would parse.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        raise WebhookRejected(415, "Content-Type must be application/json")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def load_payload(body: bytes, max_bytes: int = MAX_BODY_BYTES) -> dict[str, Any]:
    """The body as a JSON object: ``WebhookRejected(413)`` above ``max_bytes``, 400 when it is not
    JSON (NaN and Infinity included) or not an object."""
    if len(body) > max_bytes:
        raise WebhookRejected(413, f"body larger than {max_bytes} bytes")
    try:
        payload = json.loads(body, parse_constant=_no_constants)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise WebhookRejected(400, "body is not valid JSON") from None
    if not isinstance(payload, dict):
        raise WebhookRejected(400, "body is not a JSON object")
    return payload


def coerce_label(raw: Any, where: str) -> str:
    """Lower case, surrounding space removed, inner runs of space as one underscore."""
    if isinstance(raw, list):  # multi-label answers: the first one is the verdict
        raw = raw[0] if raw else None
    if not isinstance(raw, str) or not raw.strip():
        raise WebhookRejected(422, f"{where}: no label")
    return "_".join(raw.split()).lower()


def coerce_score(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def first_timestamp(*candidates: Any) -> datetime | None:
    """The first parseable ISO 8601 timestamp; naive ones are UTC (Argilla sends them naive)."""
    for raw in candidates:
        if not isinstance(raw, str):
            continue
        try:
            ts = datetime.fromisoformat(raw)
        except ValueError:
            continue
        return ts if ts.tzinfo else ts.replace(tzinfo=UTC)
    return None


def coerce_prompt_id(raw: Any) -> str | None:
    return raw.strip() if isinstance(raw, str) and raw.strip() else None


def coerce_annotator(raw: Any, key: bytes) -> str | None:
    """A tool's numeric or UUID user id as is; anything else (an email, a user name) as a keyed
    hash ``h:<16 hex>``, so no address ever reaches the topic."""
    if isinstance(raw, dict):
        inner = raw.get("id")
        raw = inner if inner is not None else raw.get("email") or raw.get("username")
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return str(raw)
    if not isinstance(raw, str) or not raw.strip():
        return None
    text = raw.strip()
    if text.isascii() and (text.isdigit() or _is_uuid(text)):
        return text
    return "h:" + str(user_hash(text.lower(), key))


def _is_uuid(text: str) -> bool:
    parts = text.split("-")
    return [len(p) for p in parts] == [8, 4, 4, 4, 12] and all(
        c in "0123456789abcdefABCDEF" for p in parts for c in p
    )


def build_result(where: str, **fields: Any) -> AnnotationResult:
    try:
        return AnnotationResult(**fields)
    except ValidationError as exc:  # name the fields, never the values (they come from the body)
        bad = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise WebhookRejected(422, f"{where}: invalid {', '.join(bad)}") from None


def int_or_none(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def str_or_none(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None


def as_dict(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}
