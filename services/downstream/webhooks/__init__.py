"""Annotation results from webhooks: verify the sender, turn its payload into ``AnnotationResult``s.

Pure functions, no I/O, except the delivery log; ``streams/webhooks_http.py`` wires them to HTTP,
Redis and Kafka. Every problem is a ``WebhookRejected(status, reason)``: 401 unverified, 415 not
JSON by its Content-Type, 400 not a JSON object, 413 too large, 422 verified and well-formed but
unusable (no prompt_id, no label). Reasons never quote the body, which holds prompt text.

- ``verify``: Label Studio's shared secret (``X-Flywheel-Secret``, a custom header of the
  webhook) and Argilla's Standard Webhooks signatures;
- ``fields``: the body (size, media type, JSON) and the coercions both parsers share;
- ``label_studio`` / ``argilla``: each tool's payload to results;
- ``deliveries``: the delivery ids already published, so a replay is not republished.

docs/annotation-tools.md has the setup, the label mapping and the status codes.
"""

from services.downstream.webhooks.argilla import (
    ARGILLA_EVENTS,
    ARGILLA_LABEL_QUESTION,
    ARGILLA_SCORE_QUESTION,
    DISCARDED,
    parse_argilla,
)
from services.downstream.webhooks.deliveries import DeliveryLog, RedisDeliveryLog
from services.downstream.webhooks.errors import WebhookRejected
from services.downstream.webhooks.fields import MAX_BODY_BYTES, load_payload, require_json
from services.downstream.webhooks.label_studio import (
    LS_ACTIONS,
    LS_LABEL_CONTROL,
    LS_SCORE_CONTROL,
    SKIPPED,
    label_studio_delivery_id,
    parse_label_studio,
)
from services.downstream.webhooks.verify import (
    LABEL_STUDIO_HEADER,
    TOLERANCE_S,
    sign_standard_webhook,
    standard_webhook_key,
    verify_label_studio,
    verify_standard_webhook,
)

__all__ = [
    "ARGILLA_EVENTS",
    "ARGILLA_LABEL_QUESTION",
    "ARGILLA_SCORE_QUESTION",
    "DISCARDED",
    "LABEL_STUDIO_HEADER",
    "LS_ACTIONS",
    "LS_LABEL_CONTROL",
    "LS_SCORE_CONTROL",
    "MAX_BODY_BYTES",
    "SKIPPED",
    "TOLERANCE_S",
    "DeliveryLog",
    "RedisDeliveryLog",
    "WebhookRejected",
    "label_studio_delivery_id",
    "load_payload",
    "parse_argilla",
    "parse_label_studio",
    "require_json",
    "sign_standard_webhook",
    "standard_webhook_key",
    "verify_label_studio",
    "verify_standard_webhook",
]
