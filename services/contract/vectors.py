"""The vector wire codec: how a float32 vector travels in a ``CurateItem`` (base64 of its bytes).

Ingest encodes, curate decodes; both sides live here so the format has one definition.
"""

from __future__ import annotations

import base64
import math

import numpy as np


def encode_vector(v: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(v, dtype=np.float32).tobytes()).decode()


def decode_vector(b64: str, dim: int) -> np.ndarray:
    """The vector of ``b64``; ``ValueError`` says why it cannot be used (as a DLQ detail)."""
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError as exc:
        raise ValueError("vector is not base64") from exc
    if len(raw) % 4:
        raise ValueError("vector is not a float32 array")
    v = np.frombuffer(raw, dtype=np.float32)
    if not math.isfinite(float(v.sum())):
        raise ValueError("invalid vector")
    if v.shape != (dim,):
        raise ValueError(f"vector of {v.size} dimensions, the index holds {dim}")
    return v
