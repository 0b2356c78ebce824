"""Ingest stage: raw bytes from ``chat.events`` -> DLQ, a rejection, or a curate item.

Per message (``services.clean.chain``, pure, off the event loop): decode and validate (DLQ on
failure), normalize, redact personal data, identify the language, run the filter chain. Per
micro-batch (one Redis round trip each): event-id claims, the guards in order (blocked prompt
ids, per-user rate limit, per-user flood of near-identical prompts, services/clean/guards.py),
exact-duplicate claims. Then embed what the model reads of the survivors in one batch
(services/embed/readable.py), reject those that copy a registered evaluation item (the
``EvalCheck`` port, services/pipeline/contamination.py: ``contaminated``), give each of the
others its quality/difficulty scores, and route it by topic
cluster to the curate partition of its semantic shard so that near duplicates meet in one place
(services/pipeline/routing.py). docs/filters.md lists the order and the reasons.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.clean.chain import Cleaned, Cleaner, Invalid, Refused, Verdict
from services.clean.guards import Guard
from services.clean.text import digest_context, event_key
from services.contract.envelope import InMsg, Out
from services.contract.records import (
    ChatEvent,
    ContaminatedBy,
    CurateItem,
    Reason,
    RecordMessage,
)
from services.embed.clusters import TopicModel
from services.embed.preamble import Preambles
from services.embed.readable import Encoder, Reader
from services.embed.scoring import score
from services.errors import ConfigError
from services.ops.metrics import EMBED_BATCH
from services.pipeline.routing import Router, space
from services.pipeline.stage import Stage, in_ts_headers
from services.settings import Settings

log = logging.getLogger(__name__)


class SeenStore(Protocol):
    """Exact-duplicate claims (``services.state.seen.RedisSeenStore``)."""

    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]: ...

    async def release(self, items: Sequence[tuple[str, str]]) -> None: ...


class EvalCheck(Protocol):
    """The contamination check (``services.pipeline.contamination.ContaminationCheck``): per
    prompt (normalized, redacted text and its vector, None when the model cannot read it), the
    evaluation item it copies, or None."""

    async def check(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray | None]
    ) -> list[ContaminatedBy | None]: ...


@dataclass
class _Candidate:
    msg: InMsg
    clean: Cleaned


class IngestStage(Stage):
    name = "ingest"

    def __init__(
        self,
        settings: Settings,
        seen: SeenStore,
        embedder: Encoder,
        guards: Sequence[Guard] = (),
        topics: TopicModel | None = None,
        event_ids: SeenStore | None = None,
        preambles: Preambles | None = None,
        contamination: EvalCheck | None = None,
    ) -> None:
        super().__init__(settings)
        self.contamination = contamination
        self.seen = seen
        self.event_ids = event_ids
        self.embedder = embedder
        self.reader = Reader(embedder, settings.max_unknown_token_ratio, preambles)
        self.guards = list(guards)
        self.cleaner = Cleaner(settings)
        self.topics = topics
        self.router: Router | None = None

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
                f"gives {dim}-d vectors: train centroids for this model (flywheel centroids "
                "PROMPTS --out FILE) and set FLYWHEEL_TOPICS_PATH"
            )
        self.router = await asyncio.to_thread(Router.from_settings, topics, s)
        self.topics = topics

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        cands: list[_Candidate] = []
        # CPU-bound cleaning (regexes, language id, the NER tier's one nlp.pipe pass over the
        # batch when FLYWHEEL_PII_NER is on) off the event loop: heartbeats, other partitions'
        # batches and the ops timers keep running while a batch is screened.
        screened = await asyncio.to_thread(self._screen_all, msgs)
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
        outs += await self._embed_and_route(fresh)
        return outs

    def screen(self, msg: InMsg) -> Out | Cleaned:
        """One message through the cleaning chain: its DLQ or rejection record, or the cleaned
        prompt. Pure (no Redis, no model)."""
        return self._to_output(msg, self.cleaner.screen(msg.value))

    def _screen_all(self, msgs: Sequence[InMsg]) -> list[Out | Cleaned]:
        try:
            verdicts = self.cleaner.screen_batch([m.value for m in msgs])
        except Exception:
            verdicts = [self._screen_one(m) for m in msgs]
        return [self._to_output(m, v) for m, v in zip(msgs, verdicts, strict=True)]

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
        """The guards in order, each on the candidates the ones before it kept."""
        for guard in self.guards:
            if not cands:
                break
            cands = self._drop(cands, await guard.check([c.clean for c in cands]), outs)
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

    async def _embed_and_route(self, cands: list[_Candidate]) -> list[Out]:
        if not cands:
            return []
        if self.router is None:
            raise RuntimeError("IngestStage.setup() was not awaited")
        reads = await self.reader.read([c.clean.key for c in cands])
        encoded = self.reader.texts
        vectors = await asyncio.to_thread(self.reader.encode, reads)
        EMBED_BATCH.observe(self.reader.texts - encoded)
        self.count("embedded", sum(v is not None for v in vectors))
        outs: list[Out] = []
        if self.contamination is not None:
            cands, reads, vectors = await self._decontaminate(
                self.contamination, cands, reads, vectors, outs
            )
        contexts = [
            preamble_context(c.clean.context.context_id, c.clean.key, read)
            for c, read in zip(cands, reads, strict=True)
        ]
        spaces = [space(c.clean.lang, ctx, self.s) for c, ctx in zip(cands, contexts, strict=True)]
        routes = self.router.route(spaces, vectors)
        cascade = self.s.embedding_backend == "cascade"
        for cand, vec, route, read, ctx, where in zip(
            cands, vectors, routes, reads, contexts, spaces, strict=True
        ):
            c = cand.clean
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
                cluster=route.cluster,
                shard=route.shard,
                quality=quality,
                difficulty=difficulty,
                src=cand.msg.src,
                in_ts_ms=cand.msg.timestamp_ms,
                context_id=ctx,
                space=where if where != c.lang else None,
                messages=record_messages(c) if c.context.messages else None,
                tools=c.context.tools,
                follows=c.context.follows is not None,
                response=c.context.response,
            )
            out = self._out(self.s.topic_curate, c.lang.encode(), item.model_dump_json(), cand.msg)
            out.label = "forwarded"
            out.partition = route.partition  # near duplicates must meet
            outs.append(out)
        return outs

    async def _decontaminate(
        self,
        check: EvalCheck,
        cands: list[_Candidate],
        reads: list[str],
        vectors: list[np.ndarray | None],
        outs: list[Out],
    ) -> tuple[list[_Candidate], list[str], list[np.ndarray | None]]:
        """The candidates that copy no evaluation item (with their reads and vectors); the
        others rejected ``contaminated`` into ``outs``, naming the item, and their
        exact-duplicate claims released: once the set is removed, a copy is a prompt again."""
        verdicts = await check.check([c.clean.text for c in cands], vectors)
        dropped = [(c.clean.pid, c.msg.src) for c, by in zip(cands, verdicts, strict=True) if by]
        await self.seen.release(dropped)
        kept: tuple[list[_Candidate], list[str], list[np.ndarray | None]] = ([], [], [])
        for cand, read, vec, by in zip(cands, reads, vectors, verdicts, strict=True):
            if by is None:
                kept[0].append(cand)
                kept[1].append(read)
                kept[2].append(vec)
                continue
            c = cand.clean
            outs.append(
                self._reject(cand.msg, c.event, Reason.CONTAMINATED, c.lang, contaminated_by=by)
            )
        return kept

    def _reject(
        self,
        msg: InMsg,
        event: ChatEvent,
        reason: Reason,
        lang: str | None,
        duplicate_of: str | None = None,
        contaminated_by: ContaminatedBy | None = None,
    ) -> Out:
        headers = in_ts_headers(msg.timestamp_ms)
        return self.rejected(
            msg.src,
            event.event_id,
            reason,
            lang,
            headers,
            None,
            duplicate_of,
            contaminated_by=contaminated_by,
        )

    def _out(self, topic: str, key: bytes, value: str, msg: InMsg) -> Out:
        return Out(topic, key, value.encode(), msg.src, in_ts_headers(msg.timestamp_ms))


def preamble_context(context_id: str | None, key: str, read: str) -> str | None:
    """The context of a prompt whose shared preamble the model did not read
    (``services.embed.preamble``): the preamble is its context, as a system prompt would be,
    so that its vector never shares an index with vectors that read a preamble."""
    if read == key:
        return context_id
    return digest_context(context_id, key[: len(key) - len(read)])


def record_messages(c: Cleaned) -> list[RecordMessage]:
    """The conversation an accepted record shows: system messages, the kept history, the turn."""
    ctx = c.context
    msgs = [RecordMessage(role="system", content=t) for t in ctx.system]
    msgs += [RecordMessage(role=t.role, content=t.text) for t in ctx.history]  # type: ignore[arg-type]
    return [*msgs, RecordMessage(role="user", content=c.text)]
