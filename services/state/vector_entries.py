"""The vector log's entry format: a prompt_id, its vector as int8 x scale, and its owner.

Entry layout: 16 bytes prompt_id, the format byte ``0x01``, two zero bytes, the marker byte
``0xFF``, the per-vector scale (float32, little endian), ``dim`` int8 (vector = int8 x scale),
then the owning input message's coordinate in UTF-8: ~430 bytes at dim 384, not ~1,600 as
float32. Cosines move by less than 0.01 (tests/unit/state/test_vector_log.py).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from services.dedup.ids import PID_BYTES

Q8 = 0x01
MARKER = 0xFF
HEADER = PID_BYTES + 8  # pid, format, 0, 0, marker, float32 scale


def encode_entries(
    pid_bytes: np.ndarray, vectors: np.ndarray, owners: Sequence[str], dim: int
) -> list[bytes]:
    """Entries of (n, 16) uint8 prompt_ids, (n, dim) vectors and owners, vectorized. A vector
    of zeros (or too small for a float32 scale) is stored as zeros; one that is not finite is
    refused with ``ValueError`` (curate and the embedders never produce one)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"vectors of shape {x.shape}, the log holds {dim} dimensions")
    if not np.isfinite(x).all():
        raise ValueError("a vector that is not finite cannot enter the vector log")
    scale = np.abs(x).max(axis=1) / np.float32(127)
    scale[scale < np.finfo(np.float32).tiny] = 0
    safe = np.where(scale > 0, scale, np.float32(1))[:, None]
    q = np.clip(np.rint(x / safe), -127, 127).astype(np.int8)
    rows = np.empty((len(x), HEADER + dim), dtype=np.uint8)
    rows[:, :PID_BYTES] = pid_bytes
    rows[:, PID_BYTES : PID_BYTES + 4] = (Q8, 0, 0, MARKER)
    rows[:, PID_BYTES + 4 : HEADER] = scale.astype("<f4")[:, None].view(np.uint8)
    rows[:, HEADER:] = q.view(np.uint8)
    return [row.tobytes() + owner.encode() for row, owner in zip(rows, owners, strict=True)]


def decode_entries(raw: Sequence[bytes], dim: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(n, 16) uint8 prompt_ids, (n, dim) float32 vectors and owners of log entries. Raises
    ``ValueError`` on an entry of another format (written by a newer version)."""
    n = len(raw)
    pids = np.empty((n, PID_BYTES), dtype=np.uint8)
    vecs = np.empty((n, dim), dtype=np.float32)
    owners: list[str] = [""] * n
    head = HEADER + dim
    lengths = np.fromiter(map(len, raw), dtype=np.int64, count=n)
    for length in np.unique(lengths).tolist():  # entries of one length decode as one array
        rows = np.flatnonzero(lengths == length)
        if length < head:
            raise ValueError(f"vector log entry of {length} bytes, shorter than {head}")
        block = np.frombuffer(b"".join([raw[i] for i in rows.tolist()]), dtype=np.uint8)
        block = block.reshape(len(rows), length)
        fmt = np.unique(block[:, PID_BYTES : PID_BYTES + 4], axis=0)
        if fmt.tolist() != [[Q8, 0, 0, MARKER]]:
            raise ValueError(
                f"vector log entry format {np.unique(fmt[:, 0]).tolist()} unknown to this "
                f"version (knows {Q8}): upgrade this worker"
            )
        pids[rows] = block[:, :PID_BYTES]
        scale = np.ascontiguousarray(block[:, PID_BYTES + 4 : HEADER]).view("<f4")
        q = np.ascontiguousarray(block[:, HEADER:head]).view(np.int8)
        vecs[rows] = q.astype(np.float32) * scale
        for i in rows.tolist():
            owners[i] = raw[i][head:].decode()
    return pids, vecs, owners
