"""Diversity: topic clusters, the shards they route to, quotas, the synthetic mix and gaps."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DiversitySettings(BaseModel):
    """Diversity: topic clusters and shards, quotas, the synthetic mix, coverage gaps
    (services/diversity, docs/diversity.md)."""

    topics_path: str = Field(
        "",
        description="cold-start topic centroids (.npz); empty = services/embed/data/topics-v1.npz",
    )
    topics_learn: bool = Field(
        True,
        description="re-train the topic clusters (quotas, dashboard) from a sample of accepted "
        "prompts; off = the cold-start centroids (FLYWHEEL_TOPICS_PATH) forever",
    )
    topics_k: int = Field(64, ge=2, le=1024, description="most clusters a learned model has")
    topics_sample: int = Field(
        4096, ge=64, description="latest acceptances kept (redacted) to learn clusters from"
    )
    topics_first_after: int = Field(
        50, ge=10, description="acceptances before the first learned model"
    )
    topics_retrain_every: int = Field(
        2000,
        ge=10,
        description="re-train after this many more acceptances (doubling from the first "
        "training until then)",
    )
    shard_slack: float = Field(
        2.0,
        ge=1,
        description="no curate shard gets more than this times the mean load (by the topic "
        "clusters' training weights); lower = more even shards, fewer similar clusters together",
    )
    quota_max_share: float = Field(
        0.1,
        gt=0,
        le=1,
        description="share of the accepted window one topic cluster may hold (times its "
        "feedback weight); 1 = no quotas",
    )
    quota_min_window: int = Field(
        200, ge=1, description="shares apply to max(window total + 1, this)"
    )
    quota_min_cluster: int = Field(
        4,
        ge=1,
        description="the per-cluster synthetic share applies to max(cluster count + 1, this)",
    )
    quota_window_s: int = Field(
        3600, ge=1, description="sliding window of quotas and mix (seconds)"
    )
    quota_bucket_s: int = Field(60, ge=1, description="granularity of that window (seconds)")
    mix_max_synthetic: float = Field(
        0.3, ge=0, le=1, description="share of the accepted window synthetic prompts may hold"
    )
    mix_max_synthetic_per_cluster: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of one topic cluster's accepted prompts synthetic ones may hold (in "
        "the window, over max(cluster count + 1, quota_min_cluster)); 1 = no per-cluster rule",
    )
    gaps_interval_s: float = Field(
        300.0,
        ge=0,
        description="the ops server publishes coverage gaps this often; 0 = on demand only",
    )
    gaps_min_window: int = Field(
        50, ge=1, description="no gaps are published before the window holds this many prompts"
    )
    gaps_examples: int = Field(3, ge=0, le=20, description="accepted prompt ids per gap record")
    min_crowd: int = Field(
        10,
        ge=0,
        description="distinct users with real prompts accepted in a topic cluster over the "
        "quota window before its words, examples and per-cluster figures are shown (gap "
        "records, ops API, dashboard, metrics); 0 = show every cluster (docs/privacy.md)",
    )
