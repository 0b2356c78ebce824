"""The learned topic model's state on the real Redis: sample, swap with the window re-mapped,
and a corrupt model refused while the previous one stays current."""

import time

import numpy as np
import pytest

from services.diversity.quota import QuotaPolicy, RedisWindow, Window
from services.diversity.topics import RedisTopics, encode_sample, tag, train
from services.embed.clusters import TopicModel
from services.keys import Keys

pytestmark = pytest.mark.integration
DIM = 8


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


async def test_a_swap_re_maps_the_window_and_keeps_its_totals(fresh, redis):
    s = fresh(curate_partitions=1)
    rng = np.random.default_rng(1)
    x = unit_rows(rng.normal(size=(120, DIM)))
    cold = TopicModel("v1-cold", unit_rows(rng.normal(size=(4, DIM))), tuple("abcd"),
                      np.full(4, 0.25))  # fmt: skip
    topics = RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
    window = RedisWindow(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
    policy = QuotaPolicy(1.0, 1.0, 1)
    win = Window(policy)
    for c in cold.assign(x[:40]).tolist():  # 40 acceptances counted by cold-start cluster
        win.admit(c, False)
    async with redis.pipeline(transaction=True) as pipe:
        window.increments(pipe, win)
        await pipe.execute()
    assert (
        await topics.record([(f"{i:032x}", v, f"prompt {i}") for i, v in enumerate(x)], cap=100)
        == 120
    )
    sample = await topics.sample(DIM)
    assert len(sample.texts) == 100 and sample.texts[0] == "prompt 119"  # latest first, capped

    new = train(sample.vectors, sample.texts, 6, "")
    await topics.swap(cold, new, sample.vectors, accepted=120)
    assert await topics.current() == new.version
    loaded = await topics.load(new.version)
    assert np.array_equal(loaded.centroids, new.centroids)

    after = await window.load(policy, {}, tag=tag(new.version))
    assert after.total == 40 and sum(after.clusters.values()) == 40
    assert set(after.clusters) <= set(range(new.k))
    before = await window.load(policy, {})  # the cold-start fields are still there, untouched
    assert sum(before.clusters.values()) == 40


async def test_a_corrupt_model_is_refused_and_due_follows_the_schedule(fresh, redis):
    s = fresh(curate_partitions=1)
    topics = RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
    await redis.set(Keys(s.namespace).topics_model("learned-bad"), b"garbage")
    with pytest.raises(ValueError, match="not a topic model"):
        await topics.load("learned-bad")
    with pytest.raises(ValueError, match="not in Redis"):
        await topics.load("learned-missing")
    assert await topics.due(50, 50, 2000)
    await redis.set(Keys(s.namespace).topics_trained_at, 50)
    assert not await topics.due(99, 50, 2000) and await topics.due(100, 50, 2000)
    assert await topics.lock() and not await topics.lock()
    await topics.unlock()
    assert await topics.lock()


async def test_the_sample_keeps_no_text_older_than_the_retention_period(fresh, redis):
    s = fresh(curate_partitions=1)
    topics = RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s, retention_s=3600)
    v = unit_rows(np.ones((3, DIM)))
    old = [encode_sample(f"{i:032x}", v[i], f"old {i}", at=time.time() - 7200) for i in range(2)]
    await redis.lpush(Keys(s.namespace).topics_sample, *old)
    await topics.record([("f" * 32, v[2], "new")], cap=100)
    assert (await topics.sample(DIM)).texts == ["new"]
