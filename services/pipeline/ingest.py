"""Ingest stage: raw bytes from ``chat.events`` -> DLQ, a rejection, or a curate item.

Per message (``_screen``, pure): decode and validate (DLQ on failure), optionally strip HTML,
normalize, redact personal data, identify the language, run the filter chain
(``services/clean/filters.py``). Per micro-batch (one Redis round trip each): blocked prompt ids,
per-user rate limit, per-user flood of near-identical prompts, exact-duplicate claims. Then embed
the survivors in one batch, give each its topic cluster and quality/difficulty scores, and route it
to the curate partition of its semantic shard so that near duplicates meet in one place. docs/filters.md lists the order and the reasons.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import ValidationError

from services.clean.filters import Doc, default_chain, run_chain
from services.clean.guards import BlockedPrompts, FloodDetector, RedisRateLimiter
from services.clean.language import detect_language_scored
from services.clean.pii import redact
from services.clean.text import normalize, prompt_id, strip_html, user_hash
from services.contract.records import ChatEvent, CurateItem, Reason, RejectionRecord, now_utc
from services.embed.clusters import TopicModel, lexical_partition
from services.embed.embedder import Embedder
from services.embed.scoring import score
from services.ops.metrics import EMBED_BATCH
from services.pipeline.runner import InMsg, Out, dead_letter
from services.settings import Settings
from services.state.stores import RedisSeenStore

log = logging.getLogger(__name__)

IN_TS_HEADER = "fw-in-ts"


@dataclass
class _Candidate:
    msg: InMsg
    event: ChatEvent
    text: str
    pid: str
    lang: str
    user: str | None
    pii: list[str]


@dataclass
class Guards:
    """The shared-state checks of a micro-batch; any may be None (unit tests of ``_screen``)."""

    blocked: BlockedPrompts | None = None
    rate: RedisRateLimiter | None = None
    flood: FloodDetector | None = None


class IngestStage:
    def __init__(
        self,
        settings: Settings,
        seen: RedisSeenStore,
        embedder: Embedder,
        guards: Guards | None = None,
        topics: TopicModel | None = None,
    ) -> None:
        self.s = settings
        self.topics = topics or TopicModel.load(settings.topics_path or None)
        self.shard_of = self.topics.shards(settings.curate_partitions, settings.shard_slack)
        dim = getattr(embedder, "dim", 0)
        if dim and dim != self.topics.dim:
            raise ValueError(
                f"the topic centroids ({self.topics.version}) are {self.topics.dim}-d, the model "
                f"gives {dim}-d vectors: train centroids for this model (bench/train_centroids.py "
                "--model ...) and set FLYWHEEL_TOPICS_PATH"
            )
        self.seen = seen
        self.embedder = embedder
        self.guards = guards or Guards()
        self.chain = default_chain(settings)
        self.user_key = settings.user_hash_key.get_secret_value().encode()
        self.counts: Counter[str] = Counter()
        self.embed_seconds = 0.0  # time inside the model: how busy the embedding stage is

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        cands: list[_Candidate] = []
        for msg in msgs:
            try:
                result = self._screen(msg)
            except Exception as exc:  # a bug must not lose the event: dead-letter it
                log.exception("ingest failed on %s", msg.where)
                result = self._dlq(msg, "internal_error", f"{type(exc).__name__}: {exc}")
            if isinstance(result, Out):
                outs.append(result)
            else:
                cands.append(result)

        cands = await self._guard(cands, outs)
        owners = await self.seen.claim([(c.pid, c.msg.src) for c in cands])
        fresh = []
        for cand, owner in zip(cands, owners, strict=True):
            if owner is None:
                fresh.append(cand)
            else:
                outs.append(
                    self._reject(
                        cand.msg,
                        cand.event,
                        Reason.EXACT_DUPLICATE,
                        cand.lang,
                        duplicate_of=cand.pid,
                    )
                )
        outs += await self._embed_and_route(fresh)
        return outs

    def _screen(self, msg: InMsg) -> Out | _Candidate:
        raw = msg.value or b""
        if len(raw) > self.s.max_message_bytes:
            return self._dlq(msg, "too_large", f"{len(raw)} bytes > {self.s.max_message_bytes}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return self._dlq(msg, "invalid_utf8", str(exc))
        try:
            data = json.loads(text)
        except ValueError as exc:
            return self._dlq(msg, "invalid_json", str(exc))
        except RecursionError:  # found by fuzzing: nesting deeper than the parser's stack
            return self._dlq(msg, "invalid_json", "nested too deeply")
        if not isinstance(data, dict):
            return self._dlq(msg, "not_an_object", f"JSON {type(data).__name__}, expected object")
        try:
            event = ChatEvent.model_validate(data)
        except RecursionError:
            return self._dlq(msg, "invalid_event", "nested too deeply")
        except ValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            )
            return self._dlq(msg, "invalid_event", errors)

        if len(event.prompt) > 4 * self.s.max_chars:  # skip normalizing megabytes
            return self._reject(msg, event, Reason.TOO_LONG, None)
        raw_text = strip_html(event.prompt) if self.s.strip_html else event.prompt
        clean = normalize(raw_text)
        if not clean:
            return self._reject(msg, event, Reason.EMPTY, None)
        # Redact before anything is hashed, stored or logged; normalize again so the
        # placeholders sit in canonical text.
        clean, pii = redact(clean)
        lang, score = detect_language_scored(clean, event.lang)
        reason = run_chain(self.chain, Doc(clean, lang, score, pii))
        if reason is not None:
            return self._reject(msg, event, reason, lang)
        user = user_hash(event.user_id, self.user_key)
        return _Candidate(msg, event, clean, prompt_id(clean), lang, user, pii)

    async def _guard(self, cands: list[_Candidate], outs: list[Out]) -> list[_Candidate]:
        """Blocked ids, rate limit, flood: each drops candidates with its reason, in that order."""
        g = self.guards
        checks = []
        if g.blocked is not None:
            checks.append(lambda cs: g.blocked.check([c.pid for c in cs]))  # type: ignore[union-attr]
        if g.rate is not None:
            checks.append(lambda cs: g.rate.check([c.user for c in cs]))  # type: ignore[union-attr]
        if g.flood is not None:
            checks.append(lambda cs: g.flood.check([(c.user, c.text) for c in cs]))  # type: ignore[union-attr]
        for check in checks:
            if not cands:
                break
            verdicts = await check(cands)
            kept = []
            for cand, reason in zip(cands, verdicts, strict=True):
                if reason is None:
                    kept.append(cand)
                else:
                    outs.append(self._reject(cand.msg, cand.event, reason, cand.lang))
            cands = kept
        return cands

    async def _embed_and_route(self, cands: list[_Candidate]) -> list[Out]:
        if not cands:
            return []
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(None, self._embed, [c.text for c in cands])
        embedded = [(i, v) for i, v in enumerate(vectors) if v is not None]
        clusters: list[int | None] = [None] * len(cands)
        if embedded:  # one centroid assignment for the batch
            assigned = self.topics.assign(np.stack([v for _, v in embedded]))
            for (i, _), c in zip(embedded, assigned.tolist(), strict=True):
                clusters[i] = c
        outs = []
        for cand, vec, cluster in zip(cands, vectors, clusters, strict=True):
            shard = None if cluster is None else int(self.shard_of[cluster])
            quality, difficulty = score(cand.text, cand.lang)
            item = CurateItem(
                event_id=cand.event.event_id,
                prompt_id=cand.pid,
                text=cand.text,
                lang=cand.lang,
                source=cand.event.source,
                user=cand.user,
                pii=cand.pii,
                vector=None if vec is None else base64.b64encode(vec.tobytes()).decode(),
                cluster=cluster,
                shard=shard,
                quality=quality,
                difficulty=difficulty,
                src=cand.msg.src,
                in_ts_ms=cand.msg.timestamp_ms,
            )
            self.counts["forwarded"] += 1
            out = self._out(
                self.s.topic_curate, cand.lang.encode(), item.model_dump_json(), cand.msg
            )
            out.label = "forwarded"
            # Near duplicates must meet: the partition is the semantic shard, or one partition
            # per language for texts without an embedding (services/embed/clusters.py).
            out.partition = (
                lexical_partition(cand.lang, self.s.curate_partitions) if shard is None else shard
            )
            outs.append(out)
        return outs

    def _embed(self, texts: list[str]) -> list[np.ndarray | None]:
        """Vectors for the texts the model can read; None for the others (mostly [UNK] tokens),
        which are not embedded at all: their cosines would be meaningless."""
        readable = [
            i
            for i, ratio in enumerate(self.embedder.unknown_token_ratio(texts))
            if ratio <= self.s.max_unknown_token_ratio
        ]
        t0 = time.perf_counter()
        vecs = self.embedder.encode([texts[i] for i in readable])
        EMBED_BATCH.observe(len(readable))
        spent = time.perf_counter() - t0
        self.counts["embedded"] += len(readable)
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
        self.counts[f"rejected_{reason}"] += 1
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

    def _dlq(self, msg: InMsg, code: str, detail: str) -> Out:
        self.counts[f"dlq_{code}"] += 1
        log.warning("dead-lettered %s: %s", msg.where, code)  # detail may quote the input
        out = dead_letter(msg, self.s.topic_dlq, code, detail)
        out.headers += _in_ts(msg)
        return out

    def _out(self, topic: str, key: bytes, value: str, msg: InMsg) -> Out:
        return Out(topic, key, value.encode(), msg.src, _in_ts(msg))


def _in_ts(msg: InMsg) -> list[tuple[str, bytes]]:
    return [] if msg.timestamp_ms is None else [(IN_TS_HEADER, str(msg.timestamp_ms).encode())]
