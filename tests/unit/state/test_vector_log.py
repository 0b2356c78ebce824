"""Vector log entries: int8 x scale, a zero vector and one not finite, an unknown format. No
Redis command runs here (the client never connects); the log itself is tested against the real
redis-server in tests/integration/test_vector_log.py."""

from __future__ import annotations

import numpy as np
import pytest
import redis.asyncio as aioredis

from services.state.vector_log import RedisVectorLog
from tests.oracles import quantized
from tests.vectors import DIM, clustered, owners, pids


def entries(x: np.ndarray, start: int) -> list[tuple[str, np.ndarray, str]]:
    n = len(x)
    return list(zip(pids(start, n), x, owners(start, n), strict=True))


def test_entries_are_int8_with_a_scale_and_decode_within_quantization_error():
    x = clustered(200, 1)
    vlog = RedisVectorLog(aioredis.Redis(), "t", DIM)
    raw = [vlog.encode(*e) for e in entries(x, 0)]
    assert {len(r) - len(o.encode()) for r, o in zip(raw, owners(0, 200), strict=True)} == {
        16 + 8 + DIM
    }
    got_pids, vecs, got_owners = vlog.decode(raw)
    assert [bytes(p).hex() for p in got_pids] == pids(0, 200) and got_owners == owners(0, 200)
    step = np.abs(x).max(axis=1, keepdims=True) / 127
    assert np.all(np.abs(vecs - x) <= step * 0.5 + 1e-6)
    assert np.allclose(vecs, quantized(x))
    # cosines move by far less than the gap between thresholds anyone would set
    assert np.abs(vecs @ x.T - x @ x.T).max() < 0.01


def test_a_zero_vector_is_stored_as_zeros_and_one_not_finite_is_refused():
    vlog = RedisVectorLog(aioredis.Redis(), "t", DIM)
    x = np.zeros((2, DIM), dtype=np.float32)
    x[1, 0] = 1e-39  # below float32's smallest normal scale
    _, vecs, got_owners = vlog.decode(vlog.encode_all(entries(x, 0)))
    assert not vecs.any() and got_owners == owners(0, 2)
    x[1, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        vlog.encode_all(entries(x, 0))


def test_an_unknown_entry_format_is_refused_with_one_clear_line():
    vlog = RedisVectorLog(aioredis.Redis(), "t", DIM)
    entry = bytearray(vlog.encode(pids(0, 1)[0], clustered(1, 3)[0], "o/0/1"))
    entry[16] = 0x07
    with pytest.raises(ValueError, match="format \\[7\\] unknown to this version"):
        vlog.decode([bytes(entry)])
