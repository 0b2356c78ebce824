"""Curate stage: curate items -> accepted (``prompts.annotation``) or rejected.

The curate topic is partitioned by shard (``services/embed/clusters.py``, a routing key frozen
to the v1 centroids so that re-clustering never moves an index): one FAISS index per (language,
shard) for embedded texts, each appended to only by the worker of its partition, one MinHash LSH
index per language for texts the model cannot read (``services/dedup/minhash.py``,
``services/dedup/lsh.py``). Per micro-batch:

1. the indexes catch up with their Redis logs: the batch's own shard (another worker may have
   owned the partition before) and, read-only, every other shard of the language, so a near
   duplicate is found whichever shard holds it (``services/dedup/union.py``); likewise the
   blocklist index fed by annotators (``services/pipeline/feedback.py``);
2. candidates are ordered by quality x difficulty, highest first (``services/embed/scoring.py``), as
   Llama 3 orders them before its greedy de-duplication;
3. each candidate, in that order: ``blocklisted`` when near a blocked prompt; an exact or near
   duplicate of the index or of the batch's earlier acceptances; then ``mix`` or ``quota`` when
   the accepted window has no room for it (``services/diversity/quota.py``); else accepted;
   quotas count the clusters of the topic model learned from the accepted stream, once there is
   one (``services/diversity/topics.py``; the worker that trains it swaps it for all);
4. the acceptances are written to Redis in one transaction (vectors or signatures, the window
   counts, the prompt's cluster and vector for feedback) before any output is produced, so a
   crash never forgets an acceptance that was published, and a replay recognises its own
   acceptances: when the nearest neighbour is the prompt itself, the earlier decision stands.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from pydantic import ValidationError

from services.contract.envelope import IN_TS_HEADER, InMsg, Out, validation_detail
from services.contract.records import (
    AnnotationRecord,
    CurateItem,
    Nearest,
    Reason,
    RejectionRecord,
    Scores,
    now_utc,
)
from services.dedup.cascade import CascadeIndex, Verifier, plan, verify
from services.dedup.greedy import Candidate, Decision, GreedyCurator, NearIndex
from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import MinHasher
from services.dedup.union import Pending, UnionIndex, per_shard
from services.diversity.quota import QuotaPolicy, Window
from services.diversity.topics import Sample, clusters_for, tag, train
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
from services.pipeline.stage import Stage
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX, encode_accepted

log = logging.getLogger(__name__)

Admit = Callable[[int], Reason | None]
Entries = Mapping[str, Sequence[tuple[str, np.ndarray, str]]]


class CurateState(Protocol):
    """What the stage reads and writes outside itself
    (``services.state.curate_state.RedisCurateState``)."""

    async def override(self, name: str) -> bytes | str | None: ...

    async def load_window(self, policy: QuotaPolicy, tag: str = "") -> Window: ...

    async def sync_vectors(self, name: str, index: VectorIndex) -> int: ...

    async def sync_signatures(self, name: str, index: LshIndex) -> int: ...

    async def commit(
        self,
        vectors: Entries,
        signatures: Entries,
        accepted: Mapping[str, bytes],
        win: Window,
        cascade: tuple[Mapping[str, str], Mapping[str, np.ndarray]] | None = None,
    ) -> None: ...

    async def maybe_snapshot(self, name: str, index: VectorIndex) -> bool: ...


class TopicsState(Protocol):
    """The learned topic model's shared state (``services.diversity.topics.RedisTopics``)."""

    async def current(self) -> str | None: ...

    async def load(self, version: str) -> TopicModel: ...

    async def record(self, entries: Sequence[tuple[np.ndarray, str]], cap: int) -> int: ...

    async def due(self, accepted: int, first: int, every: int) -> bool: ...

    async def lock(self, ttl_s: int = 120) -> bool: ...

    async def unlock(self) -> None: ...

    async def sample(self, dim: int) -> Sample: ...

    async def swap(
        self, old: TopicModel, new: TopicModel, sample: np.ndarray, accepted: int, tries: int = 5
    ) -> None: ...


@dataclass
class _Verdict:
    decision: Decision | None  # None: no check ran
    reason: Reason | None  # rejection reason, None = accepted
    check: str  # faiss | minhash | skipped_unknown_tokens


class CurateStage(Stage):
    name = "curate"

    def __init__(
        self,
        settings: Settings,
        state: CurateState,
        dim: int,
        topics: TopicsState | None = None,
        base_topics: TopicModel | None = None,
        cascade: Verifier | None = None,
    ) -> None:
        super().__init__(settings)
        self.state = state
        self.cascade = cascade  # the cascade backend: the transformer verifies static candidates
        self.dim = dim
        self.topics = topics if settings.topics_learn else None
        self.topic_model = base_topics  # the cold start until a learned model is current
        self._failed_version: str | None = None
        self.hasher = MinHasher()
        self.policy = QuotaPolicy(
            settings.quota_max_share,
            settings.mix_max_synthetic,
            settings.quota_min_window,
            settings.mix_max_synthetic_per_cluster,
            settings.quota_min_cluster,
        )
        self.indexes: dict[str, VectorIndex] = {}
        self.lexical: dict[str, LshIndex] = {}
        self.blocklist = self._new_index()
        self.threshold = settings.near_dup_threshold  # the ops API may override it at run time

    def output_topics(self) -> list[str]:
        return [self.s.topic_annotation, self.s.topic_rejected, self.s.topic_dlq]

    async def setup(self) -> None:
        if self.topic_model is None:
            self.topic_model = await asyncio.to_thread(TopicModel.load, self.s.topics_path or None)
        self._show_model()

    async def before_batch(self) -> None:
        """Operators change the threshold through the ops API; it lands in a Redis hash and is
        validated here again with the setting's own definition (a bad value is ignored). The
        current topic model is picked up here too: a model that cannot be loaded is logged and
        counted once, and the previous one stays in use."""
        raw = await self.state.override("near_dup_threshold")
        value = parse_override("near_dup_threshold", raw) if raw is not None else None
        self.threshold = self.s.near_dup_threshold if value is None else float(value)
        if self.topics is None:
            return
        version = await self.topics.current()
        known = self.topic_model.version if self.topic_model is not None else None
        if version is None or version in (known, self._failed_version):
            return
        try:
            model = await self.topics.load(version)
            if model.dim != self.dim:
                raise ValueError(f"{model.dim}-d centroids, the model is {self.dim}-d")
        except Exception as exc:  # a missing or corrupt model: keep the previous one, say so
            self._failed_version = version
            TOPIC_MODEL_LOAD_FAILURES.inc()
            log.warning("topic model %s not loaded (%s); keeping %s", version, exc, known)
            return
        self.topic_model = model
        self._show_model()
        log.info("topic model %s in use (%d clusters)", model.version, model.k)

    def _show_model(self) -> None:
        TOPIC_MODEL_CLUSTERS.clear()
        if self.topic_model is not None:
            m = self.topic_model
            TOPIC_MODEL_CLUSTERS.labels(m.version, str(m.k)).set(1)

    def _learned(self) -> TopicModel | None:
        m = self.topic_model
        return m if m is not None and tag(m.version) else None

    def _new_index(self, shards: int = 1) -> VectorIndex:
        s = self.s
        nlist, nprobe = per_shard(s.index_nlist, s.index_nprobe, shards)
        return VectorIndex(
            self.dim,
            ann_after=max(s.index_ann_after, nlist) if s.index_ann_after is not None else None,
            nlist=nlist,
            nprobe=nprobe,
            ann=s.index_ann,
        )

    def index(self, name: str) -> VectorIndex:
        """The index of one (language, shard); with ``dedup_scope = "language"`` every batch
        searches all shards of the language, so each gets 1/P of the IVF lists and probes."""
        if name not in self.indexes:
            union = self.s.dedup_scope == "language"
            self.indexes[name] = self._new_index(self.s.curate_partitions if union else 1)
        return self.indexes[name]

    def lexical_index(self, name: str) -> LshIndex:
        if name not in self.lexical:
            self.lexical[name] = LshIndex.for_threshold(self.s.lexical_threshold)
        return self.lexical[name]

    def reset(self) -> None:
        """Forget in-memory state (after a failed batch); it reloads from the Redis logs."""
        self.indexes.clear()
        self.lexical.clear()
        self.blocklist = self._new_index()

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        items: list[tuple[InMsg, CurateItem]] = []
        decoded: list[np.ndarray | None] = []  # each vector decoded once, beside its item
        outs: list[Out] = []
        for msg in msgs:
            try:
                item = CurateItem.model_validate_json(msg.value or b"")
            except ValidationError as exc:  # only a foreign producer on our internal topic
                detail = validation_detail(exc, locations=False)
                outs.append(self.dead_letter(msg, "invalid_curate_item", detail))
                continue
            vec, problem = self._check_vector(item)
            if problem is not None:  # e.g. a worker on another model during a rolling change
                outs.append(self.dead_letter(msg, "invalid_curate_item", problem))
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
        learned = self._learned()
        win = await self.state.load_window(self.policy, tag(learned.version) if learned else "")
        await self.state.sync_vectors(BLOCKLIST_INDEX, self.blocklist)
        vectors = {i: v for i, v in enumerate(decoded) if v is not None}
        quota_cluster = [it.cluster for _, it in items]  # the cold start: the v1 cluster
        if learned is not None and vectors:
            found = learned.assign(np.stack(list(vectors.values())))
            for i, c in zip(vectors, found, strict=True):
                quota_cluster[i] = int(c)

        groups: dict[str, list[int]] = defaultdict(list)
        for i, (_, item) in enumerate(items):
            if item.vector is not None:
                groups[f"{item.lang}:{item.shard}"].append(i)
            else:
                groups[f"{item.lang}:lex"].append(i)
        d = _Batch(items, vectors, quota_cluster, win)
        for name in [g for g in groups if g.endswith(":lex")]:  # one index per language
            await self._decide_lexical_group(d, name, groups[name])
        vector_groups = {g: rows for g, rows in groups.items() if not g.endswith(":lex")}
        before = d.win.copy()
        for attempt in range(self.s.dedup_recheck + 1):
            for name, rows in vector_groups.items():
                await self._decide_vector_group(d, name, rows)
            if attempt == self.s.dedup_recheck or not await self._raced(d):
                break
            # another shard committed a near duplicate of an acceptance since the sync: decide
            # the vector groups again against the updated replicas (nothing is committed yet)
            self.count("recheck_redecided")
            d.restart(before)
        d.note_outcomes()
        vec_entries, sig_entries, acc, win = d.vec_entries, d.sig_entries, d.acc, d.win
        verdicts = d.verdicts
        cascade = d.cascade_commit() if self.cascade is not None else None
        await self.state.commit(vec_entries, sig_entries, acc, win, cascade=cascade)
        for pending in d.pending.values():
            pending.flush()
        for name in vec_entries:  # the index now holds exactly its log: a valid snapshot
            await self.state.maybe_snapshot(name, self.indexes[name])
        self._observe(win)
        sampled = [(v, items[i][1].text) for i, v in vectors.items() if verdicts[i].reason is None]
        await self._learn(sampled)
        return outs + [
            self._emit(msg, item, verdicts[i], quota_cluster[i] if learned else None)
            for i, (msg, item) in enumerate(items)
        ]

    async def _learn(self, accepted: list[tuple[np.ndarray, str]]) -> None:
        """Add the batch's acceptances to the sample; when due, train a topic model from it and
        make it current for every worker. The acceptances are committed already: a failure
        here is logged and the batch goes on (the next due batch tries again)."""
        if self.topics is None or not accepted or self.topic_model is None:
            return
        s = self.s
        try:
            count = await self.topics.record(accepted, s.topics_sample)
            if not await self.topics.due(count, s.topics_first_after, s.topics_retrain_every):
                return
            if not await self.topics.lock():
                return  # another worker is training
            try:
                sample = await self.topics.sample(self.dim)
                k = clusters_for(len(sample.texts), s.topics_k, s.quota_max_share)
                model = await asyncio.to_thread(
                    train, sample.vectors, sample.texts, k, self.topic_model.model
                )
                await self.topics.swap(self.topic_model, model, sample.vectors, count)
            finally:
                await self.topics.unlock()
        except Exception:
            log.exception("topic model training failed; keeping %s", self.topic_model.version)
            return
        TOPIC_MODEL_SWAPS.inc()
        self.topic_model = model
        self._show_model()

    async def _decide_lexical_group(self, d: _Batch, name: str, rows: list[int]) -> None:
        group = [d.items[i][1] for i in rows]
        lindex = self.lexical_index(name)
        await self.state.sync_signatures(name, lindex)
        sigs = self.hasher.signatures([it.text for it in group])
        lcands = [Candidate(it.prompt_id, it.src, sigs[j]) for j, it in enumerate(group)]
        decisions = await asyncio.get_running_loop().run_in_executor(
            None, self._decide_lexical, lindex, lcands, d.admit_fn(rows)
        )
        for j, dec in enumerate(decisions):
            d.verdicts[rows[j]] = _verdict(dec, "minhash")
            if dec.accepted and not dec.replayed:
                d.sig_entries[name].append((dec.prompt_id, sigs[j], group[j].src))
                d.acc[dec.prompt_id] = encode_accepted(
                    None, None, synthetic=group[j].source == "synthetic"
                )

    async def _decide_vector_group(self, d: _Batch, name: str, rows: list[int]) -> None:
        group = [d.items[i][1] for i in rows]
        lang = group[0].lang  # indexes, replicas and pending acceptances are per language
        index = await self._near_index(name, lang, d.pending.setdefault(lang, Pending()))
        vecs = np.stack([d.vectors[i] for i in rows])
        blocked = self._blocked(vecs)
        cands = [Candidate(it.prompt_id, it.src, vecs[j]) for j, it in enumerate(group)]
        todo = [j for j in range(len(group)) if blocked[j][0] is None]
        admit = d.admit_fn(rows)
        if self.cascade is not None and todo:
            sub = [cands[j] for j in todo]
            index = await self._verified(self.cascade, d, index, sub, [group[j] for j in todo])
        decisions = await asyncio.get_running_loop().run_in_executor(
            None,
            self._decide,
            index,
            [cands[j] for j in todo],
            lambda k: admit(todo[k]),
        )
        for j, (bid, bsim) in enumerate(blocked):
            if bid is not None:
                dec = Decision(group[j].prompt_id, False, bid, round(bsim, 6))
                d.verdicts[rows[j]] = _Verdict(dec, Reason.BLOCKLISTED, "faiss")
        for k, dec in enumerate(decisions):
            j = todo[k]
            d.verdicts[rows[j]] = _verdict(dec, "faiss")
            if dec.accepted and not dec.replayed:
                d.vec_entries[name].append((dec.prompt_id, vecs[j], group[j].src))
                d.acc[dec.prompt_id] = encode_accepted(
                    group[j].cluster, vecs[j], synthetic=group[j].source == "synthetic"
                )

    async def _verified(
        self,
        c: Verifier,
        d: _Batch,
        index: NearIndex,
        cands: list[Candidate],
        group: list[CurateItem],
    ) -> NearIndex:
        """The cascade: the group's static candidates, their transformer vectors, and the index
        the greedy rule then decides against (services/dedup/cascade.py)."""
        loop = asyncio.get_running_loop()
        queries = np.stack([cand.vector for cand in cands])
        pids = [cand.prompt_id for cand in cands]
        p = await loop.run_in_executor(None, plan, index, queries, pids, c.k, c.floor, c.sure)
        verified, computed = await verify(
            p,
            pids,
            [it.verify_text or it.text for it in group],
            d.texts,
            c.cache,
            c.source,
            c.encode,
            asyncio.to_thread,
        )
        d.computed.update(computed)
        self.count("cascade_candidates", sum(len(x) for x in p.cands) + len(p.pairs))
        self.count("cascade_encoded", len(computed))
        if verified.unverified:
            self.count("cascade_unverifiable", len(verified.unverified))
        return CascadeIndex(index, p, verified, c.floor, c.fallback, self.threshold, c.sure)  # type: ignore[arg-type]

    async def _raced(self, d: _Batch) -> bool:
        """Whether another shard committed, since this batch synced, a near duplicate of one of
        the batch's acceptances (the replicas are brought up to date first). Only then is the
        batch decided again, so the remaining race window is this check to the commit."""
        if self.s.dedup_scope == "shard" or not d.vec_entries:
            return False
        raced = False
        for name, entries in d.vec_entries.items():
            fresh = [part for part, added in await self._sync_others(name) if added]
            if not fresh:
                continue
            vecs = np.stack([v for _, v, _ in entries])
            pids = [p for p, _, _ in entries]
            # static cosines: with the cascade, any pair its transformer might call near
            close = self.threshold if self.cascade is None else self.cascade.floor
            for part in fresh:
                for _, sim in part.nearest_other(vecs, pids):
                    raced = raced or sim >= close
        return raced

    async def _near_index(self, name: str, lang: str, pending: Pending | None = None) -> NearIndex:
        """What a batch of shard ``name`` decides against, its own index brought up to date.

        ``dedup_scope = "language"``: the union of every shard's index of the language, each
        tailed from its Redis log first (a read replica; the batch appends to its own shard
        only), so near duplicates meet wherever they were routed. The window in which two
        near duplicates decided at the same moment on two shards are both accepted is the
        overlap of their batches' sync-to-commit intervals (docs/diversity.md measures it).
        ``"shard"``: the shard's own index only (the earlier design, kept for comparison)."""
        own = self.index(name)
        await self.state.sync_vectors(name, own)
        if self.s.dedup_scope == "shard":
            return own
        replicas = [part for part, _ in await self._sync_others(name)]
        return UnionIndex(own, replicas, pending)

    async def _sync_others(self, name: str) -> list[tuple[VectorIndex, int]]:
        """The other shards' indexes of ``name``'s language, each brought up to date with its
        log, and how many vectors each took."""
        lang = name.split(":", 1)[0]
        out = []
        for shard in range(self.s.curate_partitions):
            other = f"{lang}:{shard}"
            if other != name:
                out.append(
                    (self.index(other), await self.state.sync_vectors(other, self.index(other)))
                )
        return out

    def _check_vector(self, item: CurateItem) -> tuple[np.ndarray | None, str | None]:
        """The item's vector (None when it has none) and why it cannot be used (None: it can)."""
        if item.vector is None:
            return None, None
        try:
            v = _vector(item.vector)
        except ValueError as exc:
            return None, str(exc)
        if v.shape != (self.dim,):
            return None, f"vector of {v.size} dimensions, the index holds {self.dim}"
        return v, None

    def _blocked(self, vecs: np.ndarray) -> list[tuple[str | None, float]]:
        """Nearest blocked prompt at or above the blocklist threshold, per vector."""
        if len(self.blocklist) == 0:
            return [(None, 0.0)] * len(vecs)
        sims, ids = self.blocklist.search(vecs, 1)
        return [
            (ids[i][0], float(sims[i][0]))
            if sims[i][0] >= self.s.blocklist_threshold
            else (None, 0.0)
            for i in range(len(vecs))
        ]

    def _decide(self, index: NearIndex, cands: list[Candidate], admit: Admit) -> list[Decision]:
        return GreedyCurator(index, self.threshold).decide(cands, admit=admit)

    def _decide_lexical(
        self, index: LshIndex, cands: list[Candidate], admit: Admit
    ) -> list[Decision]:
        return GreedyCurator(index, self.s.lexical_threshold).decide(cands, admit=admit)

    def _observe(self, win: Window) -> None:
        covered, entropy = win.coverage()
        CLUSTERS_COVERED.set(covered)
        CLUSTER_ENTROPY.set(entropy)
        WINDOW_ACCEPTED.set(win.total)

    def _emit(self, msg: InMsg, item: CurateItem, v: _Verdict, cluster: int | None) -> Out:
        headers = [] if item.in_ts_ms is None else [(IN_TS_HEADER, str(item.in_ts_ms).encode())]
        d = v.decision
        if v.reason is not None:
            self.count(f"rejected_{v.reason}")
            dup = v.reason in (
                Reason.EXACT_DUPLICATE,
                Reason.NEAR_DUPLICATE,
                Reason.BLOCKLISTED,
            )
            rej = RejectionRecord(
                event_id=item.event_id,
                reason=v.reason,
                duplicate_of=d.nearest_id if d is not None and dup else None,
                similarity=d.similarity if d is not None and dup else None,
                lang=item.lang,
                ts=now_utc(),
            )
            return Out(
                self.s.topic_rejected,
                item.event_id.encode(),
                rej.model_dump_json().encode(),
                msg.src,
                headers,
                item.src,
                label=f"rejected:{v.reason}",
            )
        self.count("accepted")
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
            topics_version=self.topic_model.version if self.topic_model else None,
            pii=item.pii,
            accepted_at=now_utc(),
        )
        return Out(
            self.s.topic_annotation,
            item.prompt_id.encode(),
            rec.model_dump_json().encode(),
            msg.src,
            headers,
            item.src,
            label="accepted",
        )


class _Batch:
    """One micro-batch's decisions in the making: verdicts, log entries, the window, and the
    acceptances not committed yet (``pending``, per language as the indexes are)."""

    def __init__(
        self,
        items: list[tuple[InMsg, CurateItem]],
        vectors: dict[int, np.ndarray],
        quota_cluster: list[int | None],
        win: Window,
    ) -> None:
        self.items = items
        self.vectors = vectors  # decoded once per batch
        self.quota_cluster = quota_cluster
        self.win = win
        self.verdicts: dict[int, _Verdict] = {}
        self.vec_entries: dict[str, list[tuple[str, np.ndarray, str]]] = defaultdict(list)
        self.sig_entries: dict[str, list[tuple[str, np.ndarray, str]]] = defaultdict(list)
        self.acc: dict[str, bytes] = {}
        self.pending: dict[str, Pending] = {}
        self.computed: dict[str, np.ndarray] = {}  # the cascade's transformer vectors

    @cached_property
    def texts(self) -> dict[str, str]:
        """The cascade: what the transformer reads per prompt (built only when asked)."""
        return {it.prompt_id: it.verify_text or it.text for _, it in self.items}

    def cascade_commit(self) -> tuple[dict[str, str], dict[str, np.ndarray]]:
        """Texts of the batch's embedded acceptances, and the transformer vectors computed for
        them or for earlier acceptances (never for the batch's duplicates)."""
        accepted = {pid for entries in self.vec_entries.values() for pid, _, _ in entries}
        texts = {pid: self.texts[pid] for pid in accepted}
        vectors = {
            pid: v for pid, v in self.computed.items() if pid in accepted or pid not in self.texts
        }
        return texts, vectors

    def admit_fn(self, rows: list[int]) -> Admit:
        def admit(j: int) -> Reason | None:
            it = self.items[rows[j]][1]
            return self.win.admit(self.quota_cluster[rows[j]], it.source == "synthetic", it.cluster)

        return admit

    def note_outcomes(self) -> None:
        """For the synthetic-balance signal and the gap examples: per cluster and origin, the
        prompts de-duplication decided and which were duplicates; the acceptances' ids."""
        for i in self.vectors:
            v, cluster = self.verdicts[i], self.quota_cluster[i]
            if cluster is None or v.reason is Reason.BLOCKLISTED:
                continue
            msg, item = self.items[i]
            if not self.win.fresh_outcome(f"{msg.topic}/{msg.partition}", msg.offset):
                continue  # noted before a crash, by the commit of this batch's first decision
            duplicate = v.reason in (Reason.NEAR_DUPLICATE, Reason.EXACT_DUPLICATE)
            self.win.note_decided(cluster, item.source == "synthetic", duplicate)
            if v.reason is None:
                self.win.examples.append((cluster, item.prompt_id))

    def restart(self, window: Window) -> None:
        """Forget the vector groups' decisions (the lexical ones stand)."""
        self.win = window.copy()
        for entries in self.vec_entries.values():
            for pid, _, _ in entries:
                self.acc.pop(pid, None)
        self.vec_entries.clear()
        self.pending.clear()  # the next decision starts new ones
        for i in self.vectors:
            self.verdicts.pop(i, None)


def _verdict(d: Decision, check: str) -> _Verdict:
    if d.accepted:
        return _Verdict(d, None, check)
    if d.refused is not None:
        return _Verdict(d, Reason(d.refused), check)
    return _Verdict(
        d, Reason.EXACT_DUPLICATE if d.exact_duplicate else Reason.NEAR_DUPLICATE, check
    )


def _vector(b64: str | None) -> np.ndarray:
    if b64 is None:
        raise ValueError("no vector")
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise ValueError("vector is not base64") from exc
    if len(raw) % 4:
        raise ValueError("vector is not a float32 array")
    v = np.frombuffer(raw, dtype=np.float32)
    if v.ndim != 1 or not math.isfinite(float(v.sum())):
        raise ValueError("invalid vector")
    return v
