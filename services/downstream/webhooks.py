"""Annotation results from webhooks: verify the sender, turn its payload into ``AnnotationResult``s.

Pure functions, no I/O; ``streams/webhooks_http.py`` wires them to HTTP and Kafka. Every problem is a
``WebhookRejected(status, reason)``: 401 unverified, 400 not a JSON object, 413 too large, 422
verified and well-formed but unusable (no prompt_id, no label). Reasons never quote the body,
which holds prompt text.

Label Studio (``ANNOTATION_CREATED``, ``ANNOTATION_UPDATED``, ``ANNOTATIONS_CREATED``): the shared
secret arrives in the ``X-Flywheel-Secret`` header, a custom header of the webhook. Argilla 2.x
(``response.created``, ``response.updated``): Standard Webhooks signatures. docs/webhooks.md has
the setup, the label mapping and the status codes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import SecretStr, ValidationError

from services.clean.text import user_hash
from services.contract.records import AnnotationResult

MAX_BODY_BYTES = 4 * 1024 * 1024  # a Label Studio batch of 100 annotations with long prompts fits
TOLERANCE_S = 5 * 60  # Standard Webhooks: refuse timestamps further than this from now
LABEL_STUDIO_HEADER = "X-Flywheel-Secret"

# deploy/label-studio/config.xml: <Choices name="label"> and <Rating name="score">
LS_LABEL_CONTROL = "label"
LS_SCORE_CONTROL = "score"
LS_ACTIONS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"})
# deploy/argilla/dataset.json: label_selection "quality" and rating "score"
ARGILLA_LABEL_QUESTION = "quality"
ARGILLA_SCORE_QUESTION = "score"
ARGILLA_EVENTS = frozenset({"response.created", "response.updated"})

SKIPPED = "skipped"  # label of a Label Studio annotation the annotator skipped (was_cancelled)
DISCARDED = "discarded"  # label of an Argilla response the annotator discarded

_MAX_SIGNATURES = 16  # entries of webhook-signature looked at; a key rotation needs two


class WebhookRejected(Exception):
    """The request is refused with HTTP ``status``; ``reason`` is safe to log and to return."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


# --- verification -----------------------------------------------------------------------------


def _secret_text(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Case-insensitive header look-up on any mapping (aiohttp's is case-insensitive already)."""
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lower), None)


def verify_label_studio(headers: Mapping[str, str], secret: str | SecretStr) -> None:
    """Accept the request only if ``X-Flywheel-Secret`` equals the configured secret.

    Raises ``WebhookRejected(401)`` when the secret is not configured (Label Studio refused), the
    header is missing, or it differs (constant-time comparison).
    """
    expected = _secret_text(secret)
    if not expected:
        raise WebhookRejected(401, "label studio webhooks are not configured")
    given = _header(headers, LABEL_STUDIO_HEADER)
    if given is None:
        raise WebhookRejected(401, f"{LABEL_STUDIO_HEADER} header missing")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise WebhookRejected(401, f"{LABEL_STUDIO_HEADER} header wrong")


def standard_webhook_key(secret: str | SecretStr) -> bytes:
    """The HMAC key of a Standard Webhooks secret ``whsec_<base64>``; ``b""`` when unusable."""
    text = _secret_text(secret).strip()
    if text.startswith("whsec_"):
        text = text[len("whsec_") :]
    if not text:
        return b""
    try:  # the reference library pads too: unpadded secrets exist
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        return b""


def sign_standard_webhook(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (also what tests send)."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode("ascii")


def verify_standard_webhook(
    headers: Mapping[str, str], body: bytes, secret: str | SecretStr, now: float | None = None
) -> None:
    """Verify a Standard Webhooks request (Argilla): ``webhook-id``, ``webhook-timestamp`` (epoch
    seconds, within 5 minutes of ``now``) and ``webhook-signature`` (space-separated ``v1,<sig>``
    entries, one of which must match). Raises ``WebhookRejected(401)`` otherwise, and when the
    secret is empty or not base64 (Argilla refused).
    """
    key = standard_webhook_key(secret)
    if not key:
        raise WebhookRejected(401, "argilla webhooks are not configured")
    msg_id = _header(headers, "webhook-id")
    stamp = _header(headers, "webhook-timestamp")
    signatures = _header(headers, "webhook-signature")
    if not (msg_id and stamp and signatures):
        raise WebhookRejected(401, "webhook-id, webhook-timestamp or webhook-signature missing")
    stamp = stamp.strip()
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12:
        raise WebhookRejected(401, "webhook-timestamp is not epoch seconds")
    timestamp = int(stamp)
    now = time.time() if now is None else now
    if timestamp < now - TOLERANCE_S:
        raise WebhookRejected(401, "webhook-timestamp too old")
    if timestamp > now + TOLERANCE_S:
        raise WebhookRejected(401, "webhook-timestamp too new")
    expected = hmac.new(
        key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256
    ).digest()  # the raw body bytes: re-encoding the JSON would change them
    for entry in signatures.split()[:_MAX_SIGNATURES]:
        version, _, sig = entry.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return
    raise WebhookRejected(401, "no matching webhook-signature")


# --- the body ---------------------------------------------------------------------------------


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


# --- shared helpers ---------------------------------------------------------------------------


def _label(raw: Any, where: str) -> str:
    """Lower case, surrounding space removed, inner runs of space as one underscore."""
    if isinstance(raw, list):  # multi-label answers: the first one is the verdict
        raw = raw[0] if raw else None
    if not isinstance(raw, str) or not raw.strip():
        raise WebhookRejected(422, f"{where}: no label")
    return "_".join(raw.split()).lower()


def _score(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def _timestamp(*candidates: Any) -> datetime | None:
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


def _prompt_id(raw: Any) -> str | None:
    return raw.strip() if isinstance(raw, str) and raw.strip() else None


def _annotator(raw: Any, key: bytes) -> str | None:
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


def _result(where: str, **fields: Any) -> AnnotationResult:
    try:
        return AnnotationResult(**fields)
    except ValidationError as exc:  # name the fields, never the values (they come from the body)
        bad = sorted({".".join(str(p) for p in err["loc"]) for err in exc.errors()})
        raise WebhookRejected(422, f"{where}: invalid {', '.join(bad)}") from None


def _int_or_none(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


# --- Label Studio -----------------------------------------------------------------------------


def parse_label_studio(
    payload: Mapping[str, Any], *, annotator_key: bytes = b""
) -> list[AnnotationResult]:
    """Results of a Label Studio webhook; ``[]`` for actions other than annotations created or
    updated. All or nothing: one unusable annotation (no ``task.data.prompt_id``, no ``label``
    choice, no timestamp) rejects the request with 422 and none is returned.

    ``annotator_key`` keys the hash that replaces an annotator given as an email.
    """
    action = payload.get("action")
    if not isinstance(action, str) or action not in LS_ACTIONS:
        return []
    project = payload.get("project")
    project_id = _int_or_none(project.get("id")) if isinstance(project, dict) else None
    if action == "ANNOTATIONS_CREATED":
        annotations = payload.get("annotation", payload.get("annotations"))
        tasks = payload.get("task", payload.get("tasks"))
        if not isinstance(annotations, list):
            raise WebhookRejected(422, "annotations missing")
        by_id = {
            t["id"]: t
            for t in (tasks if isinstance(tasks, list) else [])
            if isinstance(t, dict) and _int_or_none(t.get("id")) is not None
        }
        pairs = []
        for ann in annotations:
            ref = ann.get("task") if isinstance(ann, dict) else None
            task = ref if isinstance(ref, dict) else by_id.get(_int_or_none(ref))
            pairs.append((ann, task))
    else:
        pairs = [(payload.get("annotation"), payload.get("task"))]
    return [
        _ls_result(ann, task, action, project_id, annotator_key, f"annotation {i}")
        for i, (ann, task) in enumerate(pairs)
    ]


def _ls_result(
    ann: Any, task: Any, action: str, project_id: int | None, key: bytes, where: str
) -> AnnotationResult:
    if not isinstance(ann, dict):
        raise WebhookRejected(422, f"{where}: annotation missing")
    data = task.get("data") if isinstance(task, dict) else None
    prompt_id = _prompt_id(data.get("prompt_id")) if isinstance(data, dict) else None
    if prompt_id is None:
        raise WebhookRejected(422, f"{where}: task.data.prompt_id missing")
    result = ann.get("result")
    items = [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []
    choice = _control_value(items, LS_LABEL_CONTROL, "choices")
    cancelled = ann.get("was_cancelled") is True
    label = SKIPPED if cancelled else _label(choice, where)
    ts = _timestamp(ann.get("updated_at"), ann.get("created_at"))
    if ts is None:
        raise WebhookRejected(422, f"{where}: updated_at/created_at missing")
    task_id = _int_or_none(ann.get("task"))
    if task_id is None and isinstance(task, dict):
        task_id = _int_or_none(task.get("id"))
    return _result(
        where,
        prompt_id=prompt_id,
        label=label,
        score=_score(_control_value(items, LS_SCORE_CONTROL, "rating")),
        annotator=_annotator(ann.get("completed_by"), key),
        ts=ts,
        meta={
            "tool": "label-studio",
            "project": project_id if project_id is not None else _int_or_none(ann.get("project")),
            "task_id": task_id,
            "annotation_id": _int_or_none(ann.get("id")),
            "action": action,
            "was_cancelled": cancelled,
            "choice": choice[0] if isinstance(choice, list) and choice else None,
        },
    )


def _control_value(items: list[dict[str, Any]], control: str, kind: str) -> Any:
    """``value[kind]`` of the first result item of the control ``control``."""
    for item in items:
        value = item.get("value")
        if item.get("from_name") == control and isinstance(value, dict) and kind in value:
            return value[kind]
    return None


# --- Argilla ----------------------------------------------------------------------------------


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
    record = _dict(data.get("record"))
    dataset = _dict(record.get("dataset"))
    questions = dataset.get("questions")
    if isinstance(questions, list) and not any(
        isinstance(q, dict) and q.get("name") == ARGILLA_LABEL_QUESTION for q in questions
    ):
        return []  # another dataset on the same Argilla server
    metadata = _dict(record.get("metadata"))
    prompt_id = _prompt_id(record.get("external_id")) or _prompt_id(metadata.get("prompt_id"))
    if prompt_id is None:
        raise WebhookRejected(422, "record.external_id / metadata.prompt_id missing")
    values = _dict(data.get("values"))
    choice = _answer(values, ARGILLA_LABEL_QUESTION)
    label = DISCARDED if status == DISCARDED else _label(choice, "response")
    ts = _timestamp(data.get("updated_at"), data.get("inserted_at"), payload.get("timestamp"))
    if ts is None:
        raise WebhookRejected(422, "updated_at/inserted_at missing")
    user = data.get("user")
    return [
        _result(
            "response",
            prompt_id=prompt_id,
            label=label,
            score=_score(_answer(values, ARGILLA_SCORE_QUESTION)),
            annotator=_annotator(user if user is not None else data.get("user_id"), annotator_key),
            ts=ts,
            meta={
                "tool": "argilla",
                "dataset": dataset.get("name") if isinstance(dataset.get("name"), str) else None,
                "record_id": _str_or_none(record.get("id")),
                "response_id": _str_or_none(data.get("id")),
                "event": event,
                "status": status,
                "choice": choice if isinstance(choice, str) else None,
            },
        )
    ]


def _answer(values: Mapping[str, Any], question: str) -> Any:
    answer = values.get(question)
    return answer.get("value") if isinstance(answer, dict) else None


def _dict(raw: Any) -> dict[str, Any]:
    return raw if isinstance(raw, dict) else {}


def _str_or_none(raw: Any) -> str | None:
    return raw if isinstance(raw, str) else None
