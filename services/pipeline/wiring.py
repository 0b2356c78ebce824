"""Wires a worker together from the settings: Redis, the model, the three stages and their
exactly-once runners. ``Runtime`` (services/pipeline/runtime.py) runs batches through what this
builds; nothing here runs a batch.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import redis.asyncio as aioredis

from services.clean.guards import guards
from services.contract.envelope import Sender
from services.dedup.cascade import VectorCache, Verifier
from services.dedup.index import configure_faiss_threads
from services.diversity.current import CurrentTopics, LearningPolicy, TopicLearner
from services.diversity.feedback import FeedbackPolicy
from services.diversity.topics import RedisTopics
from services.embed.clusters import TopicModel
from services.embed.embedder import Embedder
from services.embed.fingerprint import ModelMismatch
from services.embed.preamble import redis_preambles
from services.errors import ConfigError
from services.pipeline.contamination import ContaminationCheck
from services.pipeline.curate.stage import CurateStage
from services.pipeline.erasure import ErasureStage
from services.pipeline.feedback import FeedbackStage
from services.pipeline.ingest import IngestStage
from services.pipeline.runner import StageRunner
from services.pipeline.stage import Stage
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX
from services.state.cascade_store import RedisCascadeStore, retention_s
from services.state.curate_state import RedisCurateState
from services.state.evalsets import RedisEvalsets
from services.state.feedback_store import FeedbackStore
from services.state.ledger import EmitLedger
from services.state.seen import RedisSeenStore
from services.state.vector_log import RedisVectorLog


@dataclass
class Worker:
    """What one worker process runs: its Redis client, its stages (set up) and their runners."""

    redis: aioredis.Redis
    ingest: IngestStage
    curate: CurateStage
    feedback: FeedbackStage
    erasure: ErasureStage
    runners: dict[str, StageRunner]

    @property
    def stages(self) -> list[Stage]:
        return [self.ingest, self.curate, self.feedback, self.erasure]


def load_embedder(s: Settings) -> Embedder:
    """The model of the settings, loaded (seconds: call it off the event loop, once)."""
    return Embedder.from_settings(s).setup()


async def build_worker(s: Settings, send: Sender, embedder: Embedder) -> Worker:
    """Connect to Redis, build the stages with ``embedder`` and set them up. Raises
    ``ConfigError`` when the namespace's vector logs belong to another model; a Redis outage
    raises its own (transient) error."""
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    await redis.ping()
    configure_faiss_threads(s.faiss_threads)
    limit_blas_threads(s.faiss_threads)
    # the namespace's vector logs belong to one model: another model's are refused at start
    vectors = RedisVectorLog(redis, s.namespace, embedder.dim, model=embedder.fingerprint)
    try:
        await vectors.check_model(BLOCKLIST_INDEX)
    except ModelMismatch as exc:
        raise ConfigError(str(exc)) from exc
    base = await asyncio.to_thread(TopicModel.load, s.topics_path or None)
    ingest = IngestStage(
        s,
        RedisSeenStore(redis, s.namespace, s.seen_ttl_s),
        embedder,
        guards(redis, s),
        topics=base,
        event_ids=RedisSeenStore.event_ids(redis, s.namespace, s.seen_ttl_s),
        preambles=redis_preambles(redis, s),
        contamination=(
            ContaminationCheck(RedisEvalsets(redis, s.namespace), embedder, s)
            if s.contamination_check
            else None
        ),
    )
    learned = (
        RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s, s.retention_s)
        if s.topics_learn
        else None
    )
    learner = (
        TopicLearner(learned, LearningPolicy.from_settings(s), embedder.dim) if learned else None
    )
    topics = CurrentTopics(base, learned)  # one per worker: curate and feedback follow it
    cascade_store = None
    if embedder.verifier is not None:  # the cascade backend
        cascade_store = RedisCascadeStore(
            redis, s.namespace, embedder.verifier.fingerprint, retention_s(s)
        )
    curate_state = RedisCurateState(redis, s, vectors, cascade=cascade_store)
    curate = CurateStage(
        s,
        curate_state,
        embedder.dim,
        topics,
        learner,
        cascade=_verifier(s, embedder, cascade_store),
    )
    store = FeedbackStore(redis, s.namespace, vectors, FeedbackPolicy.from_settings(s), topics)
    feedback = FeedbackStage(s, store)
    erasure = ErasureStage(s, curate_state.privacy)
    runners = {}
    for stage in (ingest, curate, feedback, erasure):
        await stage.setup()
        runners[stage.name] = StageRunner(
            stage.name,
            EmitLedger(redis, s.namespace, stage.name),
            send,
            s.kafka_bootstrap,
            stage.output_topics(),
        )
    return Worker(redis, ingest, curate, feedback, erasure, runners)


def _verifier(s: Settings, embedder: Embedder, store: RedisCascadeStore | None) -> Verifier | None:
    """The cascade's verifier of static candidates (None for the other backends)."""
    if embedder.verifier is None or store is None:
        return None
    return Verifier(
        embedder.verifier.encode,
        store,
        VectorCache(s.cascade_cache),
        s.cascade_floor,
        s.cascade_k,
        s.cascade_fallback_threshold,
        s.cascade_sure or None,
    )


def limit_blas_threads(n: int) -> None:
    """numpy's BLAS gets the FAISS thread count too. Its default (one thread per core) made
    each small product of a batch (centroid assignment, 128 x 384 by 384 x 64) wake and spin a
    second thread on a machine whose other core runs the thread pool: 3 ms a batch instead of
    0.1 (python -m bench pipeline --profile)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a transitive dependency (scikit-learn); without it the default stays
        return
    threadpool_limits(limits=n, user_api="blas")
