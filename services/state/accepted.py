"""What Redis keeps of an accepted prompt for the feedback loop, and the blocklist's log name.

``<ns>:acc:<prompt_id>`` is written by the curate stage in the transaction that accepts the
prompt (and by a reindex), read by the feedback stage when an annotator's result arrives: the
prompt's v1 cluster (int16, ``NO_CLUSTER`` when it has none), its vector as float16 (none for a
text the model cannot read), then one byte, 1 when the prompt is synthetic.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

BLOCKLIST_INDEX = "blocklist"  # the vector log annotators' spam/unsafe verdicts feed
NO_CLUSTER = -1


class Accepted(NamedTuple):
    cluster: int | None
    vector: np.ndarray | None  # unit length, float32
    synthetic: bool


def encode_accepted(
    cluster: int | None, vector: np.ndarray | None, synthetic: bool = False
) -> bytes:
    head = np.array([NO_CLUSTER if cluster is None else cluster], dtype=np.int16).tobytes()
    body = b"" if vector is None else vector.astype(np.float16).tobytes()
    return head + body + (b"\x01" if synthetic else b"\x00")


def decode_accepted(raw: bytes) -> Accepted:
    cluster = int(np.frombuffer(raw[:2], dtype=np.int16)[0])
    body = raw[2:-1]
    vec = np.frombuffer(body, dtype=np.float16).astype(np.float32) if body else None
    if vec is not None:
        vec = vec / (np.linalg.norm(vec) or 1.0)
    return Accepted(None if cluster == NO_CLUSTER else cluster, vec, raw[-1:] == b"\x01")
