"""Brute-force statements of what production computes fast, for tests and benchmarks to compare
against: the greedy rule over cosine and over estimated Jaccard, the cascade rule, the vector
log's quantization and the row numbers of a search. None of them runs in a worker."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from services.dedup.index import VectorIndex


def greedy_reference(vectors: np.ndarray, threshold: float) -> list[bool]:
    """Keep i iff max cosine to every kept j < i is below the threshold."""
    return [keep for keep, _, _ in _greedy(vectors, threshold, lambda k, v: k @ v)]


def greedy_lexical_reference(
    sigs: np.ndarray, threshold: float
) -> list[tuple[bool, int | None, float | None]]:
    """Keep i iff its estimated Jaccard to every kept j < i is below the threshold. Per row:
    (kept, the most similar kept row (earliest on ties), that estimate)."""
    return _greedy(sigs, threshold, lambda k, s: np.count_nonzero(k == s, axis=1) / sigs.shape[1])


def _greedy(
    rows: np.ndarray, threshold: float, sim: Callable[[np.ndarray, np.ndarray], np.ndarray]
) -> list[tuple[bool, int | None, float | None]]:
    kept: list[int] = []
    out: list[tuple[bool, int | None, float | None]] = []
    for i in range(rows.shape[0]):
        if not kept:
            out.append((True, None, None))
            kept.append(i)
            continue
        est = sim(rows[kept], rows[i])
        j = int(np.argmax(est))
        keep = float(est[j]) < threshold
        out.append((keep, kept[j], float(est[j])))
        if keep:
            kept.append(i)
    return out


def cascade_reference(
    static: np.ndarray,
    transformer: np.ndarray,
    floor: float,
    threshold: float,
    k: int,
    sure: float | None = None,
) -> list[bool]:
    """Keep i iff, among the kept j < i whose static cosine is >= ``floor`` (the ``k`` most
    similar of them), none has transformer cosine >= ``threshold``; with ``sure``, a static
    cosine at or above it is a duplicate without the transformer."""
    kept: list[int] = []
    out: list[bool] = []
    for i in range(static.shape[0]):
        keep = True
        if kept:
            s = static[kept] @ static[i]
            order = np.argsort(-s, kind="stable")[:k]
            close = [kept[j] for j in order if s[j] >= floor]
            if sure is not None and close and float(s[order[0]]) >= sure:
                keep = False
            else:
                keep = not any(float(transformer[j] @ transformer[i]) >= threshold for j in close)
        out.append(keep)
        if keep:
            kept.append(i)
    return out


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> np.ndarray | float:
    """Share of equal MinHash positions; ``a`` and ``b`` broadcast over leading axes."""
    eq = np.mean(np.asarray(a) == np.asarray(b), axis=-1)
    return float(eq) if np.ndim(eq) == 0 else eq


def quantized(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` as the vector log stores them: int8 times one float32 scale per row."""
    x = np.asarray(vectors, dtype=np.float32)
    s = np.abs(x).max(axis=1, keepdims=True) / np.float32(127)
    q = np.clip(np.rint(x / np.where(s > 0, s, 1)), -127, 127)
    return (q * s).astype(np.float32)


def search_rows(index: VectorIndex, queries: np.ndarray, k: int) -> np.ndarray:
    """Top-k row numbers per query (-1 = none), rows counted in insertion order: ``search``'s
    prompt ids mapped back to their rows. Assumes every prompt id was added once (a re-added id
    maps to its newest row)."""
    row_of = {pid: index.first + i for i, pid in enumerate(index.ids)}
    _, ids = index.search(queries, k)
    return np.array([[-1 if p is None else row_of[p] for p in row] for row in ids], dtype=np.int64)
