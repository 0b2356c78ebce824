"""Personal data and secrets in prompt text, replaced by typed placeholders such as ``{{EMAIL}}``.

Two tiers. The pattern tier (``redact``) runs on every prompt: bounded patterns with checksums
and context words (patterns.py, validators.py, context.py), phone numbers of every region
(phones.py), addresses by cue and shape (addresses.py), names by cue and context (names.py,
names_zh.py), names without a cue by dictionary near a first-person word (dictionary.py); the
letters and words these share are lexicon.py's. Linear time on any input and ~10^4 prompts/s on one
core (python -m bench pii). The NER tier (``Redactor(ner=True).redact_batch``) adds names that come
without a cue, with a spaCy model; it costs milliseconds per prompt, so it takes whole batches,
in a worker thread.

Redaction runs before anything is hashed, logged or stored: raw values never leave the worker.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from services.clean.pii import addresses, dictionary, names, names_zh, phones
from services.clean.pii.context import named
from services.clean.pii.ner import Ner, NerUnavailable, apply
from services.clean.pii.patterns import DETECTORS as PATTERN_DETECTORS
from services.clean.pii.patterns import Detector, Has

__all__ = ["DETECTORS", "Detector", "NerUnavailable", "Redactor", "placeholder", "redact"]

# Structured values first (a phone must not eat a card number), then phones, then addresses
# before names (a street named after a person is an address).
CUED_DETECTORS: tuple[Detector, ...] = addresses.DETECTORS + names_zh.DETECTORS + names.DETECTORS
DETECTORS: tuple[Detector, ...] = PATTERN_DETECTORS + CUED_DETECTORS


def placeholder(kind: str) -> str:
    return "{{" + kind + "}}"


def apply_detector(det: Detector, text: str, found: set[str]) -> str:
    """``text`` with every valid match of ``det`` replaced by its placeholder; adds its kind to
    ``found`` when it redacted anything."""
    m0 = det.pattern.search(text)
    if m0 is None:  # the common case: no closure, no substitution
        return text
    groups = list(det.pattern.groupindex)  # alternatives name their value v, w, ...
    grouped = bool(groups)

    def repl(m: re.Match[str]) -> str:
        group = next((g for g in groups if m.group(g) is not None), "v") if grouped else "v"
        value = m.group(group) if grouped else m.group(0)
        if det.around is not None and not det.around(m.string, m.start(), m.end()):
            return m.group(0)
        start = m.start(group) - m.start() if grouped else 0
        end = m.end(group) - m.start() if grouped else m.end() - m.start()
        if det.trim is not None:
            cut = det.trim(value)
            value, end = value[:cut], start + cut
        if det.valid is not None and not det.valid(value):
            if not (det.context and named(m.string, m.start(), det.kind)):
                return m.group(0)
        found.add(det.kind)
        whole = m.group(0)
        return whole[:start] + placeholder(det.kind) + whole[end:]

    return det.pattern.sub(repl, text)  # from the start: lookbehinds and context see it all


def redact(
    text: str, phone_regions: tuple[str, ...] = phones.DEFAULT_REGIONS
) -> tuple[str, list[str]]:
    """Text with every value the pattern tier detects replaced by its placeholder, and the
    sorted kinds found. Never raises on a string; linear in its length."""
    found: set[str] = set()
    digits = sum(map(text.count, "0123456789"))
    low = text.casefold()  # one case-folded copy for every keyword precheck
    for min_digits, hit, pre, det in _PATTERN_PLAN:
        if digits >= min_digits and (hit(low) if hit is not None else pre(text)):
            out = apply_detector(det, text, found)
            if out is not text:
                text, low = out, out.casefold()
    if digits >= 7:
        text, phone = phones.redact_phones(text, phone_regions)
        if phone:
            found.add("PHONE")
            low = text.casefold()
    for min_digits, hit, pre, det in _CUED_PLAN:
        if digits >= min_digits and (hit(low) if hit is not None else pre(text)):
            out = apply_detector(det, text, found)
            if out is not text:
                text, low = out, out.casefold()
    text, listed = dictionary.redact_names(text, placeholder("PERSON"))
    if listed:
        found.add("PERSON")
    return text, sorted(found)


_Plan = tuple[tuple[int, Callable[[str], bool] | None, Callable[[str], bool], Detector], ...]


def _plan(dets: tuple[Detector, ...]) -> _Plan:
    """Each detector's gate, looked up once: its digit minimum and its keyword precheck on the
    case-folded text (``Has.hit``) or its own precheck on the text."""
    return tuple(
        (d.min_digits, d.precheck.hit if isinstance(d.precheck, Has) else None, d.precheck, d)
        for d in dets
    )


_PATTERN_PLAN = _plan(PATTERN_DETECTORS)
_CUED_PLAN = _plan(CUED_DETECTORS)


class Redactor:
    """Both tiers, configured once. With ``ner=True`` the model loads here, at start: a missing
    or altered model is one log line and ``NerUnavailable``, never a silent pattern-only run."""

    def __init__(
        self, ner: bool = False, phone_regions: Sequence[str] = phones.DEFAULT_REGIONS
    ) -> None:
        self.phone_regions = tuple(phone_regions)
        dictionary.lists()  # the name lists load here, at start, or fail with one clear line
        self.ner = Ner() if ner else None

    def redact(self, text: str) -> tuple[str, list[str]]:
        return self.redact_batch([text])[0]

    def redact_batch(self, texts: Sequence[str]) -> list[tuple[str, list[str]]]:
        """Each text redacted by the pattern tier, then (if on) by NER in one ``nlp.pipe``
        pass. CPU-bound for milliseconds per text with NER: call it in an executor."""
        out = [redact(t, self.phone_regions) for t in texts]
        if self.ner is None:
            return out
        spans = self.ner.spans([t for t, _ in out])
        for i, found in enumerate(spans):
            if found:
                text, kinds = out[i]
                out[i] = (apply(text, found), sorted({*kinds, *(k for _, _, k in found)}))
        return out
