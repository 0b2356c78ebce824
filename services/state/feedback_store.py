"""The feedback store: annotators' votes in Redis, one Lua call per vote (``lua/vote.lua``).

The latest class per (prompt, annotator) is kept, so a redelivered result changes nothing and an
updated annotation moves its vote instead of adding one. Per cluster the votes become quota
weights (``services.diversity.feedback``); ``spam`` and ``unsafe`` put the prompt's vector into
the blocklist index (which every curate stage syncs and checks: near duplicates of it are
rejected as ``blocklisted``) and its id into the blocked-id set (exact repeats are rejected at
ingest). The cluster and vector of an accepted prompt are found under ``<ns>:acc:<prompt_id>``
(``services.state.accepted``), written by the curate stage in the transaction that accepts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import numpy as np
import redis.asyncio as aioredis

from services.clean.guards import BlockedPrompts
from services.contract.records import AnnotationResult, ReviewRequest, now_utc
from services.diversity.agreement import Mode, bias_field, mode_counts, parse_histogram
from services.diversity.current import CurrentTopics
from services.diversity.feedback import BLOCK_LABELS, FeedbackPolicy, label_class
from services.diversity.topics import tag
from services.embed.clusters import TopicModel
from services.keys import Keys, text
from services.state.accepted import BLOCKLIST_INDEX, NO_CLUSTER, decode_accepted
from services.state.vector_log import RedisVectorLog

VOTE_LUA = Path(__file__).with_name("lua") / "vote.lua"


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
        topics: CurrentTopics | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys = Keys(namespace)
        self.vectors = vectors
        self.policy = policy
        self.topics = topics  # None: the v1 clusters only
        self.counts_key = keys.vote_counts
        self.weights_key = keys.weights
        self.blocked_key = keys.blocklisted
        self.blocked_ids = BlockedPrompts(redis, namespace)
        self._vote = redis.register_script(VOTE_LUA.read_text())

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
                ],
            )
            moved, asked = int(reply[0]), int(reply[1])
            out.counted += moved
            if moved and cluster is not None:
                touched.add(cluster)
            if asked:
                flat = [text(x) for x in reply[3:]]
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
        """The learned topic model in use, if any (None: the v1 clusters)."""
        if self.topics is None:
            return None
        await self.topics.refresh()
        return self.topics.learned

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
        return {text(k): int(v) for k, v in raw.items()}

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
        weights = {c: round(self.policy.weight(counts, c), 4) for c in known}
        if weights:
            await self.redis.hset(self.weights_key, mapping={str(c): w for c, w in weights.items()})
        return weights
