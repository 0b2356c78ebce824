"""The cleaning chain of one message, pure: bytes in, a verdict out.

In order (docs/filters.md): size limit, UTF-8, JSON object, the ``ChatEvent`` model (each a DLQ
code); the coarse length bound (a prompt over 4 x ``max_chars`` is not normalized at all),
optional HTML stripping, normalization, personal-data redaction (before anything is hashed,
stored or logged), language identification and the filter chain (each a rejection reason).
A message that passes becomes a ``Cleaned`` prompt with its prompt_id and keyed user hash.

The ingest stage runs ``screen_batch`` off the event loop; the batch form lets a tier that
works on many texts at once (a named-entity model) see the whole micro-batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from services.clean.filters import Doc, default_chain, run_chain
from services.clean.language import detect_language_scored
from services.clean.pii import redact
from services.clean.text import normalize, prompt_id, strip_html, user_hash
from services.contract.envelope import validation_detail
from services.contract.records import ChatEvent, Reason
from services.settings import Settings


@dataclass(frozen=True)
class Invalid:
    """Not a chat event: dead-lettered with ``code`` (docs/contract.md lists the codes)."""

    code: str
    detail: str


@dataclass(frozen=True)
class Refused:
    """A valid event whose prompt is rejected with ``reason``."""

    event: ChatEvent
    reason: Reason
    lang: str | None


@dataclass(frozen=True)
class Cleaned:
    """A prompt fit for the shared-state checks, embedding and curation."""

    event: ChatEvent
    text: str  # normalized and redacted
    pid: str
    lang: str
    user: str | None
    pii: list[str]


Verdict = Invalid | Refused | Cleaned


class Stopwatch:
    """Seconds spent per step of the chain, summed over calls (bench/cleaning.py)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def start(self) -> None:
        self._last = time.perf_counter()

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.seconds[step] = self.seconds.get(step, 0.0) + now - self._last
        self._last = now


class Cleaner:
    def __init__(self, settings: Settings, stopwatch: Stopwatch | None = None) -> None:
        self.s = settings
        self.chain = default_chain(settings)
        self.user_key = settings.user_hash_key.get_secret_value().encode()
        self.stopwatch = stopwatch

    def screen_batch(self, raws: Sequence[bytes | None]) -> list[Verdict]:
        return [self.screen(raw) for raw in raws]

    def screen(self, raw: bytes | None) -> Verdict:
        watch = self.stopwatch
        if watch is not None:
            watch.start()
        event = self.parse(raw or b"")
        if watch is not None:
            watch.lap("parse")
        if isinstance(event, Invalid):
            return event
        if len(event.prompt) > 4 * self.s.max_chars:  # skip normalizing megabytes
            return Refused(event, Reason.TOO_LONG, None)
        raw_text = strip_html(event.prompt) if self.s.strip_html else event.prompt
        clean = normalize(raw_text)
        if watch is not None:
            watch.lap("normalize")
        if not clean:
            return Refused(event, Reason.EMPTY, None)
        clean, pii = redact(clean)
        if watch is not None:
            watch.lap("redact")
        lang, score = detect_language_scored(clean, event.lang)
        if watch is not None:
            watch.lap("language")
        reason = run_chain(self.chain, Doc(clean, lang, score, pii))
        if watch is not None:
            watch.lap("filters")
        if reason is not None:
            return Refused(event, reason, lang)
        user = user_hash(event.user_id, self.user_key)
        return Cleaned(event, clean, prompt_id(clean), lang, user, pii)

    def parse(self, raw: bytes) -> ChatEvent | Invalid:
        if len(raw) > self.s.max_message_bytes:
            return Invalid("too_large", f"{len(raw)} bytes > {self.s.max_message_bytes}")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Invalid("invalid_utf8", str(exc))
        try:
            data = json.loads(text)
        except ValueError as exc:
            return Invalid("invalid_json", str(exc))
        except RecursionError:  # found by fuzzing: nesting deeper than the parser's stack
            return Invalid("invalid_json", "nested too deeply")
        if not isinstance(data, dict):
            return Invalid("not_an_object", f"JSON {type(data).__name__}, expected object")
        try:
            return ChatEvent.model_validate(data)
        except RecursionError:
            return Invalid("invalid_event", "nested too deeply")
        except ValidationError as exc:
            return Invalid("invalid_event", validation_detail(exc))
