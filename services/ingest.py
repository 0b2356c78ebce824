"""Ingest stage: raw bytes from ``chat.events`` -> DLQ, a rejection, or a curate item.

Per micro-batch: decode and validate each message (DLQ on failure), normalize, check lengths,
claim the exact-duplicate key in Redis, embed the survivors in one batch, and route them to the
curate topic keyed by their index (language) so that near duplicates meet in one place.
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

from .contract import ChatEvent, CurateItem, Reason, RejectionRecord, now_utc
from .embedding import Embedder
from .language import detect_language
from .runner import InMsg, Out
from .settings import Settings
from .stores import RedisSeenStore
from .text import normalize, prompt_id, user_hash

log = logging.getLogger(__name__)

IN_TS_HEADER = "fw-in-ts"


@dataclass
class _Candidate:
    msg: InMsg
    event: ChatEvent
    text: str
    pid: str
    lang: str


class IngestStage:
    def __init__(self, settings: Settings, seen: RedisSeenStore, embedder: Embedder) -> None:
        self.s = settings
        self.seen = seen
        self.embedder = embedder
        self.user_key = settings.user_hash_key.get_secret_value().encode()
        self.counts: Counter[str] = Counter()

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
        if not isinstance(data, dict):
            return self._dlq(msg, "not_an_object", f"JSON {type(data).__name__}, expected object")
        try:
            event = ChatEvent.model_validate(data)
        except ValidationError as exc:
            errors = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                for e in exc.errors(include_input=False, include_url=False)
            )
            return self._dlq(msg, "invalid_event", errors)

        if len(event.prompt) > 4 * self.s.max_chars:  # skip normalizing megabytes
            return self._reject(msg, event, Reason.TOO_LONG, None)
        clean = normalize(event.prompt)
        if not clean:
            return self._reject(msg, event, Reason.EMPTY, None)
        if len(clean) < self.s.min_chars:
            return self._reject(msg, event, Reason.TOO_SHORT, None)
        if len(clean) > self.s.max_chars:
            return self._reject(msg, event, Reason.TOO_LONG, None)
        return _Candidate(msg, event, clean, prompt_id(clean), detect_language(clean, event.lang))

    async def _embed_and_route(self, cands: list[_Candidate]) -> list[Out]:
        if not cands:
            return []
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(None, self._embed, [c.text for c in cands])
        outs = []
        for cand, vec in zip(cands, vectors, strict=True):
            item = CurateItem(
                event_id=cand.event.event_id,
                prompt_id=cand.pid,
                text=cand.text,
                lang=cand.lang,
                source=cand.event.source,
                user=user_hash(cand.event.user_id, self.user_key),
                vector=None if vec is None else base64.b64encode(vec.tobytes()).decode(),
                src=cand.msg.src,
                in_ts_ms=cand.msg.timestamp_ms,
            )
            self.counts["forwarded"] += 1
            outs.append(
                self._out(self.s.topic_curate, cand.lang.encode(), item.model_dump_json(), cand.msg)
            )
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
        log.debug("embedded %d of %d in %.3fs", len(readable), len(texts), time.perf_counter() - t0)
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
        return self._out(self.s.topic_rejected, event.event_id.encode(), rec.model_dump_json(), msg)

    def _dlq(self, msg: InMsg, code: str, detail: str) -> Out:
        self.counts[f"dlq_{code}"] += 1
        log.warning("dead-lettered %s: %s", msg.where, code)  # detail may quote the input
        out = Out(
            self.s.topic_dlq,
            msg.key,
            msg.value or b"",
            msg.src,
            [
                ("fw-error", code.encode()),
                ("fw-error-detail", detail[:1000].encode("utf-8", "replace")),
                ("fw-topic", msg.topic.encode()),
                ("fw-partition", str(msg.partition).encode()),
                ("fw-offset", str(msg.offset).encode()),
            ],
        )
        out.headers += _in_ts(msg)
        return out

    def _out(self, topic: str, key: bytes, value: str, msg: InMsg) -> Out:
        return Out(topic, key, value.encode(), msg.src, _in_ts(msg))


def _in_ts(msg: InMsg) -> list[tuple[str, bytes]]:
    return [] if msg.timestamp_ms is None else [(IN_TS_HEADER, str(msg.timestamp_ms).encode())]
