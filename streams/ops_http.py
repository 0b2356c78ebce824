"""``flywheel ops``: the HTTP ops API and the live dashboard (aiohttp).

Read endpoints are open; endpoints that change behaviour need ``Authorization: Bearer
<FLYWHEEL_OPS_TOKEN>`` and answer 401 (changing nothing) without it. /openapi.json describes all.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from aiokafka import AIOKafkaProducer

from services.clean.guards import BlockedPrompts
from services.contract.records import AnnotationResult
from services.ops.read_model import OpsState
from services.settings import Settings
from streams.webhooks_http import add_webhook_routes, make_results_publisher

STATIC = Path(__file__).parent / "static"
STATE: web.AppKey[OpsState] = web.AppKey("state", OpsState)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)


def _authorized(request: web.Request) -> bool:
    token = request.app[SETTINGS].ops_token.get_secret_value()
    given = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(given, f"Bearer {token}")


def _require_token(request: web.Request) -> None:
    if not _authorized(request):
        raise web.HTTPUnauthorized(
            text=json.dumps({"error": "bearer token required"}),
            content_type="application/json",
            headers={"WWW-Authenticate": "Bearer"},
        )


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    problems = []
    try:
        await state.redis.ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"redis: {type(exc).__name__}")
    if state.error or not state.last_poll:
        problems.append(f"kafka: {state.error or 'not polled yet'}")
    body = {"ready": not problems, "problems": problems}
    return web.json_response(body, status=200 if not problems else 503)


async def lag(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATE].lag_view())


async def stats(request: web.Request) -> web.Response:
    return web.json_response(await request.app[STATE].stats())


async def recent(request: web.Request) -> web.Response:
    n = min(int(request.query.get("n", "20")), 50)
    return web.json_response(await request.app[STATE].recent(n))


async def get_config(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response(
        {
            "near_dup_threshold": state.s.near_dup_threshold,
            "overrides": await state.overrides(),
        }
    )


async def put_threshold(request: web.Request) -> web.Response:
    _require_token(request)
    body = await _json(request)
    value = body.get("near_dup_threshold")
    if not isinstance(value, int | float) or not 0 < value <= 1:
        raise web.HTTPBadRequest(
            text='{"error": "near_dup_threshold must be in (0, 1]"}',
            content_type="application/json",
        )
    await request.app[STATE].set_threshold(float(value))
    return web.json_response({"near_dup_threshold": float(value)})


async def add_blocked(request: web.Request) -> web.Response:
    _require_token(request)
    body = await _json(request)
    pid = body.get("prompt_id")
    if not isinstance(pid, str) or len(pid) != 32:
        raise web.HTTPBadRequest(
            text='{"error": "prompt_id (32 hex) required"}', content_type="application/json"
        )
    state = request.app[STATE]
    await BlockedPrompts(state.redis, state.s.namespace).add(pid)
    return web.json_response({"blocked": pid}, status=201)


async def metrics(request: web.Request) -> web.Response:
    body = await request.app[STATE].metrics_text()
    return web.Response(
        body=body,
        content_type="text/plain",
        charset="utf-8",
        headers={"X-Content-Type": "text/plain; version=0.0.4"},
    )


async def openapi(request: web.Request) -> web.Response:
    return web.json_response(OPENAPI)


async def dashboard(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "dashboard.html")


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "JSON object expected"}', content_type="application/json"
        )
    return body


async def _poll_forever(app: web.Application) -> None:
    state, s = app[STATE], app[SETTINGS]
    loop = asyncio.get_running_loop()
    while True:
        await loop.run_in_executor(None, state.poll_lag)
        try:
            await state.stats()  # feeds the throughput history
        except Exception:  # noqa: BLE001 - Redis down: /readyz says so
            pass
        await asyncio.sleep(s.lag_poll_s)


async def _lifecycle(app: web.Application):  # noqa: ANN202 - aiohttp cleanup context
    s = app[SETTINGS]
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    app[STATE] = OpsState(s, redis)
    task = asyncio.create_task(_poll_forever(app))
    yield
    task.cancel()
    app[STATE].monitor.close()
    await redis.aclose()


class _ResultsProducer:
    """The Kafka producer of the webhook receivers, started on first use (the ops API must come
    up, and report, while the broker is down) and stopped with the app."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def publish(self, results: list[AnnotationResult]) -> None:
        async with self._lock:
            if self.producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.s.kafka_bootstrap, acks="all")
                await producer.start()
                self.producer = producer
        await make_results_publisher(self.producer, self.s.topic_results)(results)

    async def close(self, app: web.Application) -> None:
        if self.producer is not None:
            await self.producer.stop()


def build_ops_app(s: Settings) -> web.Application:
    app = web.Application()
    app[SETTINGS] = s
    app.cleanup_ctx.append(_lifecycle)
    results = _ResultsProducer(s)
    add_webhook_routes(app, s, results.publish)
    app.on_cleanup.append(results.close)
    app.add_routes(
        [
            web.get("/", dashboard),
            web.get("/healthz", healthz),
            web.get("/readyz", readyz),
            web.get("/metrics", metrics),
            web.get("/openapi.json", openapi),
            web.get("/api/lag", lag),
            web.get("/api/stats", stats),
            web.get("/api/recent", recent),
            web.get("/api/config", get_config),
            web.put("/api/config/threshold", put_threshold),
            web.post("/api/blocklist", add_blocked),
        ]
    )
    return app


def run_ops(s: Settings) -> None:
    web.run_app(build_ops_app(s), host=s.ops_host, port=s.ops_port, print=None)


def _op(summary: str, write: bool = False, body: dict | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {"200": {"description": "OK"}}}
    if write:
        op["security"] = [{"bearer": []}]
        op["responses"]["401"] = {"description": "missing or wrong bearer token; nothing changed"}
        op["responses"]["400"] = {"description": "invalid body"}
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


def _webhook(tool: str, check: str) -> dict[str, Any]:
    return {
        "summary": f"{tool} annotation events -> annotations.results (docs/webhooks.md); "
        f"verified by {check}",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {}}}},
        "responses": {
            "200": {"description": '{"accepted": n}: the results are on the topic'},
            "400": {"description": "not a JSON object"},
            "401": {"description": "not verified (or the source's secret is not configured)"},
            "413": {"description": "body too large"},
            "422": {"description": "no usable prompt_id"},
            "503": {"description": "publishing failed; retry"},
        },
    }


OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Flywheel ops API", "version": "1.0"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/healthz": {"get": _op("Liveness")},
        "/readyz": {
            "get": _op("Readiness: Redis answers and the last lag poll succeeded (503 otherwise)")
        },
        "/metrics": {"get": _op("Prometheus exposition: lag per partition, cluster counters")},
        "/api/lag": {
            "get": _op("Lag per partition in messages and seconds, status, recent history")
        },
        "/api/stats": {
            "get": _op(
                "Outputs by outcome and reason, index sizes, coverage, throughput, diversity "
                "(accepted window by topic cluster, synthetic share, feedback weights, blocklist)"
            )
        },
        "/api/recent": {"get": _op("Recently accepted prompts (already redacted)")},
        "/api/config": {"get": _op("Configured threshold and operator overrides")},
        "/api/config/threshold": {
            "put": _op(
                "Override the near-duplicate threshold",
                True,
                {
                    "type": "object",
                    "required": ["near_dup_threshold"],
                    "properties": {
                        "near_dup_threshold": {
                            "type": "number",
                            "exclusiveMinimum": 0,
                            "maximum": 1,
                        }
                    },
                },
            )
        },
        "/api/blocklist": {
            "post": _op(
                "Block a prompt_id (its exact text is then rejected as blocklisted)",
                True,
                {
                    "type": "object",
                    "required": ["prompt_id"],
                    "properties": {
                        "prompt_id": {"type": "string", "minLength": 32, "maxLength": 32}
                    },
                },
            )
        },
        "/webhooks/label-studio": {"post": _webhook("Label Studio", "X-Flywheel-Secret header")},
        "/webhooks/argilla": {
            "post": _webhook("Argilla", "Standard Webhooks signature (webhook-signature)")
        },
    },
}
