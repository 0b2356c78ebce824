"""The cleaning chain of one message, pure: bytes in, a verdict out.

In order (docs/filters.md): size limit, UTF-8, JSON object, the ``ChatEvent`` model (each a DLQ
code); the coarse length bound (a prompt over 4 x ``max_chars`` is not normalized at all),
optional HTML stripping, normalization, personal-data redaction (before anything is hashed,
stored or logged), language identification, the filter chain and the follow-up check (each a
rejection reason). A message that passes becomes a ``Cleaned`` prompt with its prompt_id and
keyed user hash.

A conversation (contract 1.5, ``services.contract.conversation``) is cleaned whole: its system
messages, earlier turns, tool calls and results and the answer are normalized and redacted with
the turn, so nothing unredacted goes further. The turn alone is filtered; a turn that depends on
earlier ones (``services.clean.followup``) is rejected ``needs_context`` when none came with it,
and is otherwise judged together with the request it follows.

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
from services.clean.followup import needs_context
from services.clean.language import detect_language_scored
from services.clean.pii import Redactor
from services.clean.text import context_id, normalize, prompt_id, strip_html, user_hash
from services.contract.conversation import Conversation, Turn, followed, request_key
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
class Context:
    """What came with a turn, normalized and redacted: empty for a bare ``prompt``."""

    context_id: str | None = None  # system messages and tools (services.clean.text.context_id)
    system: tuple[str, ...] = ()
    tools: str | None = None  # canonical JSON
    history: tuple[Turn, ...] = ()  # the latest ``history_turns`` turns before the turn
    response: str | None = None
    follows: str | None = None  # the request a follow-up follows (it is judged with it)
    messages: bool = False  # the event came as messages: its record shows the conversation


@dataclass(frozen=True)
class Cleaned:
    """A prompt fit for the shared-state checks, embedding and curation."""

    event: ChatEvent
    text: str  # normalized and redacted
    pid: str
    lang: str
    user: str | None
    pii: list[str]
    context: Context = Context()

    @property
    def key(self) -> str:
        """What near duplicates are judged on: the request, after the one it follows."""
        return request_key(self.context.follows, self.text)


@dataclass(frozen=True)
class _Parts:
    """A conversation's raw parts, normalized, waiting for redaction (the turn is apart)."""

    conv: Conversation
    system: list[str]
    history: list[Turn]
    response: str | None

    def texts(self) -> list[str]:
        out = [*self.system, *(t.text for t in self.history)]
        return out if self.response is None else [*out, self.response]


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
        takes every surviving text at once, a conversation's other messages included
        (``Redactor.redact_batch``: one ``nlp.pipe`` pass when the NER tier is on), then
        language, filters and the follow-up check go message by message again. CPU-bound: the
        ingest stage calls it in a worker thread."""
        out: list[Verdict | None] = []
        todo: list[tuple[int, ChatEvent, str, _Parts]] = []
        for i, raw in enumerate(raws):
            prepared = self._prepare(raw or b"")
            if isinstance(prepared, tuple):
                todo.append((i, *prepared))
                out.append(None)
            else:
                out.append(prepared)
        texts: list[str] = []
        for _, _, turn, parts in todo:
            texts.append(turn)
            texts.extend(parts.texts())
        redacted = iter(self.redactor.redact_batch(texts))
        for i, event, _, parts in todo:
            clean, pii = next(redacted)
            others = [next(redacted) for _ in parts.texts()]
            out[i] = self._finish(event, clean, pii, parts, others)
        return [v for v in out if v is not None]

    def _prepare(self, raw: bytes) -> Verdict | tuple[ChatEvent, str, _Parts]:
        """Parse and normalize: a verdict, or the event, its normalized turn and the other
        parts of its conversation to redact."""
        event = self.parse(raw)
        if isinstance(event, Invalid):
            return event
        s = self.s
        conv = Conversation.of(event)
        if len(conv.turn) > 4 * s.max_chars:  # skip normalizing megabytes
            return Refused(event, Reason.TOO_LONG, None)
        if sum(map(len, conv.system)) + len(conv.tools or "") > s.max_context_chars:
            return Refused(event, Reason.TOO_LONG, None)
        clean = normalize(strip_html(conv.turn) if s.strip_html else conv.turn)
        if not clean:
            return Refused(event, Reason.EMPTY, None)
        history = [Turn(t.role, self._normalize(t.text)) for t in conv.history[-s.history_turns :]]
        parts = _Parts(
            conv,
            [self._normalize(t) for t in conv.system],
            [t for t in history if t.text],
            self._normalize(conv.response) or None if conv.response is not None else None,
        )
        return event, clean, parts

    def _normalize(self, text: str) -> str:
        """A message normalized; a history turn or an answer over 4 x ``max_chars`` is cut
        there first, and every part to ``max_chars`` after (the turn itself is refused)."""
        text = text[: 4 * self.s.max_chars]
        text = normalize(strip_html(text) if self.s.strip_html else text)
        return text[: self.s.max_chars]

    def _finish(
        self,
        event: ChatEvent,
        clean: str,
        pii: list[str],
        parts: _Parts,
        others: list[tuple[str, list[str]]],
    ) -> Verdict:
        """Language, the filter chain and the follow-up check on the redacted turn."""
        lang, score = detect_language_scored(clean, event.lang)
        reason = run_chain(self.chain, Doc(clean, lang, score, pii))
        if reason is not None:
            return Refused(event, reason, lang)
        texts = iter(t for t, _ in others)
        system = tuple(next(texts) for _ in parts.system)
        history = tuple(Turn(t.role, next(texts)) for t in parts.history)
        response = next(texts) if parts.response is not None else None
        follows = None
        if needs_context(clean, lang):
            follows = followed([(t.role, t.text) for t in history])
            if follows is None:
                return Refused(event, Reason.NEEDS_CONTEXT, lang)
        ctx = Context(
            context_id(system, parts.conv.tools),
            system,
            parts.conv.tools,
            history,
            response,
            follows,
            event.messages is not None,
        )
        kinds = sorted({k for _, found in others for k in found} | set(pii))
        user = user_hash(event.user_id, self.user_key)
        scope = None if self.s.dedup_across_contexts else ctx.context_id
        return Cleaned(
            event, clean, prompt_id(request_key(follows, clean), scope), lang, user, kinds, ctx
        )

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
