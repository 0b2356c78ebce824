"""The MinHash signature log against a real redis-server."""

import numpy as np
import pytest

from services.dedup.greedy import Candidate, GreedyCurator
from services.dedup.lsh import LshIndex
from services.dedup.minhash import THRESHOLD, MinHasher
from services.state.signature_log import RedisSignatureLog

pytestmark = pytest.mark.integration

TEXTS = [
    "你好,我需要将500美元转换成欧元。你能帮我吗?",
    "描述泰姬陵的建筑风格。",
    "信息革命的两个好处。",
    "解释作者为什么反对这个计划。",
]


async def test_signature_log_reloads_an_index_incrementally(redis, namespace):
    h = MinHasher()
    log = RedisSignatureLog(redis, namespace, h)
    sigs = h.signatures(TEXTS)
    await log.append("zh", [(f"{i:032x}", sigs[i], f"ev/0/{i}") for i in range(3)])
    index = LshIndex()
    assert await log.sync("zh", index, chunk=2) == 3
    async with redis.pipeline(transaction=True) as pipe:  # as curate commits a batch
        log.queue_append(pipe, "zh", [(f"{3:032x}", sigs[3], "ev/0/3")])
        log.queue_append(pipe, "zh", [])
        await pipe.execute()
    assert await log.sync("zh", index) == 1
    assert await log.sync("zh", index) == 0
    assert index.ids == [f"{i:032x}" for i in range(4)]
    assert index.owners[f"{2:032x}"] == "ev/0/2"
    assert np.array_equal(index.signatures, sigs)
    assert index.best(sigs[3:4]) == [(f"{3:032x}", 1.0)]
    # another language has its own log: nothing crosses over
    assert await log.sync("en", LshIndex()) == 0


async def test_signature_log_holds_no_text_and_separates_hasher_parameters(redis, namespace):
    ns = namespace
    h = MinHasher()
    log = RedisSignatureLog(redis, ns, h)
    await log.append("zh", [("a" * 32, h.signature(TEXTS[0]), "ev/0/1")])
    keys = [k.decode() for k in await redis.keys(f"{ns}:*")]
    assert keys == [f"{ns}:minhash:{h.tag}:zh"]
    (entry,) = await redis.lrange(keys[0], 0, -1)
    assert len(entry) == 16 + 4 * h.num_perm + len("ev/0/1") and entry.endswith(b"ev/0/1")
    assert "泰".encode() not in entry and "美元".encode() not in entry
    # signatures made with another n-gram size are not comparable: a separate, empty log
    other = RedisSignatureLog(redis, ns, MinHasher(ngram=4))
    assert await other.sync("zh", LshIndex()) == 0
    with pytest.raises(ValueError):
        await RedisSignatureLog(redis, ns, MinHasher(num_perm=64)).append(
            "zh", [("b" * 32, h.signature(TEXTS[1]), "ev/0/2")]
        )


async def test_a_restarted_worker_keeps_deciding_as_before(redis, namespace):
    """Decide, log the acceptances, reload into a fresh index: a replay stays accepted and a
    near duplicate from another message is still rejected."""
    ns = namespace
    h = MinHasher()
    log = RedisSignatureLog(redis, ns, h)
    first = GreedyCurator(LshIndex(), THRESHOLD)
    cands = [Candidate(f"{i:032x}", f"ev/0/{i}", h.signature(t)) for i, t in enumerate(TEXTS)]
    decisions = first.decide(cands)
    await log.append(
        "zh",
        [
            (c.prompt_id, c.vector, c.owner)
            for c, d in zip(cands, decisions, strict=True)
            if d.accepted and not d.replayed
        ],
    )
    index = LshIndex()
    await log.sync("zh", index)
    again = GreedyCurator(index, THRESHOLD).decide(
        [cands[1], Candidate("f" * 32, "ev/1/0", h.signature("请描述泰姬陵的建筑风格。"))]
    )
    assert again[0].accepted and again[0].replayed
    assert not again[1].accepted and again[1].nearest_id == cands[1].prompt_id
    assert len(index) == len(TEXTS)
