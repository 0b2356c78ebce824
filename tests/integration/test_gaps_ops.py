"""Coverage gaps and the synthetic balance on the ops server, over the real Redis and broker.

The window is written the way curate commits it (``RedisWindow.increments`` in a transaction);
the ops server reads it, refuses bad targets with the reason, publishes gap records that parse
as the contract's ``GapRecord`` (on demand and on its timer), and exports the figures; a
cluster of one user's prompts is withheld (no words, examples or row of its own) while one of
enough users is shown. The full loop through a worker and the example consumer is
``test_gaps_loop.py``."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest
import redis.asyncio as aioredis
from kafka import KafkaConsumer
from prometheus_client.parser import text_string_to_metric_families

from services.contract.records import GapRecord
from services.dev.devstack import free_port
from services.diversity.agreement import bias_field
from services.diversity.quota import QuotaPolicy, RedisWindow, Window
from services.keys import Keys
from streams.ops_http import build_ops_app
from tests.integration.harness import serve

pytestmark = pytest.mark.integration

WRITE = {"Authorization": "Bearer w-token"}
READ = {"Authorization": "Bearer r-token"}


async def seed_window(s, redis: aioredis.Redis) -> None:
    """Cold-start clusters: 0 holds 30 real prompts of 30 users, 1 holds 10 real of one user,
    2 holds 2 real of 2 users + 2 synthetic (the generator repeated itself: 3 of its 5 prompts
    were duplicates)."""
    policy = QuotaPolicy(1.0, 1.0, 1)
    win = Window(policy)
    for cluster, real, syn in ((0, 30, 0), (1, 10, 0), (2, 2, 2)):
        for i in range(real + syn):
            user = "one-person" if cluster == 1 else f"u{cluster}-{i}"
            assert win.admit(cluster, i >= real, user=user) is None
            win.note_decided(cluster, i >= real, False)
            win.examples.append((cluster, f"{cluster:02d}{i:030d}"))
    for _ in range(3):
        win.note_decided(2, True, True)
    win.note_decided(0, False, True)
    async with redis.pipeline(transaction=True) as pipe:
        RedisWindow(redis, s.namespace, s.quota_window_s, s.quota_bucket_s).increments(pipe, win)
        await pipe.execute()
    bias = Keys(s.namespace).fb_bias
    await redis.hincrby(bias, f"{bias_field('', 2, True)}:pos", 1)
    await redis.hincrby(bias, f"{bias_field('', 2, True)}:neg", 3)
    await redis.hincrby(bias, f"{bias_field('', 2, False)}:pos", 2)


def read_gaps(s, n: int, timeout_s: float = 30) -> list[GapRecord]:
    consumer = KafkaConsumer(
        s.topic_gaps,
        bootstrap_servers=s.kafka_bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        consumer_timeout_ms=2000,
    )
    got: list[GapRecord] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < n and time.monotonic() < deadline:
            for msg in consumer:
                rec = GapRecord.model_validate_json(msg.value)
                assert msg.key.decode() == f"{rec.topics_version}:{rec.cluster}"
                got.append(rec)
                if len(got) >= n or time.monotonic() > deadline:
                    break
    finally:
        consumer.close()
    return got


async def test_gaps_target_publication_and_balance(fresh):
    s = fresh(
        partitions=1,
        ops_token="w-token",
        ops_read_token="r-token",
        gaps_min_window=20,
        gaps_interval_s=0,
        lag_poll_s=0.5,
        topics_learn=False,  # the cold-start clusters are the model for good
        min_crowd=2,  # cluster 2's two users are a crowd, cluster 1's one user is not
    )
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    await seed_window(s, redis)
    port = free_port()
    runner = await serve(build_ops_app(s), port)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            gaps = await (await http.get(f"{url}/api/gaps")).json()
            assert gaps["target"] == "uniform" and gaps["total"] == 44
            by = {g["cluster"]: g for g in gaps["clusters"]}
            assert 0 not in by and 1 not in by  # 44/64 < 1: only empty clusters lack one
            assert len(by) == 61 and all(g["deficit"] == 1 for g in by.values())

            # a target over three clusters: cluster 2 lacks round(0.55 x 44 - 4) = 20, cluster 1
            # round(0.35 x 44 - 10) = 5
            body = {"shares": {"0": 0.1, "1": 0.35, "2": 0.55}}
            r = await http.put(f"{url}/api/gaps/target", json=body)
            assert r.status == 401
            for bad, says in (
                ({"shares": {"0": 0.5, "1": 0.25}}, "sum to 0.75"),
                ({"shares": {"64": 1.0}}, "cluster 64 is unknown"),
                ({"shares": {"0": 1.5, "1": -0.5}}, "negative"),
            ):
                r = await http.put(f"{url}/api/gaps/target", json=bad, headers=WRITE)
                assert r.status == 422 and says in (await r.json())["error"]
            r = await http.put(f"{url}/api/gaps/target", json=body, headers=WRITE)
            assert r.status == 200
            gaps = await (await http.get(f"{url}/api/gaps")).json()
            assert gaps["target"] == "set" and gaps["min_crowd"] == 2
            gap, small = gaps["clusters"]
            assert (gap["cluster"], gap["deficit"], gap["real"], gap["synthetic"]) == (2, 20, 2, 2)
            assert gap["words"] and gap["label"] and not gap["withheld"]
            # one person's cluster: the gap stays, what would describe that person does not
            assert (small["cluster"], small["deficit"], small["withheld"]) == (1, 5, True)
            assert small["words"] == [] and small["label"] is None
            # the per-cluster mix (0.5 over max(count + 1, 4)) admits synthetic ones only
            # beside real ones: 2 of 4 are synthetic, one more would be 3 of 5
            assert gap["synthetic_room"] == 0
            tv = 0.5 * (abs(30 / 44 - 0.1) + abs(10 / 44 - 0.35) + abs(4 / 44 - 0.55))
            assert gaps["distance"] == pytest.approx(tv, abs=1e-3)

            r = await http.post(f"{url}/api/gaps/publish")
            assert r.status == 401
            r = await http.post(f"{url}/api/gaps/publish", headers=WRITE)
            assert r.status == 200, await r.text()
            out = await r.json()
            assert out["published"] == 2 and out["gaps"][0].endswith(":2:1")
            rec, withheld = await asyncio.to_thread(read_gaps, s, 2)
            assert (rec.cluster, rec.deficit, rec.synthetic, rec.window_total) == (2, 20, 2, 44)
            assert rec.words and len(rec.examples) == s.gaps_examples and not rec.withheld
            assert all(e.startswith("02") for e in rec.examples)  # the cluster's own prompts
            assert (withheld.cluster, withheld.deficit, withheld.withheld) == (1, 5, True)
            assert withheld.words == [] and withheld.examples == []

            stats = await (await http.get(f"{url}/api/stats")).json()
            div = stats["diversity"]
            assert div["gaps"]["last_published"]["round"] == 1
            assert [c["cluster"] for c in div["clusters"]] == [0, 2]  # 1 has no row of its own
            assert div["withheld"] == {"min_crowd": 2, "clusters": 1, "accepted": 10}
            (row,) = [b for b in div["synthetic_balance"] if b["cluster"] == 2]
            assert row["synthetic"]["duplicate_rate"] == pytest.approx(3 / 5)
            assert row["real"]["duplicate_rate"] == 0.0
            assert row["synthetic"]["acceptance"] == 0.25 and row["real"]["acceptance"] == 1.0
            assert row["synthetic"]["accepted"] == 2 and row["real"]["accepted"] == 2
            assert "annotators" in div["agreement"]
            assert isinstance(div["agreement"]["annotators"], int)  # a count: no names here

            r = await http.get(f"{url}/api/agreement")
            assert r.status == 401
            r = await http.get(f"{url}/api/agreement", headers=READ)
            assert r.status == 200 and (await r.json())["measure"] == "krippendorff_alpha_nominal"

            text = await (await http.get(f"{url}/metrics")).text()
            samples = {
                (m.name, tuple(sorted(x.labels.items()))): x.value
                for m in text_string_to_metric_families(text)
                for x in m.samples
            }
            assert samples[("flywheel_gap_deficit", (("cluster", "2"),))] == 20
            assert samples[("flywheel_gap_deficit", (("cluster", "small"),))] == 5
            assert ("flywheel_gap_deficit", (("cluster", "1"),)) not in samples
            key = ("flywheel_duplicate_rate", (("cluster", "2"), ("origin", "synthetic")))
            assert samples[key] == pytest.approx(0.6)
            assert ("flywheel_gap_distance", ()) in samples
    finally:
        await runner.cleanup()
        await redis.aclose()


async def test_the_timer_publishes_and_a_small_window_publishes_nothing(fresh):
    s = fresh(
        partitions=1,
        ops_token="w-token",
        gaps_min_window=20,
        gaps_interval_s=1.0,
        topics_learn=False,
    )
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    port = free_port()
    runner = await serve(build_ops_app(s), port)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            r = await http.post(f"{url}/api/gaps/publish", headers=WRITE)
            assert (await r.json()) == {"published": 0, "gaps": []}  # an empty window
            await seed_window(s, redis)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                stats = await (await http.get(f"{url}/api/gaps")).json()
                if stats["last_published"]:
                    break
                await asyncio.sleep(0.5)
            assert stats["last_published"]["gaps"] == 61
        recs = await asyncio.to_thread(read_gaps, s, 61)
        assert len({r.cluster for r in recs}) == 61 and {r.gap_id[-2:] for r in recs} == {":1"}
    finally:
        await runner.cleanup()
        await redis.aclose()


async def test_no_gaps_over_the_cold_start_clusters_while_topics_are_to_be_learned(fresh):
    s = fresh(partitions=1, ops_token="w-token", gaps_min_window=20, gaps_interval_s=0)
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    await seed_window(s, redis)
    port = free_port()
    runner = await serve(build_ops_app(s), port)
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            gaps = await (await http.get(f"{url}/api/gaps")).json()
            assert gaps["clusters"] and "learned" in gaps["waiting"]  # measured, not published
            r = await http.post(f"{url}/api/gaps/publish", headers=WRITE)
            body = await r.json()
            assert body["published"] == 0 and "learned" in body["waiting"]
    finally:
        await runner.cleanup()
        await redis.aclose()
