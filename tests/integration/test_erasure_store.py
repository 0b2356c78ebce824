"""The erasure agent on the real Redis, without a worker: a request replayed after a crash
mid-erasure finishes it and announces the same prompts; a second request finds nothing; a request
that names nothing is a dead letter; logs and snapshots lose the prompts' rows."""

import json

import numpy as np
import pytest

from services.clean.text import event_key, user_hash
from services.contract.envelope import InMsg
from services.contract.records import AuditRecord, ErasedRecord
from services.dedup.index import VectorIndex
from services.dedup.minhash import MinHasher
from services.keys import Keys
from services.pipeline.erasure import ErasureStage
from services.state.privacy import Origin, RedisPrivacy
from services.state.signature_log import RedisSignatureLog
from services.state.vector_log import RedisVectorLog

pytestmark = pytest.mark.integration
DIM = 8


def unit(n: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


async def setup(fresh, redis):
    s = fresh(curate_partitions=1)
    vectors = RedisVectorLog(redis, s.namespace, DIM)
    privacy = RedisPrivacy(redis, s, vectors, RedisSignatureLog(redis, s.namespace, MinHasher()))
    key = s.user_hash_key.get_secret_value().encode()
    ana, li = user_hash("ana", key), user_hash("li", key)
    pids = [f"{i:032x}" for i in range(10)]
    owner = [ana if i < 4 else li for i in range(10)]
    x = unit(10, 1)
    await vectors.append("en:0", [(p, x[i], f"ev/0/{i}") for i, p in enumerate(pids)])
    snap = VectorIndex(DIM, ann_after=None)
    await vectors.sync("en:0", snap)
    await vectors.snapshot("en:0", snap, keep=10)
    async with redis.pipeline(transaction=True) as pipe:
        privacy.queue(
            pipe, {p: Origin("en:0", owner[i], event_key(f"e{i}")) for i, p in enumerate(pids)}
        )
        for p in pids:
            pipe.set(Keys(s.namespace).seen(p), "ev/0/x")
        await pipe.execute()
    return s, vectors, privacy, pids


def request(offset: int, **fields) -> InMsg:
    return InMsg("privacy.erasure", 0, offset, None, json.dumps(fields).encode(), 1000)


async def test_a_replay_after_a_crash_finishes_and_announces_the_same(fresh, redis):
    s, vectors, privacy, pids = await setup(fresh, redis)
    stage = ErasureStage(s, privacy)
    msg = request(0, user_id="ana", request_id="DSR-1")
    # the first attempt resolved the request, erased, then the worker died before its outputs
    found = await privacy.remember(msg.src, await privacy.resolve(user=user_hash_of(s, "ana")))
    assert sorted(found) == pids[:4]
    await privacy.erase(found)
    outs = await stage.process([msg])  # the replay
    erased = [ErasedRecord.model_validate_json(o.value) for o in outs if o.topic == s.topic_erased]
    assert sorted(r.prompt_id for r in erased) == pids[:4] and {r.reason for r in erased} == {
        "user"
    }
    tombstones = [o.key.decode() for o in outs if o.topic == s.topic_annotation]
    assert sorted(tombstones) == pids[:4] and all(
        o.value is None for o in outs if o.topic == s.topic_annotation
    )
    (audit,) = [AuditRecord.model_validate_json(o.value) for o in outs if o.topic == s.topic_audit]
    assert sorted(audit.erased) == pids[:4] and "ana" not in audit.model_dump_json()

    again = await stage.process([request(1, user_id="ana")])  # a new request: nothing left
    (audit,) = [AuditRecord.model_validate_json(o.value) for o in again if o.topic == s.topic_audit]
    assert audit.erased == []

    index = VectorIndex(DIM, ann_after=None)  # rebuilt from the snapshot and the log
    await vectors.sync("en:0", index)
    assert index.owners_of(pids[:4]) == [None] * 4
    assert all(o is not None for o in index.owners_of(pids[4:]))
    keys = Keys(s.namespace)
    assert [await redis.exists(keys.seen(p)) for p in pids] == [0] * 4 + [1] * 6


async def test_a_request_that_names_nothing_is_a_dead_letter(fresh, redis):
    s, _, privacy, _ = await setup(fresh, redis)
    outs = await ErasureStage(s, privacy).process([request(0, request_id="x"), request(1)])
    assert [dict(o.headers)["fw-error"] for o in outs] == [b"invalid_erasure_request"] * 2


def user_hash_of(s, user_id: str) -> str:
    return user_hash(user_id, s.user_hash_key.get_secret_value().encode()) or ""
