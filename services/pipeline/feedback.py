"""The feedback agent: annotator decisions steer curation.

For every ``AnnotationResult`` on ``annotations.results``:

- the label is classed ``positive`` (good, accept, needs_edit, ...) or ``negative`` (off_topic,
  reject, spam, unsafe, ...); unknown labels are counted but steer nothing;
- the latest class per (prompt, annotator) is kept, so a redelivered result changes nothing and
  an updated annotation moves its vote instead of adding one (one Lua call, atomic);
- per topic cluster, the acceptance rate becomes a quota weight: the smoothed rate of the
  cluster over the global rate, clamped to [``feedback_weight_min``, ``feedback_weight_max``].
  The curate stage multiplies the cluster's queue share by it (``services/diversity/quota.py``), so
  clusters annotators reject get less of the queue, within bounds;
- ``spam`` and ``unsafe`` (``BLOCK_LABELS``) put the prompt's vector into the blocklist index
  (the Redis vector log ``blocklist``, which every curate stage syncs and checks: near duplicates
  of it are rejected as ``blocklisted``) and its id into the blocked-id set (exact repeats are
  rejected at ingest).

The cluster and vector of an accepted prompt are found under ``<ns>:acc:<prompt_id>``, written by
the curate stage in the transaction that accepts it (kept ``feedback_ttl_s``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import redis.asyncio as aioredis
from pydantic import ValidationError

from services.clean.guards import BlockedPrompts
from services.contract.envelope import InMsg, Out, validation_detail
from services.contract.records import AnnotationResult
from services.ops.metrics import CLUSTER_WEIGHT, FEEDBACK_BLOCKED, FEEDBACK_RESULTS
from services.pipeline.stage import Stage
from services.settings import Settings
from services.state.keys import Keys
from services.state.stores import RedisVectorLog

log = logging.getLogger(__name__)

POSITIVE_LABELS = frozenset({"good", "accept", "accepted", "keep", "needs_edit", "ok", "approve"})
NEGATIVE_LABELS = frozenset(
    {"bad", "reject", "rejected", "off_topic", "discard", "discarded", "spam", "unsafe", "toxic"}
)
BLOCK_LABELS = frozenset({"spam", "unsafe"})
BLOCKLIST_INDEX = "blocklist"
NO_CLUSTER = -1

# KEYS: votes hash, counts hash. ARGV: vote field, cluster, class ("pos"/"neg").
# Moves the (prompt, annotator) vote to the new class; returns 1 when counts changed.
_VOTE = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
if old == ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if old then
  redis.call('HINCRBY', KEYS[2], ARGV[2] .. ':' .. old, -1)
  redis.call('HINCRBY', KEYS[2], 'all:' .. old, -1)
end
redis.call('HINCRBY', KEYS[2], ARGV[2] .. ':' .. ARGV[3], 1)
redis.call('HINCRBY', KEYS[2], 'all:' .. ARGV[3], 1)
return 1
"""


def label_class(label: str) -> str | None:
    label = label.strip().lower()
    if label in POSITIVE_LABELS:
        return "pos"
    if label in NEGATIVE_LABELS:
        return "neg"
    return None


def cluster_weight(
    pos: int, neg: int, all_pos: int, all_neg: int, prior: float, lo: float, hi: float
) -> float:
    """Smoothed acceptance rate of a cluster over the global rate, clamped to [lo, hi].

    The cluster's rate is pulled towards the global rate by ``prior`` pseudo-votes, so a few
    votes move a weight a little and many votes move it a lot."""
    total = all_pos + all_neg
    if total == 0:
        return 1.0
    p = all_pos / total
    if p == 0:
        return lo
    rate = (pos + prior * p) / (pos + neg + prior)
    return float(min(hi, max(lo, rate / p)))


def encode_accepted(cluster: int | None, vector: np.ndarray | None) -> bytes:
    """``<ns>:acc:<pid>`` value: cluster (int16) then the float16 vector, if any."""
    head = np.array([NO_CLUSTER if cluster is None else cluster], dtype=np.int16).tobytes()
    return head + (b"" if vector is None else vector.astype(np.float16).tobytes())


def decode_accepted(raw: bytes) -> tuple[int | None, np.ndarray | None]:
    cluster = int(np.frombuffer(raw[:2], dtype=np.int16)[0])
    vec = np.frombuffer(raw[2:], dtype=np.float16).astype(np.float32) if len(raw) > 2 else None
    if vec is not None:
        vec = vec / (np.linalg.norm(vec) or 1.0)
    return (None if cluster == NO_CLUSTER else cluster), vec


_FIELDS = Settings.model_fields


@dataclass(frozen=True)
class FeedbackPolicy:
    prior: float = _FIELDS["feedback_prior"].default
    weight_min: float = _FIELDS["feedback_weight_min"].default
    weight_max: float = _FIELDS["feedback_weight_max"].default


@dataclass
class FeedbackOutcome:
    counted: int = 0  # votes that moved
    unknown_label: int = 0
    unknown_prompt: int = 0  # prompt not (or no longer) known: counted apart, steers nothing
    blocked: int = 0  # new vectors in the blocklist index
    weights: dict[int, float] = field(default_factory=dict)  # recomputed weights, if any


class FeedbackStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        vectors: RedisVectorLog,
        policy: FeedbackPolicy,
    ) -> None:
        self.redis = redis
        self.keys = keys = Keys(namespace)
        self.vectors = vectors
        self.policy = policy
        self.votes_key = keys.votes
        self.counts_key = keys.vote_counts
        self.weights_key = keys.weights
        self.blocked_key = keys.blocklisted
        self.blocked_ids = BlockedPrompts(redis, namespace)
        self._vote = redis.register_script(_VOTE)

    def acc_key(self, pid: str) -> str:
        return self.keys.accepted(pid)

    async def apply(self, results: Sequence[AnnotationResult]) -> FeedbackOutcome:
        out = FeedbackOutcome()
        if not results:
            return out
        raws = await self.redis.mget([self.acc_key(r.prompt_id) for r in results])
        touched: set[int] = set()
        for res, raw in zip(results, raws, strict=True):
            cls = label_class(res.label)
            if cls is None:
                out.unknown_label += 1
                continue
            if raw is None:
                # Never curated here (or expired): not a vote on anything this deployment
                # accepted, so it steers nothing and is counted apart.
                out.unknown_prompt += 1
                continue
            cluster, vec = decode_accepted(cast(bytes, raw))
            c = NO_CLUSTER if cluster is None else cluster
            voter = res.annotator or "anonymous"
            moved = await self._vote(
                keys=[self.votes_key, self.counts_key],
                args=[f"{res.prompt_id}|{voter}", c, cls],
            )
            out.counted += int(moved)
            if moved and cluster is not None:
                touched.add(cluster)
            if res.label.strip().lower() in BLOCK_LABELS:
                out.blocked += await self._block(res.prompt_id, vec)
        if touched:
            out.weights = await self._reweigh(touched)
        return out

    async def _block(self, pid: str, vec: np.ndarray | None) -> int:
        await self.blocked_ids.add(pid)
        if vec is None or not await self.redis.sadd(self.blocked_key, pid):
            return 0  # no vector (lexical path) or already in the blocklist index
        await self.vectors.append(BLOCKLIST_INDEX, [(pid, vec, "feedback")])
        return 1

    async def counts(self) -> dict[str, int]:
        raw = await self.redis.hgetall(self.counts_key)
        return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in raw.items()}

    async def _reweigh(self, clusters: set[int]) -> dict[int, float]:
        # Every cluster's weight depends on the global rate: recompute all known clusters.
        counts = await self.counts()
        known = {int(k.split(":")[0]) for k in counts if not k.startswith("all:")} | clusters
        known.discard(NO_CLUSTER)
        p = self.policy
        weights = {
            c: round(
                cluster_weight(
                    counts.get(f"{c}:pos", 0),
                    counts.get(f"{c}:neg", 0),
                    counts.get("all:pos", 0),
                    counts.get("all:neg", 0),
                    p.prior,
                    p.weight_min,
                    p.weight_max,
                ),
                4,
            )
            for c in known
        }
        if weights:
            await self.redis.hset(self.weights_key, mapping={str(c): w for c, w in weights.items()})
        return weights


class FeedbackStage(Stage):
    """``annotations.results`` -> the feedback store. Invalid records go to the DLQ."""

    name = "feedback"

    def __init__(self, settings: Settings, store: FeedbackStore) -> None:
        super().__init__(settings)
        self.store = store

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        results = []
        for msg in msgs:
            try:
                results.append(AnnotationResult.model_validate_json(msg.value or b""))
            except ValidationError as exc:
                outs.append(self.dead_letter(msg, "invalid_result", validation_detail(exc)))
        outcome = await self.store.apply(results)
        for res in results:
            FEEDBACK_RESULTS.labels(label_class(res.label) or "unknown").inc()
        FEEDBACK_BLOCKED.inc(outcome.blocked)
        for c, w in outcome.weights.items():
            CLUSTER_WEIGHT.labels(str(c)).set(w)
        self.count("results", len(results))
        self.count("blocked", outcome.blocked)
        self.count("unknown_prompt", outcome.unknown_prompt)
        return outs
