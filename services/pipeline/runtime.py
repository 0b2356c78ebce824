"""Wires the services of a worker together: Redis, the model, the stages and their runners."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

import redis.asyncio as aioredis

from services.clean.guards import BlockedPrompts, FloodDetector, RedisRateLimiter
from services.dedup.index import configure_faiss_threads
from services.embed.embedder import Embedder
from services.ops.metrics import INDEX_SIZE, StatsBook, worker_id
from services.pipeline.curate import CurateStage
from services.pipeline.feedback import FeedbackPolicy, FeedbackStage, FeedbackStore
from services.pipeline.ingest import IN_TS_HEADER, Guards, IngestStage
from services.pipeline.runner import InMsg, Out, Sender, StageRunner
from services.settings import Settings
from services.state.ledger import EmitLedger
from services.state.stores import RedisSeenStore, RedisVectorLog

log = logging.getLogger(__name__)

RETRY_MAX_S = 10.0


class Runtime:
    """Built once per worker process by ``setup()``; both agents share it."""

    def __init__(self, settings: Settings, send: Sender) -> None:
        self.s = settings
        self.send = send
        self._lock = asyncio.Lock()
        self.ready = False
        self.stats = StatsBook()
        self._published = 0.0
        self._recent: list[bytes] = []

    async def _apply_overrides(self) -> None:
        """Operators change the threshold through the ops API; it lands in a Redis hash."""
        raw = await self.redis.hget(f"{self.s.namespace}:overrides", "near_dup_threshold")
        self.curate.threshold = float(raw) if raw else self.s.near_dup_threshold

    async def _account(
        self, stage: str, msgs: Sequence[InMsg], outs: list[Out], secs: float
    ) -> None:
        now_ms = time.time() * 1000
        latencies = []
        for out in outs:
            if out.label != "forwarded":
                in_ts = dict(out.headers).get(IN_TS_HEADER)
                if in_ts:
                    latencies.append((out.label.partition(":")[0], (now_ms - int(in_ts)) / 1000))
            if out.label == "accepted":
                self._recent.append(out.value)
        del self._recent[:-50]
        self.stats.record_batch(stage, len(msgs), [o.label for o in outs], secs, latencies)
        if time.monotonic() - self._published >= self.s.stats_interval_s:
            try:
                await self.publish()
            except Exception as exc:  # noqa: BLE001 - stats are best effort; the batch is done
                log.warning("could not publish stats: %s", exc)

    async def publish(self) -> None:
        """Counters and index sizes to Redis for the ops API; recent accepted prompts (already
        redacted) to a capped list. Called after batches and by a timer."""
        sizes = {name: len(ix) for name, ix in self.curate.indexes.items()}
        sizes.update({name: len(ix) for name, ix in self.curate.lexical.items()})
        for name, size in sizes.items():
            INDEX_SIZE.labels(name).set(size)
        ns = self.s.namespace
        async with self.redis.pipeline(transaction=False) as pipe:
            snap = self.stats.snapshot(
                sizes, self.ingest.counts["embedded"], self.ingest.embed_seconds
            )
            pipe.set(f"{ns}:stats:{worker_id()}", snap, ex=60)
            if self._recent:
                pipe.lpush(f"{ns}:recent", *self._recent[-50:])
                pipe.ltrim(f"{ns}:recent", 0, 49)
            await pipe.execute()
        self._recent.clear()
        self._published = time.monotonic()

    async def setup(self) -> Runtime:
        async with self._lock:
            if self.ready:
                return self
            s = self.s
            self.redis = aioredis.from_url(s.redis_url.get_secret_value())
            await self.redis.ping()
            loop = asyncio.get_running_loop()
            self.embedder = Embedder(
                s.embedding_model, s.embedding_backend, s.state_dir / "models", s.embed_batch_size
            )
            await loop.run_in_executor(None, self.embedder.setup)
            guards = Guards(
                BlockedPrompts(self.redis, s.namespace),
                RedisRateLimiter(self.redis, s.namespace, s.rate_capacity, s.rate_refill_per_s),
                FloodDetector(self.redis, s.namespace, s.flood_window_s, s.flood_max),
            )
            self.ingest = IngestStage(
                s, RedisSeenStore(self.redis, s.namespace, s.seen_ttl_s), self.embedder, guards
            )
            configure_faiss_threads(s.faiss_threads)
            vectors = RedisVectorLog(self.redis, s.namespace, self.embedder.dim)
            self.curate = CurateStage(s, self.redis, vectors, self.embedder.dim)
            self.feedback = FeedbackStage(
                s,
                FeedbackStore(
                    self.redis,
                    s.namespace,
                    vectors,
                    FeedbackPolicy(s.feedback_prior, s.feedback_weight_min, s.feedback_weight_max),
                ),
            )
            self.runners = {
                "ingest": StageRunner(
                    "ingest",
                    EmitLedger(self.redis, s.namespace, "ingest"),
                    self.send,
                    s.kafka_bootstrap,
                    [s.topic_curate, s.topic_rejected, s.topic_dlq],
                    s.fault_produce_delay_s,
                ),
                "curate": StageRunner(
                    "curate",
                    EmitLedger(self.redis, s.namespace, "curate"),
                    self.send,
                    s.kafka_bootstrap,
                    [s.topic_annotation, s.topic_rejected, s.topic_dlq],
                    s.fault_produce_delay_s,
                ),
                "feedback": StageRunner(
                    "feedback",
                    EmitLedger(self.redis, s.namespace, "feedback"),
                    self.send,
                    s.kafka_bootstrap,
                    [s.topic_dlq],
                ),
            }
            self.ready = True
            log.info("flywheel runtime ready (backend=%s)", s.embedding_backend)
            return self

    async def run(self, stage: str, msgs: Sequence[InMsg]) -> list[Out]:
        """Run a micro-batch until it succeeds. Failures (Redis or Kafka down) are retried with
        backoff: the batch is replayed whole, which the ledger makes safe."""
        process = {
            "ingest": self.ingest.process,
            "curate": self.curate.process,
            "feedback": self.feedback.process,
        }[stage]
        delay = 0.2
        while True:
            try:
                t0 = time.perf_counter()
                if stage == "curate":
                    await self._apply_overrides()
                outs = await self.runners[stage].run_batch(msgs, process)
                if self.s.metrics_enabled:
                    await self._account(stage, msgs, outs, time.perf_counter() - t0)
                return outs
            except Exception:
                log.exception("%s batch of %d failed; retrying in %.1fs", stage, len(msgs), delay)
                if stage == "curate":
                    self.curate.reset()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
