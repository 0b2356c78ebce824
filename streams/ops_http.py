"""``flywheel ops``: the HTTP ops API and the live dashboard (aiohttp).

Reads of counters and lag are open; reads that serve prompt text (/api/recent) need
``Authorization: Bearer <FLYWHEEL_OPS_READ_TOKEN>`` (or the write token), endpoints that change
behaviour need ``Bearer <FLYWHEEL_OPS_TOKEN>``; both answer 401 without it. With Redis down the
endpoints that read it answer 503 with the reason; /metrics is always served
(``flywheel_ops_backend_up``). /openapi.json (``streams/openapi/``) describes all.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import re
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as aioredis
from aiohttp import web
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from services.clean.guards import BlockedPrompts
from services.contract.records import AnnotationResult, GapRecord
from services.diversity.gaps import TargetRefused
from services.keys import RECENT_MAX
from services.ops.overrides import OverrideRefused, validate_override
from services.ops.read_model import OpsState
from services.settings import Settings
from services.state.evalsets import RedisEvalsets
from streams.openapi.ops import OPENAPI, PROMPT_ID_PATTERN
from streams.webhooks_http import add_webhook_routes, make_results_publisher

STATIC = Path(__file__).parent / "static"
STATE: web.AppKey[OpsState] = web.AppKey("state", OpsState)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
SHUTDOWN_S = 2.0  # the longest wait for a lag poll or a client to close on shutdown
PRODUCER_START_S = 10.0  # a broker that does not answer: the request fails, not hangs
log = logging.getLogger(__name__)
_PROMPT_ID = re.compile(PROMPT_ID_PATTERN)
_T = TypeVar("_T")


def _error(cls: type[web.HTTPError], message: str, **kw: Any) -> web.HTTPError:
    return cls(text=json.dumps({"error": message}), content_type="application/json", **kw)


def _bearer(request: web.Request, *tokens: str) -> bool:
    given = request.headers.get("Authorization", "")
    return any(tok and hmac.compare_digest(given, f"Bearer {tok}") for tok in tokens)


def _require_token(request: web.Request) -> None:
    if not _bearer(request, request.app[SETTINGS].ops_token.get_secret_value()):
        raise _error(web.HTTPUnauthorized, "bearer token required", headers=_CHALLENGE)


def _require_read_token(request: web.Request) -> None:
    """Prompt text: the read token, or the write token (who may change things may read)."""
    s = request.app[SETTINGS]
    tokens = (s.ops_read_token.get_secret_value(), s.ops_token.get_secret_value())
    if not _bearer(request, *tokens):
        raise _error(web.HTTPUnauthorized, "read token required", headers=_CHALLENGE)


_CHALLENGE = {"WWW-Authenticate": "Bearer"}


@web.middleware
async def _backends(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Redis down or slow: 503 with the error's type (its text may name hosts; never a body)."""
    try:
        return await handler(request)
    except (RedisError, OSError) as exc:  # OSError includes TimeoutError
        return web.json_response({"error": f"redis unavailable: {type(exc).__name__}"}, status=503)


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    state = request.app[STATE]
    problems = []
    try:
        await state.redis.ping()
    except Exception as exc:  # any failure is a problem to report
        problems.append(f"redis: {type(exc).__name__}")
    if state.error or not state.last_poll:
        problems.append(f"kafka: {state.error or 'not polled yet'}")
    body = {"ready": not problems, "problems": problems}
    return web.json_response(body, status=200 if not problems else 503)


async def lag(request: web.Request) -> web.Response:
    """200 with the table; 503 with status UNKNOWN (no poll yet) or ERROR (the poll failed)."""
    state = request.app[STATE]
    view = state.lag_view()
    if view["status"] in ("UNKNOWN", "ERROR"):
        return web.json_response({**view, "partitions": []}, status=503)
    return web.json_response(view)


async def stats(request: web.Request) -> web.Response:
    return web.json_response(await request.app[STATE].stats())


def recent_count(raw: str | None) -> int:
    """``n`` of /api/recent: decimal digits only, 1..RECENT_MAX (``1e3``, ``abc``, NUL: 400)."""
    if raw is None:
        return 20
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= RECENT_MAX):
        raise _error(web.HTTPBadRequest, f"n must be an integer from 1 to {RECENT_MAX}")
    return int(raw)


async def recent(request: web.Request) -> web.Response:
    _require_read_token(request)
    n = recent_count(request.query.get("n"))
    return web.json_response(await request.app[STATE].recent(n))


async def get_evalsets(request: web.Request) -> web.Response:
    """The registered evaluation sets with how often traffic copied them (names and counts)."""
    state = request.app[STATE]
    sets = await RedisEvalsets(state.redis, state.s.namespace).listing()
    return web.json_response({"evalsets": sets})


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
    try:
        value = validate_override("near_dup_threshold", body.get("near_dup_threshold"))
    except OverrideRefused as exc:
        raise _error(web.HTTPUnprocessableEntity, str(exc)) from None
    await request.app[STATE].set_threshold(value)
    return web.json_response({"near_dup_threshold": value})


async def add_blocked(request: web.Request) -> web.Response:
    _require_token(request)
    body = await _json(request)
    pid = body.get("prompt_id")
    if not isinstance(pid, str) or not _PROMPT_ID.fullmatch(pid):
        raise _error(web.HTTPUnprocessableEntity, "prompt_id must be 32 lowercase hex digits")
    state = request.app[STATE]
    await BlockedPrompts(state.redis, state.s.namespace).add(pid)
    return web.json_response({"blocked": pid}, status=201)


async def get_gaps(request: web.Request) -> web.Response:
    return web.json_response(await request.app[STATE].diversity.gaps_view())


async def put_gap_target(request: web.Request) -> web.Response:
    """``{"shares": {"<cluster>": share, ...}}`` summing to 1, or ``{"uniform": true}``."""
    _require_token(request)
    body = await _json(request)
    try:
        target = await request.app[STATE].diversity.set_gap_target(body)
    except TargetRefused as exc:
        raise _error(web.HTTPUnprocessableEntity, str(exc)) from None
    shares = None if target.shares is None else {str(c): v for c, v in target.shares.items()}
    return web.json_response({"topics_version": target.version, "shares": shares})


async def publish_gaps(request: web.Request) -> web.Response:
    """Publish the gaps now (as the timer does); 503 when the broker cannot take them."""
    _require_token(request)
    try:
        records, waiting = await _publish(request.app)
    except (KafkaError, TimeoutError) as exc:
        return web.json_response({"error": f"kafka unavailable: {type(exc).__name__}"}, status=503)
    body: dict[str, Any] = {"published": len(records), "gaps": [r.gap_id for r in records]}
    if waiting:
        body["waiting"] = waiting
    return web.json_response(body)


async def get_agreement(request: web.Request) -> web.Response:
    """Per-annotator agreement names annotators: the read token."""
    _require_read_token(request)
    report = await request.app[STATE].diversity.agreement()
    report["clusters"] = {str(c): v for c, v in report["clusters"].items()}
    report["alpha"]["clusters"] = {str(c): v for c, v in report["alpha"]["clusters"].items()}
    return web.json_response(report)


async def _publish(app: web.Application) -> tuple[list[GapRecord], str | None]:
    records, waiting = await app[STATE].diversity.publish_gaps(app[PRODUCER].send_gap)
    if records:
        log.info("published %d coverage gaps (%s)", len(records), records[0].topics_version)
    return records, waiting


async def _gaps_forever(app: web.Application) -> None:
    """Every ``gaps_interval_s``: one ops replica (the Redis lock) publishes the gaps. A broker
    or Redis that is down costs a warning and the next interval; curation never waits on it."""
    interval = app[SETTINGS].gaps_interval_s
    while True:
        await asyncio.sleep(interval)
        try:
            if await app[STATE].diversity.gaps.lock(interval * 0.9):
                await _publish(app)
        except Exception as exc:  # any failure: try again next interval
            log.warning("coverage gaps not published: %s", type(exc).__name__)


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
        raise _error(web.HTTPBadRequest, "JSON object expected")
    return body


async def in_daemon_thread(fn: Callable[[], _T]) -> _T:
    """``fn()`` in a daemon thread: unlike the default executor, whose threads are joined at
    exit, a kafka-python call stuck on a dead broker cannot hold up shutdown (it took 26 s)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[_T] = loop.create_future()

    def settle(result: Any, exc: BaseException | None) -> None:
        if future.done():
            return
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)

    def run() -> None:
        result, error = None, None
        try:
            result = fn()
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="flywheel-ops-blocking", daemon=True).start()
    return await future


async def _poll_forever(app: web.Application) -> None:
    state, s = app[STATE], app[SETTINGS]
    while True:
        await in_daemon_thread(state.poll_lag)
        with contextlib.suppress(RedisError, OSError):
            await state.stats()  # feeds the throughput history; /readyz reports Redis
        await asyncio.sleep(s.lag_poll_s)


async def _lifecycle(app: web.Application):
    s = app[SETTINGS]
    redis = aioredis.from_url(
        s.redis_url.get_secret_value(), socket_connect_timeout=2, socket_timeout=5
    )
    app[STATE] = OpsState(s, redis)
    tasks = [asyncio.create_task(_poll_forever(app))]
    if s.gaps_interval_s > 0:
        tasks.append(asyncio.create_task(_gaps_forever(app)))
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(in_daemon_thread(app[STATE].close), SHUTDOWN_S)
    await redis.aclose()


class _Producer:
    """The ops server's Kafka producer (annotation results of the webhook receivers, gap
    records), started on first use (the ops API must come up, and report, while the broker is
    down) and stopped with the app."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self.producer is None:
                producer = AIOKafkaProducer(bootstrap_servers=self.s.kafka_bootstrap, acks="all")
                try:
                    await asyncio.wait_for(producer.start(), PRODUCER_START_S)
                except BaseException:
                    with contextlib.suppress(Exception):
                        await producer.stop()
                    raise
                self.producer = producer
        return self.producer

    async def publish(self, results: list[AnnotationResult]) -> None:
        await make_results_publisher(await self.started(), self.s.topic_results)(results)

    async def send_gap(self, key: str, record: GapRecord) -> None:
        producer = await self.started()
        value = record.model_dump_json().encode("utf-8")
        await producer.send_and_wait(self.s.topic_gaps, value=value, key=key.encode("utf-8"))

    async def close(self, app: web.Application) -> None:
        if self.producer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.producer.stop(), SHUTDOWN_S)


PRODUCER: web.AppKey[_Producer] = web.AppKey("producer", _Producer)


def build_ops_app(s: Settings) -> web.Application:
    app = web.Application(middlewares=[_backends])
    app[SETTINGS] = s
    app.cleanup_ctx.append(_lifecycle)
    producer = _Producer(s)
    app[PRODUCER] = producer
    add_webhook_routes(app, s, producer.publish)
    app.on_cleanup.append(producer.close)
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
            web.get("/api/gaps", get_gaps),
            web.put("/api/gaps/target", put_gap_target),
            web.post("/api/gaps/publish", publish_gaps),
            web.get("/api/agreement", get_agreement),
            web.get("/api/evalsets", get_evalsets),
        ]
    )
    return app


def run_ops(s: Settings) -> None:
    web.run_app(
        build_ops_app(s), host=s.ops_host, port=s.ops_port, print=None, shutdown_timeout=SHUTDOWN_S
    )
