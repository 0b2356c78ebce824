"""Text normalization and the ids derived from it. Pure functions; no I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata

# Zero-width and bidi formatting characters: invisible, used to dodge exact de-duplication.
_INVISIBLE = re.compile("[\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\u00ad]")
_HSPACE = re.compile(r"[^\S\n]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]")


def _drop_controls(text: str) -> str:
    # Keep newlines and tabs (code, lists); drop every other control or unassigned code point.
    return "".join(
        ch
        for ch in text
        if ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn")
    )


def normalize(text: str) -> str:
    """Canonical form of a prompt: NFKC, no invisible or control characters, tidy whitespace.

    Idempotent: ``normalize(normalize(t)) == normalize(t)`` for every string.
    """
    text = unicodedata.normalize("NFKC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _INVISIBLE.sub("", text)
    text = _drop_controls(text)
    lines = [_HSPACE.sub(" ", line).strip() for line in text.split("\n")]
    text = _MANY_NEWLINES.sub("\n\n", "\n".join(lines)).strip()
    # NFKC can compose characters that the steps above exposed; one more pass makes it a fixpoint.
    return unicodedata.normalize("NFKC", text)


def dedup_key(normalized: str) -> str:
    """The form two prompts must share to be exact duplicates: case-folded normalized text."""
    return normalized.casefold()


def prompt_id(normalized: str) -> str:
    """Stable id of a normalized prompt: the first 128 bits of sha256 of its dedup key, as hex."""
    return hashlib.sha256(dedup_key(normalized).encode("utf-8")).hexdigest()[:32]


def user_hash(user_id: str | None, key: bytes) -> str | None:
    """Keyed hash of a user id (HMAC-SHA256, 64 bits hex). The raw id never leaves the worker."""
    if user_id is None:
        return None
    return hmac.new(key, user_id.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def cjk_ratio(text: str) -> float:
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for ch in letters if _CJK.match(ch)) / len(letters)
