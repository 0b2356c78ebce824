"""Ingest: prompts that copy an item of a registered evaluation set (docs/decontamination.md)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ContaminationSettings(BaseModel):
    """Contamination: the check at ingest against the evaluation sets registered with ``flywheel
    evalsets add`` (services/dedup/evalsets.py, docs/decontamination.md). Without a registered
    set the check costs nothing."""

    contamination_check: bool = Field(
        True, description="reject prompts that copy a registered evaluation item (contaminated)"
    )
    contamination_ngram: int = Field(
        6,
        ge=3,
        le=20,
        description="words in the n-grams a prompt shares with an evaluation item (a Chinese "
        "character counts as a word); smaller n catches more edited copies and more look-alikes",
    )
    contamination_coverage: float = Field(
        0.6,
        gt=0,
        le=1,
        description="share of an evaluation item's words a prompt covers with shared n-grams at "
        "or above which the prompt is contaminated (open-instruct's token coverage)",
    )
    contamination_similarity: float = Field(
        0.9,
        gt=0.5,
        le=1,
        description="cosine between a prompt's vector and an evaluation item's at or above "
        "which the prompt is contaminated; 1 turns the embedding check off",
    )
    contamination_min_words: int = Field(
        5,
        ge=1,
        le=50,
        description="evaluation items with fewer words are not matched at all (a one-word item "
        "must not match every prompt that contains the word)",
    )
    contamination_refresh_s: float = Field(
        2.0,
        gt=0,
        le=300,
        description="how often a worker checks whether the registered evaluation sets changed",
    )
