"""Curate: when a prompt counts as a near duplicate, and the indexes that find its neighbours."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import BaseModel, Field, model_validator

from services.settings.embedding import TransformerBackend


class DedupSettings(BaseModel):
    """Curate: near-duplicate thresholds, the vector indexes and the cascade (services/dedup,
    docs/vector-index.md)."""

    near_dup_threshold: float = Field(
        0.85,
        ge=0.5,
        le=1,
        description="cosine at or above which a prompt is a near duplicate of an accepted one; "
        "below 0.5 unrelated requests would merge; the default is the transformer backends', "
        "static has its own (see below)",
    )
    dedup_across_contexts: bool = Field(
        False,
        description="judge near and exact duplicates across conversation contexts (system "
        "prompts, tools, learned preambles) as well; false: the same question under another "
        "context is another example (docs/conversations.md)",
    )
    lexical_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="estimated Jaccard (character 3-grams, MinHash) at or above which a text "
        "the model cannot read is a near duplicate (docs/lexical.md)",
    )
    blocklist_threshold: float = Field(
        0.85,
        gt=0,
        le=1,
        description="cosine to a blocked prompt's vector at or above which a prompt is blocklisted",
    )
    order_by_priority: bool = Field(
        True, description="decide each micro-batch in descending quality x difficulty order"
    )
    dedup_recheck: int = Field(
        3,
        ge=0,
        le=10,
        description="times a curate batch is decided again when another shard committed a near "
        "duplicate of one of its acceptances after the batch read the logs; 0 = never (two near "
        "duplicates on two shards can then both be accepted when their batches overlap)",
    )
    index_ann_after: int | None = Field(
        50_000,
        ge=1,
        description="an index switches from exact (flat) to the approximate kind "
        "(FLYWHEEL_INDEX_ANN) past this many vectors; null = always exact; at least "
        "FLYWHEEL_INDEX_NLIST, to train IVF",
    )
    index_ann: Literal["ivf_pq4fs_sq8", "ivf_sq8"] = Field(
        "ivf_pq4fs_sq8",
        description="approximate index: IVF with 4-bit PQ fast-scan codes re-ranked by 8-bit "
        "scalar codes (faster at equal recall), or IVF with 8-bit codes only (smaller)",
    )
    index_nlist: int = Field(4096, ge=1, description="IVF lists")
    index_nprobe: int = Field(64, ge=1, description="IVF lists searched per query")
    faiss_threads: int = Field(
        1, ge=1, description="FAISS OpenMP threads; 1 leaves the other cores to the model"
    )
    cascade_verifier: TransformerBackend = Field(
        "openvino",
        description="the cascade backend's transformer, which verifies static candidates",
    )
    cascade_floor: float = Field(
        0.75,
        ge=0.3,
        le=1,
        description="static cosine at or above which an accepted prompt is a candidate the "
        "cascade's transformer verifies (low enough that no near duplicate is missed)",
    )
    cascade_k: int = Field(
        32, ge=1, le=256, description="static candidates verified per prompt, most similar first"
    )
    cascade_sure: float = Field(
        0.99,
        ge=0,
        le=1,
        description="static cosine at or above which a candidate is a near duplicate without "
        "the transformer; 0 = always verify",
    )
    cascade_fallback_threshold: float = Field(
        0.91,
        ge=0.5,
        le=1,
        description="static cosine at which a candidate whose text is gone (accepted before "
        "the cascade, or past its retention) counts as a near duplicate unverified",
    )
    cascade_cache: int = Field(
        50_000, ge=0, description="transformer vectors of accepted prompts kept in memory"
    )

    @model_validator(mode="after")
    def _check_index(self) -> Self:
        if self.index_ann_after is not None and self.index_ann_after < self.index_nlist:
            raise ValueError(
                f"index_ann_after ({self.index_ann_after}) must be at least index_nlist "
                f"({self.index_nlist}): IVF trains its lists on the vectors it holds"
            )
        return self
