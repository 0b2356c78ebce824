"""Text normalization and the ids derived from it. Pure functions; no I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Sequence

import regex

# Zero-width and bidi formatting characters: invisible, used to dodge exact de-duplication.
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u00ad]")
_HSPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# A CJK character: Han ideographs, Japanese kana, Korean Hangul syllables.
CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


# Every code point of category C (control, format, surrogate, private use, unassigned) except
# newline and tab, which code and lists need. The `regex` module matches categories in C.
_CONTROLS = regex.compile(r"[^\P{C}\n\t]")
_ASCII_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_LETTER = re.compile(r"[^\W\d_]")


def _drop_controls(text: str) -> str:
    if text.isascii():
        return _ASCII_CONTROLS.sub("", text)
    return _CONTROLS.sub("", text)


# A UTF-8 lead byte read as Latin-1/cp1252 ("Ã", "â", ...) followed by a continuation byte read
# the same way: the signature of mojibake. Only texts that show it are handed to ftfy.
_MOJIBAKE_HINT = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)
_TAG = re.compile(
    r"<(?:script|style)\b.*?</(?:script|style)\s*>|<!--.*?-->|</?[A-Za-z][^<>]*>", re.S | re.I
)


def repair_mojibake(text: str) -> str:
    """Undo UTF-8 text decoded as Latin-1 or cp1252 ("cafÃ©" -> "café"), via ftfy."""
    if not _MOJIBAKE_HINT.search(text):
        return text
    import ftfy

    return ftfy.fix_encoding(text)


def strip_html(text: str) -> str:
    """Remove tags, comments, scripts and styles; unescape entities. Optional (a setting):
    prompts about HTML need their tags."""
    import html

    return html.unescape(_TAG.sub(" ", text))


def _normalize_once(text: str) -> str:
    if text.isascii():  # the common case: NFKC and mojibake cannot apply
        text = _drop_controls(text.replace("\r\n", "\n").replace("\r", "\n"))
        if "\n" not in text:
            return " ".join(text.split())
        lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
        return _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
    text = repair_mojibake(text)
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _drop_controls(text)
    lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
    text = _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
    return unicodedata.normalize("NFKC", text)


def normalize(text: str) -> str:
    """Canonical form of a prompt: mojibake repaired, NFKC, no invisible or control characters,
    tidy whitespace.

    Idempotent: ``normalize(normalize(t)) == normalize(t)`` for every string. One pass almost
    always reaches the fixpoint; removing a character can expose mojibake or a composable pair,
    so passes repeat until nothing changes (property-tested).
    """
    for _ in range(8):
        again = _normalize_once(text)
        if again == text:
            break
        text = again
    return text


def dedup_key(normalized: str) -> str:
    """The form two prompts must share to be exact duplicates: case-folded normalized text."""
    return normalized.casefold()


def prompt_id(normalized: str, context: str | None = None) -> str:
    """Stable id of a normalized prompt: the first 128 bits of sha256 of its dedup key, as hex;
    within a conversation context (``context_id``), of the context and the key."""
    key = dedup_key(normalized)
    if context is not None:
        key = f"{context}\x1f{key}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def context_id(system: Sequence[str], tools: str | None) -> str | None:
    """The identity of a conversation's context: 64 bits of sha256 of its (normalized,
    redacted) system messages and its tool definitions (canonical JSON); None without either."""
    if not system and not tools:
        return None
    return digest_context(None, "\x1e".join(system) + "\x1f" + (tools or ""))


def digest_context(outer: str | None, text: str) -> str:
    """A context id for ``text`` within the context ``outer`` (None: at the top)."""
    joined = f"{outer or ''}\x1d{text}"
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def event_key(event_id: str) -> str:
    """The stored form of an event id: 32 hex digits of its SHA-256 (ids are producer data)."""
    return hashlib.sha256(event_id.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def user_hash(user_id: str | None, key: bytes) -> str | None:
    """Keyed hash of a user id (HMAC-SHA256, 64 bits hex). The raw id never leaves the worker."""
    if user_id is None:
        return None
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def cjk_ratio(text: str) -> float:
    """Share of the letters that are CJK (Chinese, Japanese kana, Korean)."""
    if text.isascii():
        return 0.0
    letters = len(_LETTER.findall(text))
    return len(CJK_CHAR.findall(text)) / letters if letters else 0.0
