"""Ingest stage: raw bytes from ``chat.events`` -> DLQ, a rejection, or a curate item.

Per message (``services.clean.chain``, pure, off the event loop): decode and validate (DLQ on
failure), normalize, redact personal data, identify the language, run the filter chain. Per
micro-batch (one Redis round trip each): blocked prompt ids, per-user rate limit, per-user flood
of near-identical prompts, exact-duplicate claims. Then embed the survivors in one batch, give
each its topic cluster and quality/difficulty scores, and route it to the curate partition of its
semantic shard so that near duplicates meet in one place. docs/filters.md lists the order and
the reasons. ``look_ahead`` does a batch's pure part (cleaning, embedding) before its turn, while
the batch before it waits for its acknowledgements (``streams.app.run_ahead``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

import numpy as np

from services.clean.chain import Cleaned, Cleaner, Invalid, Refused, Verdict
from services.clean.guards import BlockedPrompts, FloodDetector, RedisRateLimiter
from services.contract.envelope import InMsg, Out
from services.contract.records import ChatEvent, CurateItem, Reason, RejectionRecord, now_utc
from services.embed.clusters import TopicModel, lexical_partition
from services.embed.preamble import Preambles
from services.embed.scoring import score
from services.errors import ConfigError
from services.ops.metrics import EMBED_BATCH
from services.pipeline.stage import Stage, in_ts_headers
from services.settings import Settings

log = logging.getLogger(__name__)


class SeenStore(Protocol):
    """Exact-duplicate claims (``services.state.stores.RedisSeenStore``)."""

    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]: ...


class Encoder(Protocol):
    """The embedding model (``services.embed.embedder.Embedder``)."""

    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]: ...


@dataclass
class Guards:
    """The shared-state checks of a micro-batch; any may be None (unit tests)."""

    blocked: BlockedPrompts | None = None
    rate: RedisRateLimiter | None = None
    flood: FloodDetector | None = None


@dataclass
class _Candidate:
    msg: InMsg
    clean: Cleaned


@dataclass
class _Ahead:
    """What ``look_ahead`` worked out for a micro-batch before it ran: each message's cleaning
    verdict (by input coordinate) and the vector of each text the model read (None: unreadable)."""

    verdicts: dict[str, Verdict] = field(default_factory=dict)
    vectors: dict[str, np.ndarray | None] = field(default_factory=dict)

    def merge(self, other: _Ahead) -> None:
        self.verdicts.update(other.verdicts)
        self.vectors.update(other.vectors)


_T = TypeVar("_T")
AHEAD_MAX = 4  # batches whose look-ahead is kept; an older one is dropped unused


class IngestStage(Stage):
    name = "ingest"

    def __init__(
        self,
        settings: Settings,
        seen: SeenStore,
        embedder: Encoder,
        guards: Guards | None = None,
        topics: TopicModel | None = None,
        event_ids: SeenStore | None = None,
        preambles: Preambles | None = None,
    ) -> None:
        super().__init__(settings)
        self.preambles = preambles  # shared leading text left out of the embedding
        self.seen = seen
        self.event_ids = event_ids
        self.embedder = embedder
        self.guards = guards or Guards()
        self.cleaner = Cleaner(settings)
        self.topics = topics
        self.shard_of: np.ndarray | None = None
        self.embed_seconds = 0.0  # time inside the model: how busy the embedding stage is
        self.model_texts = 0  # texts the model encoded (look-ahead included)
        # One thread owns the model: look-ahead and in-batch encodes queue there in order, never
        # two at once (an OpenVINO infer request is not re-entrant).
        self._model = ThreadPoolExecutor(1, thread_name_prefix="flywheel-model")
        self._ahead: deque[tuple[frozenset[str], asyncio.Task[_Ahead]]] = deque()

    def output_topics(self) -> list[str]:
        return [self.s.topic_curate, self.s.topic_rejected, self.s.topic_dlq]

    async def setup(self) -> None:
        """Load the topic model and group its clusters into shards (file I/O and k-means)."""
        s = self.s
        topics = self.topics
        if topics is None:
            topics = await asyncio.to_thread(TopicModel.load, s.topics_path or None)
        dim = getattr(self.embedder, "dim", 0)
        if dim and dim != topics.dim:
            raise ConfigError(
                f"the topic centroids ({topics.version}) are {topics.dim}-d, the model "
                f"gives {dim}-d vectors: train centroids for this model (bench/train_centroids.py "
                "--model ...) and set FLYWHEEL_TOPICS_PATH"
            )
        self.shard_of = await asyncio.to_thread(topics.shards, s.curate_partitions, s.shard_slack)
        self.topics = topics

    async def teardown(self) -> None:
        self.reset()
        self._model.shutdown(wait=False, cancel_futures=True)

    def reset(self) -> None:
        for _, task in self._ahead:
            task.cancel()
        self._ahead.clear()

    @property
    def looking_ahead(self) -> list[asyncio.Task[_Ahead]]:
        """The look-aheads not yet taken by their batch (at most ``AHEAD_MAX``)."""
        return [task for _, task in self._ahead]

    def look_ahead(self, msgs: Sequence[InMsg]) -> None:
        """Start cleaning and embedding ``msgs`` now, while the batch before them is still
        producing its outputs and waiting for their acknowledgements; ``process`` then takes
        what is ready. Pure work only: the Redis checks, the claims and the routing still happen
        in ``process``, in batch order. A text that ``process`` reads differently (a preamble
        that reached its count in between) is encoded again there; exact duplicates, which
        ``process`` drops before the model, are encoded here for nothing."""
        if not msgs:
            return
        task = asyncio.ensure_future(self._prepare(list(msgs)))
        task.add_done_callback(_quiet)
        self._ahead.append((frozenset(m.src for m in msgs), task))
        while len(self._ahead) > AHEAD_MAX:
            self._ahead.popleft()[1].cancel()

    async def _prepare(self, msgs: list[InMsg]) -> _Ahead:
        verdicts = await asyncio.to_thread(self._verdicts, msgs)
        ahead = _Ahead({m.src: v for m, v in zip(msgs, verdicts, strict=True)})
        texts = [v.text for v in verdicts if isinstance(v, Cleaned)]
        if texts and self.preambles is not None:
            texts = await self.preambles.strip(texts, count=False)
        texts = list(dict.fromkeys(texts))  # a text repeated in the batch is read once
        if texts:
            vectors = await self._in_model(self._encode_readable, texts)
            ahead.vectors = dict(zip(texts, vectors, strict=True))
        return ahead

    async def _taken(self, msgs: Sequence[InMsg]) -> _Ahead:
        """The look-ahead of ``msgs``' batches (empty when there was none or it failed). Taken
        out before waiting: the next batch's look-ahead may be added meanwhile."""
        srcs = {m.src for m in msgs}
        mine = [task for covered, task in self._ahead if covered & srcs]
        self._ahead = deque(x for x in self._ahead if not x[0] & srcs)
        ahead = _Ahead()
        for task in mine:
            try:
                ahead.merge(await task)
            except Exception as exc:  # the batch does the work itself; no event is lost
                log.warning("ingest look-ahead failed (%s); screening in batch", exc)
        return ahead

    async def _in_model(self, fn: Callable[[list[str]], _T], texts: list[str]) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._model, fn, texts)

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        cands: list[_Candidate] = []
        ahead = await self._taken(msgs) if self._ahead else _Ahead()
        # CPU-bound cleaning (regexes, language id, the NER tier's one nlp.pipe pass over the
        # batch when FLYWHEEL_PII_NER is on) off the event loop: heartbeats, other partitions'
        # batches and the ops timers keep running while a batch is screened.
        screened = await asyncio.to_thread(self._screen_all, msgs, ahead.verdicts)
        for msg, result in zip(msgs, screened, strict=True):
            if isinstance(result, Out):
                outs.append(result)
            else:
                cands.append(_Candidate(msg, result))

        if self.event_ids is not None:  # event_id is the event's identity (docs/contract.md)
            cands = await self._claim(
                cands,
                outs,
                self.event_ids,
                lambda c: event_key(c.event.event_id),
                Reason.DUPLICATE_EVENT,
            )
        cands = await self._guard(cands, outs)
        fresh = await self._claim(
            cands, outs, self.seen, lambda c: c.pid, Reason.EXACT_DUPLICATE, by_prompt=True
        )
        outs += await self._embed_and_route(fresh, ahead.vectors)
        return outs

    def screen(self, msg: InMsg) -> Out | Cleaned:
        """One message through the cleaning chain: its DLQ or rejection record, or the cleaned
        prompt. Pure (no Redis, no model)."""
        return self._to_output(msg, self.cleaner.screen(msg.value))

    def _screen_all(
        self, msgs: Sequence[InMsg], known: dict[str, Verdict] | None = None
    ) -> list[Out | Cleaned]:
        known = known or {}
        todo = [m for m in msgs if m.src not in known]
        verdicts = dict(known)
        verdicts.update(zip((m.src for m in todo), self._verdicts(todo), strict=True))
        return [self._to_output(m, verdicts[m.src]) for m in msgs]

    def _verdicts(self, msgs: Sequence[InMsg]) -> list[Verdict]:
        if not msgs:
            return []
        try:
            return self.cleaner.screen_batch([m.value for m in msgs])
        except Exception:
            return [self._screen_one(m) for m in msgs]

    def _screen_one(self, msg: InMsg) -> Verdict:
        try:
            return self.cleaner.screen(msg.value)
        except Exception as exc:  # a bug must not lose the event: dead-letter it
            log.exception("ingest failed on %s", msg.where)
            return Invalid("internal_error", f"{type(exc).__name__}: {exc}")

    def _to_output(self, msg: InMsg, verdict: Verdict) -> Out | Cleaned:
        if isinstance(verdict, Invalid):
            return self.dead_letter(msg, verdict.code, verdict.detail)
        if isinstance(verdict, Refused):
            return self._reject(msg, verdict.event, verdict.reason, verdict.lang)
        return verdict

    async def _claim(
        self,
        cands: list[_Candidate],
        outs: list[Out],
        store: SeenStore,
        key: Callable[[Cleaned], str],
        reason: Reason,
        by_prompt: bool = False,
    ) -> list[_Candidate]:
        """Claim ``key`` for each candidate with its input coordinate as owner; a candidate whose
        key another message owns is rejected with ``reason`` (a replay of the same message owns
        its own key). ``by_prompt``: the rejection names the prompt it duplicates."""
        if not cands:
            return cands
        owners = await store.claim([(key(c.clean), c.msg.src) for c in cands])
        verdicts = [None if owner is None else reason for owner in owners]
        return self._drop(cands, verdicts, outs, by_prompt)

    async def _guard(self, cands: list[_Candidate], outs: list[Out]) -> list[_Candidate]:
        """Blocked ids, rate limit, flood: each drops candidates with its reason, in that order."""
        g = self.guards
        checks = []
        if g.blocked is not None:
            checks.append(lambda cs: g.blocked.check([c.clean.pid for c in cs]))  # type: ignore[union-attr]
        if g.rate is not None:
            checks.append(lambda cs: g.rate.check([c.clean.user for c in cs]))  # type: ignore[union-attr]
        if g.flood is not None:
            checks.append(
                lambda cs: g.flood.check([(c.clean.user, c.clean.text) for c in cs])  # type: ignore[union-attr]
            )
        for check in checks:
            if not cands:
                break
            cands = self._drop(cands, await check(cands), outs)
        return cands

    def _drop(
        self,
        cands: list[_Candidate],
        verdicts: Sequence[Reason | None],
        outs: list[Out],
        by_prompt: bool = False,
    ) -> list[_Candidate]:
        """The candidates whose verdict is None; the others rejected into ``outs`` with theirs
        (``by_prompt``: naming the prompt they duplicate)."""
        kept = []
        for cand, reason in zip(cands, verdicts, strict=True):
            if reason is None:
                kept.append(cand)
            else:
                c = cand.clean
                dup = c.pid if by_prompt else None
                outs.append(self._reject(cand.msg, c.event, reason, c.lang, duplicate_of=dup))
        return kept

    async def _embed_and_route(
        self, cands: list[_Candidate], known: dict[str, np.ndarray | None]
    ) -> list[Out]:
        if not cands:
            return []
        if self.topics is None or self.shard_of is None:
            raise RuntimeError("IngestStage.setup() was not awaited")
        texts = [c.clean.text for c in cands]
        if self.preambles is not None:  # the model reads the question, not the boilerplate
            texts = await self.preambles.strip(texts)
        vectors = await self._embed(texts, known)
        embedded = [(i, v) for i, v in enumerate(vectors) if v is not None]
        clusters: list[int | None] = [None] * len(cands)
        if embedded:  # one centroid assignment for the batch
            assigned = self.topics.assign(np.stack([v for _, v in embedded]))
            for (i, _), c in zip(embedded, assigned.tolist(), strict=True):
                clusters[i] = c
        outs = []
        cascade = self.s.embedding_backend == "cascade"
        for cand, vec, cluster, read in zip(cands, vectors, clusters, texts, strict=True):
            c = cand.clean
            shard = None if cluster is None else int(self.shard_of[cluster])
            quality, difficulty = score(c.text, c.lang)
            item = CurateItem(
                event_id=c.event.event_id,
                prompt_id=c.pid,
                text=c.text,
                lang=c.lang,
                source=c.event.source,
                user=c.user,
                pii=c.pii,
                vector=None if vec is None else base64.b64encode(vec.tobytes()).decode(),
                verify_text=read if cascade and vec is not None and read != c.text else None,
                cluster=cluster,
                shard=shard,
                quality=quality,
                difficulty=difficulty,
                src=cand.msg.src,
                in_ts_ms=cand.msg.timestamp_ms,
            )
            out = self._out(self.s.topic_curate, c.lang.encode(), item.model_dump_json(), cand.msg)
            out.label = "forwarded"
            # Near duplicates must meet: the partition is the semantic shard, or one partition
            # per language for texts without an embedding (services/embed/clusters.py).
            out.partition = (
                lexical_partition(c.lang, self.s.curate_partitions) if shard is None else shard
            )
            outs.append(out)
        self.count("forwarded", len(outs))
        return outs

    async def _embed(
        self, texts: list[str], known: dict[str, np.ndarray | None]
    ) -> list[np.ndarray | None]:
        """Each text's vector: from the look-ahead (``known``) or encoded now."""
        todo = [t for t in dict.fromkeys(texts) if t not in known]
        vectors = dict(known)
        if todo:
            vectors.update(
                zip(todo, await self._in_model(self._encode_readable, todo), strict=True)
            )
        out = [vectors[t] for t in texts]
        self.count("embedded", sum(v is not None for v in out))
        return out

    def _encode_readable(self, texts: list[str]) -> list[np.ndarray | None]:
        """Vectors for the texts the model can read; None for the others (mostly [UNK] tokens),
        which are not embedded at all: their cosines would be meaningless."""
        if not texts:
            return []
        readable = [
            i
            for i, ratio in enumerate(self.embedder.unknown_token_ratio(texts))
            if ratio <= self.s.max_unknown_token_ratio
        ]
        t0 = time.perf_counter()
        vecs = self.embedder.encode([texts[i] for i in readable])
        EMBED_BATCH.observe(len(readable))
        spent = time.perf_counter() - t0
        self.model_texts += len(readable)
        self.embed_seconds += spent
        log.debug("embedded %d of %d in %.3fs", len(readable), len(texts), spent)
        out: list[np.ndarray | None] = [None] * len(texts)
        for row, i in enumerate(readable):
            out[i] = vecs[row]
        return out

    def _reject(
        self,
        msg: InMsg,
        event: ChatEvent,
        reason: Reason,
        lang: str | None,
        duplicate_of: str | None = None,
    ) -> Out:
        self.count(f"rejected_{reason}")
        rec = RejectionRecord(
            event_id=event.event_id,
            reason=reason,
            duplicate_of=duplicate_of,
            lang=lang,
            ts=now_utc(),
        )
        out = self._out(self.s.topic_rejected, event.event_id.encode(), rec.model_dump_json(), msg)
        out.label = f"rejected:{reason}"
        return out

    def _out(self, topic: str, key: bytes, value: str, msg: InMsg) -> Out:
        return Out(topic, key, value.encode(), msg.src, in_ts_headers(msg.timestamp_ms))


def _quiet(task: asyncio.Task) -> None:
    """A look-ahead's failure is reported when its batch takes it, or never if it is dropped."""
    if not task.cancelled():
        task.exception()


def event_key(event_id: str) -> str:
    """The Redis form of an event id: 32 hex digits of its SHA-256 (ids are producer data)."""
    return hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]
