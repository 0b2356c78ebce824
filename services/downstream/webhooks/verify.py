"""Who sent the request: Label Studio's shared secret header, Standard Webhooks signatures (Argilla).

Both compare in constant time. Standard Webhooks signs ``"{id}.{timestamp}.{raw body}"``, so the
body is verified as received (re-encoding the JSON would change it) and a timestamp outside
``TOLERANCE_S`` is refused, which bounds how long a captured request can be replayed; the
receiver remembers delivery ids for that long (``deliveries.py``) to close the window.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from pydantic import SecretStr

from services.downstream.webhooks.errors import WebhookRejected

TOLERANCE_S = 5 * 60  # Standard Webhooks: refuse timestamps further than this from now
LABEL_STUDIO_HEADER = "X-Flywheel-Secret"
_MAX_SIGNATURES = 16  # entries of webhook-signature looked at; a key rotation needs two


def _secret_text(secret: str | SecretStr) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def header(headers: Mapping[str, str], name: str) -> str | None:
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
    given = header(headers, LABEL_STUDIO_HEADER)
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


def _mac(key: bytes, msg_id: str, timestamp: int, body: bytes) -> bytes:
    return hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()


def sign_standard_webhook(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """``v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`` (also what tests send)."""
    return "v1," + base64.b64encode(_mac(key, msg_id, timestamp, body)).decode("ascii")


def verify_standard_webhook(
    headers: Mapping[str, str], body: bytes, secret: str | SecretStr, now: float | None = None
) -> str:
    """Verify a Standard Webhooks request (Argilla): ``webhook-id``, ``webhook-timestamp`` (epoch
    seconds, within 5 minutes of ``now``) and ``webhook-signature`` (space-separated ``v1,<sig>``
    entries, one of which must match). Raises ``WebhookRejected(401)`` otherwise, and when the
    secret is empty or not base64 (Argilla refused).

    Returns the ``webhook-id``: the signature covers it, so it identifies the delivery.
    """
    key = standard_webhook_key(secret)
    if not key:
        raise WebhookRejected(401, "argilla webhooks are not configured")
    msg_id = header(headers, "webhook-id")
    stamp = header(headers, "webhook-timestamp")
    signatures = header(headers, "webhook-signature")
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
    expected = _mac(key, msg_id, timestamp, body)
    for entry in signatures.split()[:_MAX_SIGNATURES]:
        version, _, sig = entry.partition(",")
        if version != "v1":
            continue
        try:
            given = base64.b64decode(sig, validate=True)
        except (binascii.Error, ValueError):
            continue
        if hmac.compare_digest(given, expected):
            return msg_id
    raise WebhookRejected(401, "no matching webhook-signature")
