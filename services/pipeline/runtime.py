"""Runs a worker's batches; services/pipeline/wiring.py builds what it runs.

``run(stage, msgs)`` is the one loop every agent calls. A failing batch is handled by the kind
of its error (``services.errors``):

- transient (Redis or the broker unavailable): the batch is retried whole with exponential
  backoff, one log line per step; the ledger makes the replay safe. While a stage retries,
  ``flywheel_stage_retrying_seconds`` says for how long; past ``unready_after_s`` the worker
  reports not ready, past ``exit_after_s`` it exits non-zero so its supervisor restarts it;
- ``Fatal`` (a ``ConfigError``, or ``StateLost``: an index that can no longer be rebuilt): the
  worker cannot go on as it is, and dead-lettering would throw good input away, so it logs why
  and exits with ``EXIT_CODE_FATAL`` (its input stays in Kafka for when it is fixed);
- anything else may follow one message: the batch is bisected until the failing message stands
  alone, which is tried ``poison_tries`` times and then dead-lettered (``processing_error``,
  with the exception's type and message), so one bad record never stops a stage.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from services.contract.envelope import IN_TS_HEADER, InMsg, Out, Sender
from services.embed.embedder import Embedder
from services.errors import Fatal, is_transient
from services.keys import RECENT_MAX, STATS_TTL_S, Keys
from services.ops.metrics import (
    INDEX_SIZE,
    POISON,
    STAGE_RETRYING,
    WORKER_READY,
    StatsBook,
    worker_id,
)
from services.pipeline.runner import StageRunner
from services.pipeline.stage import Stage
from services.pipeline.wiring import Worker, build_worker, load_embedder
from services.settings import Settings

log = logging.getLogger(__name__)

RETRY_FIRST_S = 0.2
RETRY_MAX_S = 10.0
# Input timestamps come from producers: outside this window of the present they are clocks gone
# wrong (or an attacker's), and would poison the latency histogram.
LATENCY_WINDOW_S = 7 * 24 * 3600.0
EXIT_CODE_STUCK = 75  # EX_TEMPFAIL: a dependency stayed down
EXIT_CODE_FATAL = 78  # EX_CONFIG: the worker cannot go on as it is (services.errors.Fatal)


class Runtime:
    """Built once per worker process by ``setup()``; every agent shares it. ``stages`` and
    ``runners`` are the worker's once set up (a test may set them directly)."""

    def __init__(self, settings: Settings, send: Sender) -> None:
        self.s = settings
        self.send = send
        self.keys = Keys(settings.namespace)
        self.ready = False
        self.stats = StatsBook()
        self.stages: list[Stage] = []
        self.runners: dict[str, StageRunner] = {}
        self._worker: Worker | None = None
        self._embedder: Embedder | None = None  # loaded once, kept across set-up retries
        self._lock = asyncio.Lock()
        self._published = 0.0
        self._recent: list[bytes] = []
        self._retrying: dict[str, float] = {}  # stage -> monotonic time its retries began
        WORKER_READY.set(0)

    @property
    def worker(self) -> Worker:
        if self._worker is None:
            raise RuntimeError("Runtime.setup() was not awaited")
        return self._worker

    # ----- set-up

    async def setup(self) -> Runtime:
        async with self._lock:
            if self._worker is not None:
                return self
            worker = await self._until_up("set-up", self._build)
            self._worker, self.stages, self.runners = worker, worker.stages, worker.runners
            self.ready = True
            WORKER_READY.set(1)
            log.info("flywheel runtime ready (backend=%s)", self.s.embedding_backend)
            return self

    async def _build(self) -> Worker:
        if self._embedder is None:
            self._embedder = await asyncio.to_thread(load_embedder, self.s)
        return await build_worker(self.s, self.send, self._embedder)

    # ----- running batches

    async def run(self, stage: Stage, msgs: Sequence[InMsg]) -> list[Out]:
        """Run a micro-batch of ``stage`` until every message has its output (see the module
        docstring for what happens on failure)."""
        return await self._run(stage, list(msgs))

    async def _run(self, stage: Stage, msgs: list[InMsg]) -> list[Out]:
        tries = 0
        while True:
            t0 = time.perf_counter()
            try:
                await stage.before_batch()
                outs = await self.runners[stage.name].run_batch(msgs, stage.process)
            except Fatal as exc:
                _stop(stage.name, exc)
            except Exception as exc:
                stage.reset()
                if is_transient(exc):
                    await self._backoff(stage.name, len(msgs), exc)
                    continue
                tries += 1
                if len(msgs) > 1:
                    log.warning(
                        "%s: a batch of %d failed (%s); bisecting it to find the message",
                        stage.name,
                        len(msgs),
                        type(exc).__name__,
                    )
                    mid = len(msgs) // 2
                    return await self._run(stage, msgs[:mid]) + await self._run(stage, msgs[mid:])
                if tries >= self.s.poison_tries:
                    return await self._poison(stage, msgs[0], exc)
                log.warning(
                    "%s: %s failed (%s), try %d of %d",
                    stage.name,
                    msgs[0].where,
                    type(exc).__name__,
                    tries,
                    self.s.poison_tries,
                )
                await asyncio.sleep(RETRY_FIRST_S * tries)
                continue
            self._recovered(stage.name)
            await self._account(stage.name, msgs, outs, time.perf_counter() - t0)
            return outs

    async def _poison(self, stage: Stage, msg: InMsg, exc: Exception) -> list[Out]:
        """Dead-letter the one message that keeps failing, through the exactly-once runner."""
        POISON.labels(stage.name).inc()
        log.error(
            "%s: %s failed %d times (%s); dead-lettered as processing_error",
            stage.name,
            msg.where,
            self.s.poison_tries,
            type(exc).__name__,
        )
        detail = f"{type(exc).__name__}: {exc}"

        async def process(msgs: Sequence[InMsg]) -> list[Out]:
            return [stage.dead_letter(m, "processing_error", detail) for m in msgs]

        return await self._until_up(
            stage.name, lambda: self.runners[stage.name].run_batch([msg], process)
        )

    async def _until_up(self, what: str, attempt):
        """``await attempt()`` until no transient error stops it (other errors propagate)."""
        while True:
            try:
                result = await attempt()
            except Fatal as exc:
                _stop(what, exc)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self._backoff(what, 0, exc)
                continue
            self._recovered(what)
            return result

    async def _backoff(self, what: str, n: int, exc: BaseException) -> None:
        now = time.monotonic()
        since = self._retrying.setdefault(what, now)
        waited = now - since
        STAGE_RETRYING.labels(what).set(waited)
        if waited > self.s.exit_after_s:
            log.critical(
                "%s: a dependency has been unavailable for %.0fs (%s); exiting with %d",
                what,
                waited,
                _brief(exc),
                EXIT_CODE_STUCK,
            )
            logging.shutdown()
            os._exit(EXIT_CODE_STUCK)
        if waited > self.s.unready_after_s and self.ready:
            self.ready = False
            WORKER_READY.set(0)
        steps = sum(1 for _ in _steps(waited))
        delay = min(RETRY_FIRST_S * 2**steps, RETRY_MAX_S)
        log.warning(
            "%s%s: %s; retrying in %.1fs (unavailable for %.0fs)",
            what,
            f" batch of {n}" if n else "",
            _brief(exc),
            delay,
            waited,
        )
        await asyncio.sleep(delay)

    @property
    def retrying(self) -> dict[str, float]:
        """Seconds each retrying stage (or the set-up) has been retrying."""
        now = time.monotonic()
        return {what: now - since for what, since in self._retrying.items()}

    def _recovered(self, what: str) -> None:
        if self._retrying.pop(what, None) is not None:
            STAGE_RETRYING.labels(what).set(0)
            log.info("%s: recovered", what)
        if not self._retrying and self.stages and not self.ready:
            self.ready = True
            WORKER_READY.set(1)

    # ----- stats for the ops API

    async def _account(
        self, stage: str, msgs: Sequence[InMsg], outs: list[Out], secs: float
    ) -> None:
        now_ms = time.time() * 1000
        latencies = []
        for out in outs:
            if out.label != "forwarded":
                in_ts = dict(out.headers).get(IN_TS_HEADER)
                latency = input_latency(now_ms, in_ts)
                if latency is not None:
                    latencies.append((out.label.partition(":")[0], latency))
            if out.label == "accepted" and out.value is not None:
                self._recent.append(out.value)
        del self._recent[:-RECENT_MAX]
        self.stats.record_batch(stage, len(msgs), [o.label for o in outs], secs, latencies)
        if time.monotonic() - self._published >= self.s.stats_interval_s:
            try:
                await self.publish()
            except Exception as exc:
                log.warning("could not publish stats: %s", _brief(exc))

    async def publish(self) -> None:
        """Counters and index sizes to Redis for the ops API; recent accepted prompts (already
        redacted) to a capped list. Called after batches and by a timer."""
        worker = self._worker
        if worker is None:
            return
        indexes = worker.curate.indexes
        sizes = {name: len(ix) for name, ix in indexes.vectors.items()}
        sizes.update({name: len(ix) for name, ix in indexes.lexical.items()})
        for name, size in sizes.items():
            INDEX_SIZE.labels(name).set(size)
        recent = await self._not_erased(worker.redis, self._recent[-RECENT_MAX:])
        async with worker.redis.pipeline(transaction=False) as pipe:
            reader = worker.ingest.reader
            snap = self.stats.snapshot(sizes, reader.texts, reader.seconds)
            pipe.set(self.keys.stats(worker_id()), snap, ex=STATS_TTL_S)
            now = time.time()
            pipe.zadd(self.keys.workers, {worker_id(): now})
            pipe.zremrangebyscore(self.keys.workers, "-inf", now - STATS_TTL_S)
            if recent:
                pipe.lpush(self.keys.recent, *recent)
                pipe.expire(self.keys.recent, self.s.retention_s)
                cutoff = datetime.fromtimestamp(time.time() - self.s.retention_s, UTC)
                pipe.eval(_EXPIRE_RECENT, 1, self.keys.recent, cutoff.strftime("%Y-%m-%dT%H:%M:%S"))
                pipe.ltrim(self.keys.recent, 0, RECENT_MAX - 1)
            await pipe.execute()
        self._recent.clear()
        self._published = time.monotonic()

    async def _not_erased(self, redis: Any, records: list[bytes]) -> list[bytes]:
        """The accepted records not erased since they were accepted (an erasure may have run
        between the acceptance and this publication)."""
        if not records:
            return records
        pids = [json.loads(r).get("prompt_id", "") for r in records]
        hits = await redis.smismember(self.keys.erased, pids)
        return [r for r, hit in zip(records, hits, strict=True) if not hit]


# KEYS: the recent list. ARGV: the oldest accepted_at kept (ISO 8601, UTC). Pops older records
# from the tail (the oldest end); returns how many. The list holds text: retention applies.
_EXPIRE_RECENT = """
local n = 0
while true do
  local e = redis.call('LINDEX', KEYS[1], -1)
  if not e then break end
  local ok, rec = pcall(cjson.decode, e)
  if ok and type(rec.accepted_at) == 'string' and rec.accepted_at >= ARGV[1] then break end
  redis.call('RPOP', KEYS[1])
  n = n + 1
end
return n
"""


def input_latency(now_ms: float, in_ts: bytes | None) -> float | None:
    """Seconds since the input's timestamp; None when there is none or it is implausible."""
    if not in_ts:
        return None
    try:
        secs = (now_ms - int(in_ts)) / 1000
    except ValueError:
        return None
    return max(secs, 0.0) if -60.0 <= secs <= LATENCY_WINDOW_S else None


def _steps(waited: float):
    """Backoff steps already taken after ``waited`` seconds (doubling from RETRY_FIRST_S)."""
    total, step = 0.0, RETRY_FIRST_S
    while total + step <= waited and step < RETRY_MAX_S:
        total += step
        step *= 2
        yield step


def _stop(what: str, exc: Fatal) -> NoReturn:
    log.critical("%s: %s: %s; exiting with %d", what, type(exc).__name__, exc, EXIT_CODE_FATAL)
    logging.shutdown()
    os._exit(EXIT_CODE_FATAL)


def _brief(exc: BaseException) -> str:
    """One line about an error: its type and the first line of its message, capped."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
