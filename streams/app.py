"""The Faust app: topics and the four agents.

``ingest`` consumes ``chat.events``, ``curate`` the internal curate topic, ``feedback`` the
annotation results (``annotations.results``) and ``erasure`` the erasure requests
(``privacy.erasure``). Each takes
a micro-batch (``take_events`` with a time bound), hands it to the service runtime and moves on.
"""

from __future__ import annotations

import logging
import logging.config
import os
import threading
from collections.abc import AsyncIterator, Sequence
from typing import Any, cast

import faust

from services.contract.envelope import InMsg
from services.ops.logs import capture_stdio, logging_config
from services.ops.metrics import REBALANCES
from services.pipeline.runtime import Runtime
from services.settings import Settings

log = logging.getLogger(__name__)

# From SIGTERM to exit at most this long, whatever the broker and Redis are doing. Past it the
# process exits without committing: the batches in flight are replayed by the next owner of
# their partitions and the ledger keeps their outputs exactly once, as after a crash
# (docs/architecture.md, "Exactly-once outputs"). Kubernetes waits longer
# (terminationGracePeriodSeconds in k8s/base, docs/runbook.md).
SHUTDOWN_DEADLINE_S = 8.0


class FlywheelApp(faust.App):
    """The Faust app with a shutdown deadline. Faust stops the app first when the worker is
    signalled; with the broker gone its consumer thread alone waits 60 s to stop, so the
    deadline starts there."""

    async def on_stop(self) -> None:
        exit_after(SHUTDOWN_DEADLINE_S)
        await super().on_stop()


def exit_after(seconds: float) -> None:
    """Ends the process ``seconds`` from now unless it has exited by then (a daemon thread: it
    never holds the process up itself)."""

    def deadline() -> None:
        log.warning(
            "shutdown took longer than %.0f s; exiting now (work in flight is replayed)", seconds
        )
        logging.shutdown()
        os._exit(0)

    timer = threading.Timer(seconds, deadline)
    timer.name = "flywheel-shutdown-deadline"
    timer.daemon = True
    timer.start()


def _msg(event: Any) -> InMsg:
    m = event.message
    return InMsg(
        m.topic, m.partition, m.offset, m.key, m.value, m.timestamp and int(m.timestamp * 1000)
    )


def _raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """Bytes in, bytes out: decoding is the ingest service's job, so bad input reaches it."""
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
    )


def _take(stream: faust.StreamT, n: int, within: float) -> AsyncIterator[Sequence[Any]]:
    """Micro-batches of events (with their messages); acked only after the loop body ran."""
    return cast(faust.Stream, stream).take_events(n, within=within)


def limit_fetch_wait(ms: int) -> None:
    """Faust creates its consumers with ``fetch_max_wait_ms=1500`` and no setting for it. A broker
    that holds a fetch until that wait is over when few bytes are ready (Tansu, the embedded
    default) then adds up to 1.5 s per consumer hop to every event's latency; Apache Kafka
    answers as soon as ``fetch_min_bytes`` (1) is there, so a lower wait costs it nothing but
    more frequent empty fetches when idle. Set once per process, before the app's consumers
    are created (docs/benchmarks.md, latency at a steady rate)."""
    import aiokafka

    cls: Any = aiokafka.AIOKafkaConsumer
    if getattr(cls, "_flywheel_fetch_wait", None) == ms:
        return
    init = getattr(cls, "_flywheel_init", cls.__init__)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs["fetch_max_wait_ms"] = ms
        init(self, *args, **kwargs)

    cls._flywheel_init = init
    cls._flywheel_fetch_wait = ms
    cls.__init__ = __init__


def build_app(settings: Settings) -> faust.App:
    limit_fetch_wait(settings.fetch_max_wait_ms)
    datadir = settings.state_dir / "faust"
    datadir.mkdir(parents=True, exist_ok=True)  # Faust creates only the last level
    logs = logging_config(settings.log_format, settings.log_level)
    logging.config.dictConfig(logs)  # Faust applies it again when the worker starts
    capture_stdio()
    app = FlywheelApp(
        settings.app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=str(datadir / "{conf.id}-data"),
        web_enabled=False,
        topic_disable_leader=True,
        producer_acks=-1,
        producer_max_request_size=8 * 1024 * 1024,
        consumer_max_fetch_size=8 * 1024 * 1024,
        consumer_auto_offset_reset="earliest",
        broker_session_timeout=settings.session_timeout_s,
        broker_heartbeat_interval=min(3.0, settings.session_timeout_s / 3),
        logging_config=logs,
        # records as services/ops/logs.py formats them: Faust's redirection would log every
        # write to stdout/stderr on its own (a traceback a token per line)
        worker_redirect_stdouts=False,
        # on shutdown, do not wait for a batch the broker or Redis holds up: it is replayed
        stream_wait_empty=False,
    )
    events = _raw_topic(app, settings.topic_events)
    curate_items = _raw_topic(app, settings.topic_curate)
    results = _raw_topic(app, settings.topic_results)
    erasures = _raw_topic(app, settings.topic_erasure)

    async def send(
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: list,
        partition: int | None = None,
    ) -> Any:
        return await app.producer.send(topic, key, value, partition, None, headers)

    runtime = Runtime(settings, send)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def _count_rebalance(sender: Any, *args: Any, **kwargs: Any) -> None:
        REBALANCES.inc()  # every rebalance starts by revoking (possibly no) partitions

    n, within = settings.batch_max, settings.batch_within_s

    @app.timer(settings.stats_interval_s)
    async def publish_stats() -> None:
        if runtime.ready:
            try:
                await runtime.publish()
            except Exception as exc:
                log.warning("could not publish stats: %s", exc)

    @app.agent(events)
    async def ingest(stream: faust.StreamT) -> None:
        await runtime.setup()
        async for batch in _take(stream, n, within):
            await runtime.run(runtime.worker.ingest, [_msg(e) for e in batch])

    @app.agent(curate_items)
    async def curate(stream: faust.StreamT) -> None:
        await runtime.setup()
        async for batch in _take(stream, 2 * n, within):
            await runtime.run(runtime.worker.curate, [_msg(e) for e in batch])

    @app.agent(results)
    async def feedback(stream: faust.StreamT) -> None:
        await runtime.setup()
        async for batch in _take(stream, n, within):
            await runtime.run(runtime.worker.feedback, [_msg(e) for e in batch])

    @app.agent(erasures)
    async def erasure(stream: faust.StreamT) -> None:
        await runtime.setup()
        async for batch in _take(stream, n, within):
            await runtime.run(runtime.worker.erasure, [_msg(e) for e in batch])

    return app
