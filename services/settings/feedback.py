"""Feedback: how annotator decisions flowing back weigh the topic clusters' quotas."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class FeedbackSettings(BaseModel):
    """Feedback: cluster weights from annotator votes, agreement, review rounds
    (services/pipeline/feedback.py, docs/feedback.md)."""

    feedback_prior: float = Field(
        10.0, ge=0, description="pseudo-votes pulling a cluster's rate to the global rate"
    )
    feedback_weight_min: float = Field(0.25, gt=0, description="lowest cluster quota weight")
    feedback_weight_max: float = Field(2.0, gt=0, description="highest cluster quota weight")
    feedback_agreement: Literal["all", "agreed", "weighted"] = Field(
        "agreed",
        description="which votes make cluster weights: every vote, only prompts whose annotators "
        "agree (a majority of at least feedback_agree_min), or votes weighted by their prompt's "
        "agreement",
    )
    feedback_agree_min: float = Field(
        0.66, gt=0.5, le=1, description="majority share at which a prompt's annotators agree"
    )
    feedback_max_rounds: int = Field(
        1, ge=0, le=5, description="extra annotation rounds a disagreed prompt may be sent back for"
    )
    feedback_ttl_s: int = Field(
        30 * 24 * 3600,
        ge=60,
        description="how long an accepted prompt's cluster and vector are kept for feedback",
    )
