"""Following the current topic model, and learning the next one: one home for both, used by
the curate stage, the feedback stage and the ops read model.

``CurrentTopics`` starts from a base model (the shipped v1 centroids, or ``FLYWHEEL_TOPICS_PATH``)
and, before each batch or request, follows the version the workers made current
(``RedisTopics.current``). One failure policy for every reader: a version that cannot be used
(not in Redis, corrupt, centroids of another dimension) is logged once and skipped, and the model
in use stays; a Redis that cannot be reached is not a bad model, so that error propagates (the
runtime retries the batch) and the version is tried again.

``TopicLearner`` adds a batch's acceptances to the shared sample and, when due, trains a model
from it under a lock and makes it current for every worker (``services.diversity.topics``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.diversity.topics import Sample, clusters_for, tag, train
from services.embed.clusters import TopicModel
from services.errors import is_transient
from services.settings import Settings

log = logging.getLogger(__name__)


class TopicVersions(Protocol):
    """Where the current version lives (``services.diversity.topics.RedisTopics``)."""

    async def current(self) -> str | None: ...

    async def load(self, version: str) -> TopicModel: ...


class TopicStore(TopicVersions, Protocol):
    """What learning needs besides (``services.diversity.topics.RedisTopics``)."""

    async def record(self, entries: Sequence[tuple[str, np.ndarray, str]], cap: int) -> int: ...

    async def due(self, accepted: int, first: int, every: int) -> bool: ...

    async def lock(self, ttl_s: int = 120) -> bool: ...

    async def unlock(self) -> None: ...

    async def sample(self, dim: int) -> Sample: ...

    async def swap(
        self, old: TopicModel, new: TopicModel, sample: np.ndarray, accepted: int, tries: int = 5
    ) -> None: ...


class CurrentTopics:
    """The topic model in use. ``versions`` None: the base model only (learning is off)."""

    def __init__(
        self,
        base: TopicModel,
        versions: TopicVersions | None,
        on_change: Callable[[TopicModel], None] = lambda _: None,
        on_failure: Callable[[], None] = lambda: None,
    ) -> None:
        self.model = base
        self.versions = versions
        self.on_change = on_change  # e.g. a gauge of the model in use
        self.on_failure = on_failure  # e.g. a counter of versions that could not be used
        self._failed: str | None = None
        on_change(base)

    @property
    def learned(self) -> TopicModel | None:
        """The model in use when it was learned from the product's prompts (else None: the
        base clusters, which quotas and feedback weights count directly)."""
        return self.model if tag(self.model.version) else None

    async def refresh(self) -> TopicModel:
        if self.versions is None:
            return self.model
        version = await self.versions.current()
        if version is None or version in (self.model.version, self._failed):
            return self.model
        try:
            model = await self.versions.load(version)
            if model.dim != self.model.dim:
                raise ValueError(f"{model.dim}-d centroids, the model is {self.model.dim}-d")
        except Exception as exc:
            if is_transient(exc):
                raise
            self._failed = version
            self.on_failure()
            log.warning(
                "topic model %s not loaded (%s); keeping %s", version, exc, self.model.version
            )
            return self.model
        self.adopt(model)
        log.info("topic model %s in use (%d clusters)", model.version, model.k)
        return model

    def adopt(self, model: TopicModel) -> None:
        self.model = model
        self.on_change(model)


@dataclass(frozen=True)
class LearningPolicy:
    sample: int  # acceptances kept to learn from
    first_after: int  # the first model is trained at this many acceptances
    retrain_every: int
    k: int  # clusters asked for (capped by the sample, ``clusters_for``)
    max_share: float  # the quota share: a model has at least enough clusters to honour it

    @classmethod
    def from_settings(cls, s: Settings) -> LearningPolicy:
        return cls(
            s.topics_sample, s.topics_first_after, s.topics_retrain_every, s.topics_k,
            s.quota_max_share,
        )  # fmt: skip


class TopicLearner:
    def __init__(self, store: TopicStore, policy: LearningPolicy, dim: int) -> None:
        self.store = store
        self.policy = policy
        self.dim = dim

    async def learn(
        self, accepted: Sequence[tuple[str, np.ndarray, str]], current: TopicModel
    ) -> TopicModel | None:
        """Record the acceptances; when due, train a model and make it current for every
        worker. Returns the new model, or None. The acceptances are committed already: a
        failure here is logged and the batch goes on (the next due batch tries again)."""
        if not accepted:
            return None
        p = self.policy
        try:
            count = await self.store.record(accepted, p.sample)
            if not await self.store.due(count, p.first_after, p.retrain_every):
                return None
            if not await self.store.lock():
                return None  # another worker is training
            try:
                sample = await self.store.sample(self.dim)
                k = clusters_for(len(sample.texts), p.k, p.max_share)
                model = await asyncio.to_thread(
                    train, sample.vectors, sample.texts, k, current.model
                )
                await self.store.swap(current, model, sample.vectors, count)
            finally:
                await self.store.unlock()
        except Exception:
            log.exception("topic model training failed; keeping %s", current.version)
            return None
        return model
