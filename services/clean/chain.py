"""The cleaning chain of one message, pure: bytes in, a verdict out.

In order (docs/filters.md): size limit, UTF-8, JSON object, the ``ChatEvent`` model (each a DLQ
code); the coarse length bound (a prompt over 4 x ``max_chars`` is not normalized at all),
optional HTML stripping, normalization, personal-data redaction (before anything is hashed,
stored or logged), language identification and the filter chain (each a rejection reason).
A message that passes becomes a ``Cleaned`` prompt with its prompt_id and keyed user hash.

The ingest stage runs ``screen_batch`` off the event loop, on a whole micro-batch: redaction
sees every text of the batch at once, so the NER tier (``FLYWHEEL_PII_NER``) runs one
``nlp.pipe`` pass per batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError

from services.clean.filters import Doc, default_chain, run_chain
from services.clean.language import detect_language_scored
from services.clean.pii import Redactor
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


class Cleaner:
    """The chain, configured once. The redactor is the one the settings ask for: with
    ``pii_ner`` the NER model loads here, at start, and a model that fails to load raises
    ``NerUnavailable`` (a ``ConfigError``) after one error line; it never degrades silently."""

    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.chain = default_chain(settings)
        self.user_key = settings.user_hash_key.get_secret_value().encode()
        self.redactor = Redactor(ner=settings.pii_ner, phone_regions=settings.pii_phone_regions)

    def screen(self, raw: bytes | None) -> Verdict:
        return self.screen_batch([raw])[0]

    def screen_batch(self, raws: Sequence[bytes | None]) -> list[Verdict]:
        """Each message's verdict. Parsing and normalizing go message by message, redaction
        takes every surviving text at once (``Redactor.redact_batch``: one ``nlp.pipe`` pass
        when the NER tier is on), then language and filters go message by message again.
        CPU-bound: the ingest stage calls it in a worker thread."""
        out: list[Verdict | None] = []
        todo: list[tuple[int, ChatEvent, str]] = []
        for i, raw in enumerate(raws):
            prepared = self._prepare(raw or b"")
            if isinstance(prepared, tuple):
                todo.append((i, *prepared))
                out.append(None)
            else:
                out.append(prepared)
        redacted = self.redactor.redact_batch([text for _, _, text in todo])
        for (i, event, _), (clean, pii) in zip(todo, redacted, strict=True):
            out[i] = self._finish(event, clean, pii)
        return [v for v in out if v is not None]

    def _prepare(self, raw: bytes) -> Verdict | tuple[ChatEvent, str]:
        """Parse and normalize: a verdict, or the event and its normalized text to redact."""
        event = self.parse(raw)
        if isinstance(event, Invalid):
            return event
        if len(event.prompt) > 4 * self.s.max_chars:  # skip normalizing megabytes
            return Refused(event, Reason.TOO_LONG, None)
        raw_text = strip_html(event.prompt) if self.s.strip_html else event.prompt
        clean = normalize(raw_text)
        if not clean:
            return Refused(event, Reason.EMPTY, None)
        return event, clean

    def _finish(self, event: ChatEvent, clean: str, pii: list[str]) -> Verdict:
        """Language and the filter chain on the redacted text."""
        lang, score = detect_language_scored(clean, event.lang)
        reason = run_chain(self.chain, Doc(clean, lang, score, pii))
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
