"""The feedback store against a real redis-server: results for prompts this deployment never
curated are counted apart and steer nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
import redis.asyncio as aioredis

from services.contract.records import AnnotationResult
from services.pipeline.feedback import FeedbackPolicy, FeedbackStore, encode_accepted
from services.state.keys import Keys
from services.state.stores import RedisVectorLog

pytestmark = pytest.mark.integration


@pytest.fixture
async def redis(stack):
    client = aioredis.from_url(stack.redis_url)
    yield client
    await client.aclose()


def result(pid: str, label: str, annotator: str = "ann-1") -> AnnotationResult:
    return AnnotationResult(
        prompt_id=pid, label=label, annotator=annotator, ts=datetime.now(tz=UTC)
    )


async def test_votes_on_unknown_prompts_are_not_counted(redis):
    ns = f"t{uuid.uuid4().hex[:8]}"
    keys = Keys(ns)
    store = FeedbackStore(redis, ns, RedisVectorLog(redis, ns, 4), FeedbackPolicy())
    known = "a" * 32
    vec = np.ones(4, dtype=np.float32) / 2
    await redis.set(keys.accepted(known), encode_accepted(3, vec))

    out = await store.apply([result("f" * 32, "reject"), result("e" * 32, "spam")])
    assert out.unknown_prompt == 2 and out.counted == 0 and out.blocked == 0
    assert await redis.hgetall(keys.vote_counts) == {}  # no vote, not even globally
    assert await redis.llen(keys.vector_log("blocklist")) == 0

    out = await store.apply([result(known, "accept")])
    assert out.counted == 1 and out.unknown_prompt == 0
    counts = {k.decode(): int(v) for k, v in (await redis.hgetall(keys.vote_counts)).items()}
    assert counts == {"3:pos": 1, "all:pos": 1}
