"""Ingest: what a chat event must pass before it is embedded (cleaning, limits, personal data)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, Field, SecretStr, model_validator


class CleanSettings(BaseModel):
    """Ingest: cleaning, per-user limits and personal data (services/clean, docs/filters.md,
    docs/pii.md)."""

    max_message_bytes: int = Field(
        4_000_000, ge=1024, description="larger input messages go to the DLQ unparsed"
    )
    min_chars: int = Field(
        4, ge=1, description="shorter normalized prompts are rejected as too_short"
    )
    max_chars: int = Field(
        8000, ge=16, description="longer normalized prompts are rejected as too_long"
    )
    max_context_chars: int = Field(
        32_000,
        ge=256,
        description="a conversation whose system prompts and tool definitions together are "
        "longer (characters) is rejected as too_long",
    )
    history_turns: int = Field(
        6,
        ge=1,
        le=100,
        description="earlier turns of a conversation kept with an accepted prompt (the latest; "
        "each cut to max_chars characters)",
    )
    min_tokens: int = Field(
        2, ge=0, description="fewer tokens (words; CJK characters) are rejected as too_short"
    )
    max_tokens: int = Field(2000, ge=1, description="more tokens are rejected as too_long")
    strip_html: bool = Field(False, description="remove HTML tags before normalizing")
    max_special_ratio: float = Field(
        0.3,
        ge=0,
        le=1,
        description="share of non-ASCII symbols above which a prompt is rejected as "
        "special_characters",
    )
    max_char_repeat_ratio: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of the most common character above which a prompt (10+ characters) "
        "is rejected as repetitive",
    )
    max_word_repeat_ratio: float = Field(
        0.6,
        ge=0,
        le=1,
        description="share of repeated words above which a prompt (6+ words) is rejected as "
        "repetitive",
    )
    lang_allow: list[str] = Field(
        default_factory=lambda: ["en", "zh"],
        description="allowed languages (JSON list in the environment); empty = all",
    )
    lang_min_score: float = Field(
        0.4, ge=0, le=1, description="minimum detector score for texts of 20+ characters"
    )
    blocklist_patterns: list[str] = Field(
        default_factory=list,
        description="regular expressions (case-insensitive); a prompt matching one is blocklisted",
    )
    rate_capacity: int = Field(30, ge=1, description="per-user token bucket size (prompts)")
    rate_refill_per_s: float = Field(
        0.5, gt=0, description="per-user token bucket refill rate (prompts per second)"
    )
    flood_window_s: int = Field(
        3600, ge=1, description="window of the per-user near-identical counter (seconds)"
    )
    flood_max: int = Field(
        3, ge=1, description="near-identical prompts one user may send per window"
    )
    user_hash_key: SecretStr = Field(
        SecretStr("flywheel-dev-key-change-me"),
        description="HMAC key for the `user` field; rotate per deployment",
        json_schema_extra={"deploy_required": True},
    )
    seen_ttl_s: int = Field(
        30 * 24 * 3600, ge=60, description="how long an exact-duplicate hash is remembered"
    )
    pii_ner: bool = Field(
        True,
        description="also redact names without a cue word, found by the spaCy NER tier "
        "(docs/pii.md); the model must load at start or the worker stops",
    )
    pii_phone_regions: list[str] = Field(
        default_factory=lambda: (
            "US CA GB DE FR ES IT NL CH AT PL RU CN JP KR IN BR MX AU ZA".split()
        ),
        description="regions whose national phone formats are recognised (JSON list of ISO "
        "codes); numbers written with +country code are recognised for every region",
    )

    @model_validator(mode="after")
    def _check_lengths(self) -> Self:
        if self.min_chars >= self.max_chars:
            raise ValueError("min_chars must be below max_chars")
        return self
