"""HTTP receivers for annotation tools: ``POST /webhooks/label-studio`` and ``POST /webhooks/argilla``.

Thin: read the body under a size cap, verify the sender, parse (``services/downstream/webhooks/``),
claim the delivery id, publish the ``AnnotationResult``s, answer. A 200 ``{"accepted": n}`` is sent
only after ``publish`` returned, so it means the results are on the topic; a delivery seen within
the tolerance window is answered 200 ``{"accepted": 0, "duplicate": true}`` and not republished;
401 unverified, 415 not declared JSON, 400 not a JSON object, 413 too large, 422 unusable, 503
publishing failed (the delivery is released, so the sender's retry is taken). Bodies hold prompt
text and are never logged. docs/annotation-tools.md describes the setup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from aiokafka import AIOKafkaProducer
from redis.exceptions import RedisError

from services.contract.records import AnnotationResult
from services.downstream.webhooks import (
    MAX_BODY_BYTES,
    DeliveryLog,
    RedisDeliveryLog,
    WebhookRejected,
    label_studio_delivery_id,
    load_payload,
    parse_argilla,
    parse_label_studio,
    require_json,
    standard_webhook_key,
    verify_label_studio,
    verify_standard_webhook,
)
from services.settings import Settings

log = logging.getLogger(__name__)

Publish = Callable[[list[AnnotationResult]], Awaitable[None]]
# a verified request as (payload, results, delivery id or None); raises WebhookRejected
Receive = Callable[[], Awaitable[tuple[dict[str, Any], list[AnnotationResult], str | None]]]

_CHUNK = 64 * 1024


def make_results_publisher(producer: AIOKafkaProducer, topic: str) -> Publish:
    """A ``publish`` that sends each result as JSON, keyed by prompt_id, and returns once the
    broker acknowledged all of them (raises if any send fails). Start the producer with
    ``acks="all"`` for a 200 to mean "replicated"."""

    async def publish(results: list[AnnotationResult]) -> None:
        futures = [
            await producer.send(
                topic, value=r.model_dump_json().encode("utf-8"), key=r.prompt_id.encode("utf-8")
            )
            for r in results
        ]
        if futures:
            await asyncio.gather(*futures)

    return publish


def add_webhook_routes(
    app: web.Application,
    settings: Settings,
    publish: Publish,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    deliveries: DeliveryLog | None = None,
) -> None:
    """Register the two receivers on ``app``. A source whose secret is empty (or, for Argilla, not
    ``whsec_<base64>``) is refused with 401 and a warning is logged once here.

    ``deliveries`` remembers published delivery ids; by default in the Redis of ``settings``
    (a client closed with the app)."""
    ls_secret = settings.webhook_secret
    argilla_secret = settings.argilla_webhook_secret
    key = settings.user_hash_key.get_secret_value().encode("utf-8")
    if not ls_secret.get_secret_value():
        log.warning("FLYWHEEL_WEBHOOK_SECRET is empty: Label Studio webhooks will be refused")
    if not standard_webhook_key(argilla_secret):
        log.warning(
            "FLYWHEEL_ARGILLA_WEBHOOK_SECRET is empty or not whsec_<base64>: "
            "Argilla webhooks will be refused"
        )
    seen = deliveries if deliveries is not None else _redis_deliveries(app, settings)

    async def label_studio(request: web.Request) -> web.Response:
        async def receive() -> tuple[dict[str, Any], list[AnnotationResult], str | None]:
            verify_label_studio(request.headers, ls_secret)  # a header: no need to read first
            require_json(request.headers.get("Content-Type"))
            payload = load_payload(await _read_body(request, max_body_bytes), max_body_bytes)
            results = parse_label_studio(payload, annotator_key=key)
            return payload, results, label_studio_delivery_id(results)

        return await _handle("label-studio", receive, publish, seen)

    async def argilla(request: web.Request) -> web.Response:
        async def receive() -> tuple[dict[str, Any], list[AnnotationResult], str | None]:
            body = await _read_body(request, max_body_bytes)  # the signature covers the body
            delivery_id = verify_standard_webhook(request.headers, body, argilla_secret)
            require_json(request.headers.get("Content-Type"))
            payload = load_payload(body, max_body_bytes)
            return payload, parse_argilla(payload, annotator_key=key), delivery_id

        return await _handle("argilla", receive, publish, seen)

    app.router.add_post("/webhooks/label-studio", label_studio)
    app.router.add_post("/webhooks/argilla", argilla)


def _redis_deliveries(app: web.Application, settings: Settings) -> DeliveryLog:
    client = aioredis.from_url(settings.redis_url.get_secret_value())

    async def close(_app: web.Application) -> None:
        await client.aclose()

    app.on_cleanup.append(close)
    return RedisDeliveryLog(client, settings.namespace)


async def _handle(
    source: str, receive: Receive, publish: Publish, deliveries: DeliveryLog
) -> web.Response:
    try:
        payload, results, delivery_id = await receive()
    except WebhookRejected as exc:
        log.warning("webhook %s refused: %d %s", source, exc.status, exc.reason)
        return web.json_response({"error": exc.reason}, status=exc.status)
    if results and delivery_id is not None:
        try:
            first = await deliveries.claim(source, delivery_id)
        except (RedisError, OSError) as exc:  # publish anyway: consumers keep the latest result
            log.warning("webhook %s: delivery log unavailable (%r), not checked", source, exc)
            first, delivery_id = True, None
        if not first:
            log.info("webhook %s: delivery seen already, not republished", source)
            return web.json_response({"accepted": 0, "duplicate": True})
    if results:
        try:
            await publish(results)
        except Exception as exc:  # broker trouble, whatever its type: tell the sender to retry
            log.error("webhook %s: publishing %d results failed: %r", source, len(results), exc)
            await _release(deliveries, source, delivery_id)
            return web.json_response({"error": "publishing failed, retry later"}, status=503)
    log.info("webhook %s: accepted %d %s", source, len(results), _kind(payload))
    return web.json_response({"accepted": len(results)})


async def _release(deliveries: DeliveryLog, source: str, delivery_id: str | None) -> None:
    """Forget a delivery that was not published, so its retry is taken (best effort: if Redis is
    gone too, the retry is answered as a duplicate until the window ends)."""
    if delivery_id is None:
        return
    try:
        await deliveries.release(source, delivery_id)
    except (RedisError, OSError) as exc:
        log.warning("webhook %s: releasing a failed delivery failed: %r", source, exc)


def _kind(payload: Mapping[str, Any]) -> str:
    """The event name for logs, if it looks like one (the body is untrusted)."""
    kind = payload.get("action", payload.get("type"))
    if (
        isinstance(kind, str)
        and kind.isascii()
        and len(kind) <= 40
        and kind.replace("_", "").replace(".", "").isalnum()
    ):
        return kind
    return "event"


async def _read_body(request: web.Request, cap: int) -> bytes:
    """The body, refusing (413) more than ``cap`` bytes without reading them all. Reads the
    stream itself, so the application's ``client_max_size`` does not apply."""
    if request.content_length is not None and request.content_length > cap:
        raise WebhookRejected(413, f"body larger than {cap} bytes")
    body = bytearray()
    async for chunk in request.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > cap:
            raise WebhookRejected(413, f"body larger than {cap} bytes")
    return bytes(body)
