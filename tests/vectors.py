"""Synthetic data for the vector index and vector log tests: clustered unit vectors, prompt ids
and owners that follow from a row number, and a small index that switches to IVF early."""

from __future__ import annotations

import numpy as np

from services.dedup.index import VectorIndex

DIM = 32


def clustered(n: int, seed: int, clusters: int = 12, spread: float = 0.35) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, DIM))
    x = centres[rng.integers(0, clusters, n)] + rng.normal(scale=spread, size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def pids(start: int, n: int) -> list[str]:
    return [f"{i * 7919 + 13:032x}" for i in range(start, start + n)]


def owners(start: int, n: int) -> list[str]:
    return [f"t.curate/{i % 3}/{i}" for i in range(start, start + n)]


def small_ivf(**kw) -> VectorIndex:
    return VectorIndex(DIM, **({"ann_after": 300, "nlist": 8, "nprobe": 3} | kw))
