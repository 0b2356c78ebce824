"""The curate stage: curate items -> accepted (``prompts.annotation``) or rejected.

Per micro-batch:

1. the indexes catch up with their Redis logs (``indexes.py``): the batch's own shard and,
   read-only, every other shard of the language; likewise the blocklist index;
2. candidates are ordered by quality x difficulty, highest first (``services/embed/scoring.py``),
   as Llama 3 orders them before its greedy de-duplication;
3. each group is decided by the greedy rule (``decide.py``); quotas count the clusters of the
   topic model learned from the accepted stream once there is one (``services/diversity``);
   when another shard committed a near duplicate of an acceptance meanwhile, the vector groups
   are decided again (``dedup_recheck``);
4. the acceptances are written to Redis in one transaction (vectors or signatures, the window
   counts, the prompt's cluster and vector for feedback) before any output is produced, so a
   crash never forgets an acceptance that was published, and a replay recognises its own
   acceptances: when the nearest neighbour is the prompt itself, the earlier decision stands.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
from pydantic import ValidationError

from services.contract.envelope import IN_TS_HEADER, InMsg, Out, validation_detail
from services.contract.records import AnnotationRecord, CurateItem, Nearest, Reason, Scores, now_utc
from services.contract.vectors import decode_vector
from services.dedup.cascade import Verifier
from services.dedup.minhash import MinHasher
from services.dedup.union import Pending
from services.diversity.current import CurrentTopics, TopicLearner
from services.diversity.quota import QuotaPolicy
from services.diversity.topics import tag
from services.embed.clusters import TopicModel
from services.embed.scoring import priority
from services.ops.metrics import (
    CLUSTER_ENTROPY,
    CLUSTERS_COVERED,
    TOPIC_MODEL_CLUSTERS,
    TOPIC_MODEL_LOAD_FAILURES,
    TOPIC_MODEL_SWAPS,
    WINDOW_ACCEPTED,
)
from services.ops.overrides import parse_override
from services.pipeline.curate.batch import DUPLICATE, Batch, Verdict
from services.pipeline.curate.decide import Group, decide_group, verified
from services.pipeline.curate.indexes import IndexSet
from services.pipeline.curate.ports import CurateState
from services.pipeline.stage import Stage
from services.settings import Settings


class CurateStage(Stage):
    name = "curate"

    def __init__(
        self,
        settings: Settings,
        state: CurateState,
        dim: int,
        topics: CurrentTopics,
        learner: TopicLearner | None = None,
        cascade: Verifier | None = None,
    ) -> None:
        super().__init__(settings)
        self.state = state
        self.dim = dim
        self.topics = topics
        self.topics.on_change = _show_model
        self.topics.on_failure = TOPIC_MODEL_LOAD_FAILURES.inc
        _show_model(topics.model)
        self.learner = learner  # None: the topic model is not learned (or another one learns)
        self.cascade = cascade  # the cascade backend: the transformer verifies static candidates
        self.hasher = MinHasher()
        self.policy = QuotaPolicy.from_settings(settings)
        self.indexes = IndexSet(settings, state, dim)
        self.threshold = settings.near_dup_threshold  # the ops API may override it at run time

    def output_topics(self) -> list[str]:
        return [self.s.topic_annotation, self.s.topic_rejected, self.s.topic_dlq]

    async def before_batch(self) -> None:
        """Operators change the threshold through the ops API; it lands in a Redis hash and is
        validated here again with the setting's own definition (a bad value is ignored). The
        current topic model is followed here too."""
        raw = await self.state.override("near_dup_threshold")
        value = parse_override("near_dup_threshold", raw) if raw is not None else None
        self.threshold = self.s.near_dup_threshold if value is None else float(value)
        await self.topics.refresh()

    def reset(self) -> None:
        self.indexes.reset()

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        items: list[tuple[InMsg, CurateItem]] = []
        decoded: list[np.ndarray | None] = []  # each vector decoded once, beside its item
        outs: list[Out] = []
        for msg in msgs:
            try:
                item = CurateItem.model_validate_json(msg.value or b"")
                vec = None if item.vector is None else decode_vector(item.vector, self.dim)
            except ValidationError as exc:  # only a foreign producer on our internal topic
                detail = validation_detail(exc, locations=False)
                outs.append(self.dead_letter(msg, "invalid_curate_item", detail))
                continue
            except ValueError as exc:  # e.g. a worker on another model during a rolling change
                outs.append(self.dead_letter(msg, "invalid_curate_item", str(exc)))
                continue
            items.append((msg, item))
            decoded.append(vec)
        if not items:
            return outs
        if self.s.order_by_priority:  # stable: equal priorities keep arrival order
            order = sorted(
                range(len(items)),
                key=lambda i: -priority(items[i][1].quality or 0.0, items[i][1].difficulty or 0.0),
            )
            items = [items[i] for i in order]
            decoded = [decoded[i] for i in order]
        # the model this batch is decided on: the feedback agent may adopt a newer one meanwhile
        model, learned = self.topics.model, self.topics.learned
        win = await self.state.load_window(self.policy, tag(learned.version) if learned else "")
        await self.indexes.read_erasures()
        await self.indexes.sync_blocklist()
        vectors = {i: v for i, v in enumerate(decoded) if v is not None}
        quota_cluster = [it.cluster for _, it in items]  # the cold start: the v1 cluster
        if learned is not None and vectors:
            found = learned.assign(np.stack(list(vectors.values())))
            for i, c in zip(vectors, found, strict=True):
                quota_cluster[i] = int(c)
        d = Batch(items, vectors, quota_cluster, win)
        await self._decide(d)
        d.note_outcomes()
        cascade = d.cascade_commit() if self.cascade is not None else None
        await self.state.commit(
            d.vec_entries, d.sig_entries, d.acc, d.win, cascade=cascade, origins=d.origins()
        )
        for pending in d.pending.values():
            pending.flush()
        await self.indexes.snapshot(list(d.vec_entries))
        covered, entropy = d.win.coverage()
        CLUSTERS_COVERED.set(covered)
        CLUSTER_ENTROPY.set(entropy)
        WINDOW_ACCEPTED.set(d.win.total)
        if self.learner is not None:
            trained = await self.learner.learn(d.accepted_vectors(), model)
            if trained is not None:
                TOPIC_MODEL_SWAPS.inc()
                self.topics.adopt(trained)
        return outs + [
            self._emit(msg, item, d.verdicts[i], quota_cluster[i] if learned else None, model)
            for i, (msg, item) in enumerate(items)
        ]

    async def _decide(self, d: Batch) -> None:
        vector_groups, lexical_groups = d.groups()
        for name, rows in lexical_groups.items():  # one lexical index per language: decided once
            index = await self.indexes.lexical_synced(name)
            sigs = self.hasher.signatures([d.items[i][1].text for i in rows])
            none: list[tuple[str | None, float]] = [(None, 0.0)] * len(rows)
            threshold = self.s.lexical_threshold
            await decide_group(d, Group(name, rows, index, sigs, threshold, none, lexical=True))
        before = d.win.copy()
        for attempt in range(self.s.dedup_recheck + 1):
            for name, rows in vector_groups.items():
                await self._decide_vectors(d, name, rows)
            if attempt == self.s.dedup_recheck or not d.vec_entries:
                break
            # static cosines: with the cascade, any pair its transformer might call near
            close = self.threshold if self.cascade is None else self.cascade.floor
            langs = {name: _space(d.items[rows[0]][1]) for name, rows in vector_groups.items()}
            if not await self.indexes.raced(d.vec_entries, langs, close):
                break
            # another shard committed a near duplicate of an acceptance since the sync: decide
            # the vector groups again against the updated replicas (nothing is committed yet)
            self.count("recheck_redecided")
            d.restart(before)

    async def _decide_vectors(self, d: Batch, name: str, rows: list[int]) -> None:
        lang = _space(d.items[rows[0]][1])  # indexes and pending acceptances are per space
        index = await self.indexes.union(name, lang, d.pending.setdefault(lang, Pending()))
        vecs = np.stack([d.vectors[i] for i in rows])
        g = Group(name, rows, index, vecs, self.threshold, self.indexes.blocked(vecs))
        if self.cascade is not None:
            g.index, counts = await verified(self.cascade, d, index, g, self.threshold)
            for outcome, n in counts.items():
                if n:
                    self.count(outcome, n)
        await decide_group(d, g)

    def _emit(
        self, msg: InMsg, item: CurateItem, v: Verdict, cluster: int | None, model: TopicModel
    ) -> Out:
        headers = [] if item.in_ts_ms is None else [(IN_TS_HEADER, str(item.in_ts_ms).encode())]
        d = v.decision
        if v.reason is not None:
            near = d is not None and (v.reason in DUPLICATE or v.reason is Reason.BLOCKLISTED)
            return self.rejected(
                msg.src,
                item.event_id,
                v.reason,
                item.lang,
                headers,
                item.src,
                d.nearest_id if near and d is not None else None,
                d.similarity if near and d is not None else None,
            )
        novelty: float | None = None
        nearest = None
        if d is not None:
            sim = d.similarity
            novelty = 1.0 if sim is None else round(1.0 - max(sim, 0.0), 6)
            if d.nearest_id is not None:
                nearest = Nearest(prompt_id=d.nearest_id, similarity=sim or 0.0)
        rec = AnnotationRecord(
            prompt_id=item.prompt_id,
            event_id=item.event_id,
            text=item.text,
            lang=item.lang,
            source=item.source,
            user=item.user,
            scores=Scores(novelty=novelty, quality=item.quality, difficulty=item.difficulty),
            nearest=nearest,
            semantic_check=v.check,  # type: ignore[arg-type]
            cluster=item.cluster if cluster is None else cluster,
            topics_version=model.version,
            pii=item.pii,
            context_id=item.context_id,
            messages=item.messages,
            tools=None if item.tools is None else json.loads(item.tools),
            follows=item.follows,
            response=item.response,
            accepted_at=now_utc(),
        )
        value = rec.model_dump_json().encode()
        key = item.prompt_id.encode()
        return Out(self.s.topic_annotation, key, value, msg.src, headers, item.src, "accepted")


def _space(item: CurateItem) -> str:
    return item.space or item.lang


def _show_model(m: TopicModel) -> None:
    TOPIC_MODEL_CLUSTERS.clear()
    TOPIC_MODEL_CLUSTERS.labels(m.version, str(m.k)).set(1)
