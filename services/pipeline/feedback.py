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
from dataclasses import dataclass, field, replace
from typing import cast

import numpy as np
import redis.asyncio as aioredis
from pydantic import ValidationError

from services.clean.guards import BlockedPrompts
from services.contract.envelope import InMsg, Out, validation_detail
from services.contract.records import AnnotationResult, ReviewRequest, now_utc
from services.diversity.agreement import (
    Mode,
    agreement_report,
    bias_field,
    mode_counts,
    parse_histogram,
)
from services.diversity.topics import RedisTopics, tag
from services.embed.clusters import TopicModel
from services.keys import Keys
from services.ops.metrics import (
    ANNOTATOR_ALPHA,
    CLUSTER_WEIGHT,
    FEEDBACK_BLOCKED,
    FEEDBACK_PROMPTS,
    FEEDBACK_RESULTS,
    REVIEW_REQUESTS,
)
from services.pipeline.stage import Stage
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX, NO_CLUSTER, decode_accepted
from services.state.stores import RedisVectorLog

log = logging.getLogger(__name__)

POSITIVE_LABELS = frozenset({"good", "accept", "accepted", "keep", "needs_edit", "ok", "approve"})
NEGATIVE_LABELS = frozenset(
    {"bad", "reject", "rejected", "off_topic", "discard", "discarded", "spam", "unsafe", "toxic"}
)
BLOCK_LABELS = frozenset({"spam", "unsafe"})

# One vote, atomically. KEYS: 1 the prompt's votes, 2 its meta, 3 counts (mode ``all``),
# 4 tally histogram, 5 annotators, 6 agreement (prompt states), 7 bias, 8 legacy votes.
# ARGV: 1 annotator, 2 class, 3 v1 cluster, 4 ttl, 5 agree_min, 6 max_rounds, 7 bias prefix,
# 8 the result's input coordinate, 9 legacy field (``pid|annotator``).
# Returns {moved, round asked for (0 = none), state, votes (flat) when a round is asked}.
_VOTE = """
local voter, cls, c = ARGV[1], ARGV[2], ARGV[3]
local ttl, amin, maxr, src = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[8]
local function hincr(key, field, by)
  if redis.call('HINCRBY', key, field, by) == 0 then redis.call('HDEL', key, field) end
end
local flat = redis.call('HGETALL', KEYS[1])
local votes, np, nn = {}, 0, 0
for i = 1, #flat, 2 do
  votes[flat[i]] = flat[i + 1]
  if flat[i + 1] == 'pos' then np = np + 1 else nn = nn + 1 end
end
local meta = redis.call('HMGET', KEYS[2], 'state', 'rounds', 'asked_m', 'asked_src', 'bias')
local st, rounds, asked_m = meta[1] or 'none', tonumber(meta[2]) or 0, tonumber(meta[3]) or 0
local old = votes[voter]
if old == cls then
  -- The same vote again. Only a replay of the very result that asked for a round asks again
  -- (the runner drops the copy when the first one was produced).
  if st == 'review' and meta[4] == src then return {0, rounds + 1, st, unpack(flat)} end
  return {0, 0, st}
end
if not old then
  local legacy = redis.call('HGET', KEYS[8], ARGV[9])
  if legacy then
    redis.call('HDEL', KEYS[8], ARGV[9])
    redis.call('HINCRBY', KEYS[3], c .. ':' .. legacy, -1)
    redis.call('HINCRBY', KEYS[3], 'all:' .. legacy, -1)
  end
end
local np2, nn2 = np, nn
if old == 'pos' then np2 = np2 - 1 elseif old == 'neg' then nn2 = nn2 - 1 end
if cls == 'pos' then np2 = np2 + 1 else nn2 = nn2 + 1 end
local m, m2 = np + nn, np2 + nn2
redis.call('HSET', KEYS[1], voter, cls)
votes[voter] = cls
if old then
  redis.call('HINCRBY', KEYS[3], c .. ':' .. old, -1)
  redis.call('HINCRBY', KEYS[3], 'all:' .. old, -1)
end
redis.call('HINCRBY', KEYS[3], c .. ':' .. cls, 1)
redis.call('HINCRBY', KEYS[3], 'all:' .. cls, 1)
for _, g in ipairs({c, 'all'}) do
  if m > 0 then hincr(KEYS[4], g .. ':' .. np .. ':' .. nn, -1) end
  hincr(KEYS[4], g .. ':' .. np2 .. ':' .. nn2, 1)
end
for x, v in pairs(votes) do
  local dp, da = m2 - 1, ((v == 'pos') and np2 or nn2) - 1
  local was = votes[x]
  if x == voter then was = old end
  if was then
    dp = dp - (m - 1)
    da = da - (((was == 'pos') and np or nn) - 1)
  else
    redis.call('HINCRBY', KEYS[5], 'votes:' .. x, 1)
  end
  if dp ~= 0 then hincr(KEYS[5], 'pairs:' .. x, dp) end
  if da ~= 0 then hincr(KEYS[5], 'agree:' .. x, da) end
end
local bias = meta[5]
if not bias then
  bias = ARGV[7]
  redis.call('HSET', KEYS[2], 'bias', bias)
end
if old then hincr(KEYS[7], bias .. ':' .. old, -1) end
redis.call('HINCRBY', KEYS[7], bias .. ':' .. cls, 1)
local new
if math.max(np2, nn2) >= amin * m2 then new = 'agreed'
elseif rounds > 0 and m2 <= asked_m then new = 'review'
elseif rounds < maxr then new = 'ask'
else new = 'unresolved' end
local ask = 0
if new == 'ask' then
  rounds = rounds + 1
  ask = rounds + 1
  new = 'review'
  redis.call('HSET', KEYS[2], 'rounds', rounds, 'asked_m', m2, 'asked_src', src)
  redis.call('HINCRBY', KEYS[6], 'review_requests', 1)
end
if new ~= st then
  if st ~= 'none' then hincr(KEYS[6], 'items:' .. st, -1) end
  redis.call('HINCRBY', KEYS[6], 'items:' .. new, 1)
  redis.call('HSET', KEYS[2], 'state', new)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
if ask == 0 then return {1, 0, new} end
local out = {1, ask, new}
for x, v in pairs(votes) do
  out[#out + 1] = x
  out[#out + 1] = v
end
return out
"""


def label_class(label: str) -> str | None:
    label = label.strip().lower()
    if label in POSITIVE_LABELS:
        return "pos"
    if label in NEGATIVE_LABELS:
        return "neg"
    return None


def cluster_weight(
    pos: float,
    neg: float,
    all_pos: float,
    all_neg: float,
    prior: float,
    lo: float,
    hi: float,
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


_FIELDS = Settings.model_fields


@dataclass(frozen=True)
class FeedbackPolicy:
    prior: float = _FIELDS["feedback_prior"].default
    weight_min: float = _FIELDS["feedback_weight_min"].default
    weight_max: float = _FIELDS["feedback_weight_max"].default
    agreement: Mode = _FIELDS["feedback_agreement"].default
    agree_min: float = _FIELDS["feedback_agree_min"].default
    max_rounds: int = _FIELDS["feedback_max_rounds"].default
    ttl_s: int = _FIELDS["feedback_ttl_s"].default

    @classmethod
    def from_settings(cls, s: Settings) -> FeedbackPolicy:
        return cls(
            s.feedback_prior,
            s.feedback_weight_min,
            s.feedback_weight_max,
            s.feedback_agreement,
            s.feedback_agree_min,
            s.feedback_max_rounds,
            s.feedback_ttl_s,
        )


@dataclass
class FeedbackOutcome:
    counted: int = 0  # votes that moved
    unknown_label: int = 0
    unknown_prompt: int = 0  # prompt not (or no longer) known: counted apart, steers nothing
    blocked: int = 0  # new vectors in the blocklist index
    weights: dict[int, float] = field(default_factory=dict)  # recomputed weights, if any
    reviews: list[tuple[str, ReviewRequest]] = field(default_factory=list)  # (src, request)


class FeedbackStore:
    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        vectors: RedisVectorLog,
        policy: FeedbackPolicy,
        topics: RedisTopics | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys = Keys(namespace)
        self.vectors = vectors
        self.policy = policy
        self.topics = topics or RedisTopics(redis, namespace, 3600, 60)  # only reads models
        self.votes_key = keys.votes
        self.counts_key = keys.vote_counts
        self.weights_key = keys.weights
        self.blocked_key = keys.blocklisted
        self.blocked_ids = BlockedPrompts(redis, namespace)
        self._vote = redis.register_script(_VOTE)
        self._model: TopicModel | None = None  # the learned topic model of the latest version

    def acc_key(self, pid: str) -> str:
        return self.keys.accepted(pid)

    async def apply(
        self, results: Sequence[AnnotationResult], srcs: Sequence[str] | None = None
    ) -> FeedbackOutcome:
        """Count ``results`` (``srcs``: their input coordinates, which make a review request
        safe to replay; positions when absent)."""
        out = FeedbackOutcome()
        if not results:
            return out
        srcs = srcs or [str(i) for i in range(len(results))]
        raws = await self.redis.mget([self.acc_key(r.prompt_id) for r in results])
        model = await self._topic_model()
        p = self.policy
        await self.redis.hset(
            self.keys.fb_agreement,
            mapping={"mode": p.agreement, "agree_min": p.agree_min, "max_rounds": p.max_rounds},
        )
        touched: set[int] = set()
        for res, raw, src in zip(results, raws, srcs, strict=True):
            cls = label_class(res.label)
            if cls is None:
                out.unknown_label += 1
                continue
            if raw is None:
                # Never curated here (or expired): not a vote on anything this deployment
                # accepted, so it steers nothing and is counted apart.
                out.unknown_prompt += 1
                continue
            raw = cast(bytes, raw)
            cluster, vec, synthetic = decode_accepted(raw)
            c = NO_CLUSTER if cluster is None else cluster
            voter = res.annotator or "anonymous"
            pid = res.prompt_id
            k = self.keys
            reply = await self._vote(
                keys=[
                    k.fb_item(pid),
                    k.fb_meta(pid),
                    self.counts_key,
                    k.fb_hist,
                    k.fb_annotators,
                    k.fb_agreement,
                    k.fb_bias,
                    self.votes_key,
                ],
                args=[
                    voter,
                    cls,
                    c,
                    p.ttl_s,
                    repr(p.agree_min),
                    p.max_rounds,
                    self._bias_field(model, c, vec, synthetic),
                    src,
                    f"{pid}|{voter}",
                ],
            )
            moved, asked = int(reply[0]), int(reply[1])
            out.counted += moved
            if moved and cluster is not None:
                touched.add(cluster)
            if asked:
                flat = [_text(x) for x in reply[3:]]
                votes = dict(zip(flat[::2], flat[1::2], strict=True))
                out.reviews.append(
                    (src, ReviewRequest(prompt_id=pid, round=asked, votes=votes,
                                        cluster=cluster, ts=now_utc()))
                )  # fmt: skip
            if res.label.strip().lower() in BLOCK_LABELS:
                out.blocked += await self._block(pid, vec)
        if touched:
            out.weights = await self._reweigh(touched)
        return out

    async def _topic_model(self) -> TopicModel | None:
        """The current learned topic model (cached per version); None = the v1 clusters."""
        try:
            version = await self.topics.current()
            if version is None:
                return None
            if self._model is None or self._model.version != version:
                self._model = await self.topics.load(version)
        except ValueError as exc:  # a corrupt or missing model: count on the v1 clusters
            log.warning("feedback: topic model unavailable (%s); using the v1 clusters", exc)
            return None
        return self._model

    @staticmethod
    def _bias_field(
        model: TopicModel | None, v1: int, vec: np.ndarray | None, synthetic: bool
    ) -> str:
        if model is None or vec is None or model.dim != len(vec):
            return bias_field("v1", v1, synthetic)
        return bias_field(tag(model.version), int(model.assign(vec[None, :])[0]), synthetic)

    async def _block(self, pid: str, vec: np.ndarray | None) -> int:
        await self.blocked_ids.add(pid)
        if vec is None or not await self.redis.sadd(self.blocked_key, pid):
            return 0  # no vector (lexical path) or already in the blocklist index
        await self.vectors.append(BLOCKLIST_INDEX, [(pid, vec, "feedback")])
        return 1

    async def counts(self) -> dict[str, int]:
        """Mode ``all``: ``<cluster>:pos|neg`` and ``all:pos|neg`` (every latest vote)."""
        raw = await self.redis.hgetall(self.counts_key)
        return {_text(k): int(v) for k, v in raw.items()}

    async def mode_counts(self, mode: Mode) -> dict[str, float]:
        """``<cluster>:pos|neg`` and ``all:pos|neg`` as the votes count in ``mode``."""
        if mode == "all":
            return {k: float(v) for k, v in (await self.counts()).items()}
        hist = parse_histogram(await self.redis.hgetall(self.keys.fb_hist))
        out: dict[str, float] = {}
        for group, tallies in hist.items():
            pos, neg = mode_counts(tallies, mode, self.policy.agree_min)
            out[f"{group}:pos"], out[f"{group}:neg"] = pos, neg
        return out

    async def _reweigh(self, clusters: set[int]) -> dict[int, float]:
        # Every cluster's weight depends on the global rate: recompute all known clusters.
        counts = await self.mode_counts(self.policy.agreement)
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
    """``annotations.results`` -> the feedback store; review requests -> ``prompts.review``.
    Invalid records go to the DLQ."""

    name = "feedback"

    def __init__(self, settings: Settings, store: FeedbackStore) -> None:
        super().__init__(settings)
        self.store = store
        # the agreement settings come with the worker's settings, whatever policy it was built with
        store.policy = replace(
            store.policy,
            agreement=settings.feedback_agreement,
            agree_min=settings.feedback_agree_min,
            max_rounds=settings.feedback_max_rounds,
            ttl_s=settings.feedback_ttl_s,
        )

    def output_topics(self) -> list[str]:
        return [self.s.topic_dlq, self.s.topic_review]

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        results, srcs = [], []
        for msg in msgs:
            try:
                results.append(AnnotationResult.model_validate_json(msg.value or b""))
                srcs.append(msg.src)
            except ValidationError as exc:
                outs.append(self.dead_letter(msg, "invalid_result", validation_detail(exc)))
        outcome = await self.store.apply(results, srcs)
        for res in results:
            FEEDBACK_RESULTS.labels(label_class(res.label) or "unknown").inc()
        FEEDBACK_BLOCKED.inc(outcome.blocked)
        for c, w in outcome.weights.items():
            CLUSTER_WEIGHT.labels(str(c)).set(w)
        for src, req in outcome.reviews:
            outs.append(
                Out(
                    self.s.topic_review,
                    req.prompt_id.encode(),
                    req.model_dump_json().encode(),
                    src,
                    label=f"review:{req.reason}",
                )
            )
        REVIEW_REQUESTS.inc(len(outcome.reviews))
        if outcome.counted:
            await self._export_agreement()
        self.count("results", len(results))
        self.count("blocked", outcome.blocked)
        self.count("unknown_prompt", outcome.unknown_prompt)
        self.count("review_requests", len(outcome.reviews))
        return outs

    async def _export_agreement(self) -> None:
        report = await agreement_report(self.store.redis, self.s.namespace)
        ANNOTATOR_ALPHA.labels("all").set(_nan(report["alpha"]["global"]))
        for c, a in report["alpha"]["clusters"].items():
            ANNOTATOR_ALPHA.labels(str(c)).set(_nan(a))
        for state in ("agreed", "open", "unresolved"):
            FEEDBACK_PROMPTS.labels(state).set(report["items"][state])


def _nan(x: float | None) -> float:
    return float("nan") if x is None else x


def _text(x: bytes | str) -> str:
    return x.decode() if isinstance(x, bytes) else x
