"""Lag monitoring, the ops API and the dashboard on the real stack (and a real browser)."""

from __future__ import annotations

import asyncio
import json
import re
import time

import aiohttp
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client.parser import text_string_to_metric_families

from services.dev.devstack import free_port
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from services.keys import Keys
from services.ops.lag import LagMonitor
from streams.ops_http import build_ops_app
from streams.replay import produce
from tests.integration.harness import CHROMIUM, chromium, serve

pytestmark = pytest.mark.integration
TIMEOUT = aiohttp.ClientTimeout(total=30)


def events_lag(monitor: LagMonitor, topic: str) -> tuple[int, float]:
    rows = [r for r in monitor.poll() if r.topic == topic]
    return sum(r.lag for r in rows), max(r.lag_s for r in rows)


def dump_dom(url: str) -> str:
    return chromium(url, "--dump-dom", budget_ms=8000)


@pytest.mark.timeout(480)
async def test_lag_drains_when_the_worker_starts_and_the_ops_api_shows_it(fresh, tmp_path):
    # min_crowd=1: the dashboard shows the generated clusters however few users fill them
    s = fresh(
        partitions=2, ops_token="s3cret", ops_read_token="r3ad", lag_poll_s=0.5, min_crowd=1
    )
    n = 400
    produce(s, [raw for raw, _ in ChatLogGenerator(seed=2).events(n)])
    monitor = LagMonitor(s.kafka_bootstrap, s.app_id, [s.topic_events])
    lag, _ = events_lag(monitor, s.topic_events)
    assert lag == n  # nobody consumed yet
    await asyncio.sleep(1.5)
    lag, lag_s = events_lag(monitor, s.topic_events)
    assert lag == n and lag_s >= 1.0  # the oldest unconsumed event is over a second old

    port = free_port()
    runner = await serve(build_ops_app(s), port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
            await _check_write_endpoints(http, base)
            with WorkerProcess(s, tmp_path / "worker.log") as worker:
                loop = asyncio.get_running_loop()
                # every wait is bounded and together they fit the test's timeout; the
                # blocking kafka-python calls run off the loop that serves the ops API
                await loop.run_in_executor(None, lambda: wait_outputs(s, n, worker, timeout_s=180))
                deadline = time.monotonic() + 60
                while True:  # Faust commits every few seconds: wait for the last commit
                    lag, lag_s = await asyncio.to_thread(events_lag, monitor, s.topic_events)
                    if lag == 0 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(1)
                assert lag == 0 and lag_s == 0.0, (lag, lag_s, worker.log_tail())
                deadline = time.monotonic() + 60
                while True:  # the curate partitions commit a little after the input ones
                    async with http.get(f"{base}/api/lag") as r:
                        view = await r.json()
                    if view["status"] == "OK" or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(1)
                assert view["status"] == "OK" and len(view["partitions"]) >= 2, (
                    view,
                    worker.log_tail(),
                )
                async with http.get(f"{base}/readyz") as r:
                    assert r.status == 200
                async with http.get(f"{base}/api/stats") as r:
                    stats = await r.json()
                assert stats["accepted"] > 0 and stats["workers"] and stats["index_sizes"]
                async with http.get(f"{base}/metrics") as r:
                    text = await r.text()
                names = {m.name for m in text_string_to_metric_families(text)}
                assert {
                    "flywheel_lag_messages",
                    "flywheel_lag_seconds",
                    "flywheel_cluster_events_out",
                } <= names
                async with http.get(f"{base}/api/recent") as r:
                    assert r.status == 401  # prompt text: not without the read token
                async with http.get(f"{base}/api/recent", headers=READ) as r:
                    recent = await r.json()
                assert recent and all("{{" not in json.dumps(x) or x["pii"] for x in recent)
                if CHROMIUM:
                    # a prompt that is markup must show as text, not become an element
                    hostile = {"text": "<img src=x id=injected onerror=alert(1)>", "lang": "en"}
                    for _ in range(10):  # the worker may still publish its last acceptances
                        await _lpush_recent(s, json.dumps(hostile))
                        await asyncio.sleep(s.stats_interval_s + 1)
                        async with http.get(f"{base}/api/recent?n=1", headers=READ) as r:
                            if (await r.json())[0]["text"] == hostile["text"]:
                                break
                    locked = await loop.run_in_executor(None, dump_dom, base + "/")
                    assert 'data-items="0"' in locked and "locked" in locked
                    dom = await loop.run_in_executor(None, dump_dom, base + "/#token=r3ad")
                    _check_dashboard(dom)
                    assert 'id="injected"' not in dom and "&lt;img src=x" in dom
                    assert not re.search(r'id="recent" data-items="0"', dom)
    finally:
        monitor.close()
        await runner.cleanup()


READ = {"Authorization": "Bearer r3ad"}


async def _lpush_recent(s, raw: str) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(s.redis_url.get_secret_value())
    try:
        await client.lpush(Keys(s.namespace).recent, raw)
    finally:
        await client.aclose()


async def _check_write_endpoints(http: aiohttp.ClientSession, base: str) -> None:
    body = {"near_dup_threshold": 0.7}
    async with http.put(f"{base}/api/config/threshold", json=body) as r:
        assert r.status == 401
    async with http.put(
        f"{base}/api/config/threshold", json=body, headers={"Authorization": "Bearer wrong"}
    ) as r:
        assert r.status == 401
    async with http.post(f"{base}/api/blocklist", json={"prompt_id": "a" * 32}) as r:
        assert r.status == 401
    async with http.get(f"{base}/api/config") as r:
        assert (await r.json())["overrides"] == {}  # nothing changed
    auth = {"Authorization": "Bearer s3cret"}
    for bad in (2, True, 1e-300, "0.9", None):  # the setting's own type and range, strictly
        async with http.put(
            f"{base}/api/config/threshold", json={"near_dup_threshold": bad}, headers=auth
        ) as r:
            assert r.status == 422, bad
    for bad in ("z" * 32, "A" * 32, "a" * 31, 7):
        async with http.post(f"{base}/api/blocklist", json={"prompt_id": bad}, headers=auth) as r:
            assert r.status == 422, bad
    async with http.post(f"{base}/api/blocklist", data=b"[1", headers=auth) as r:
        assert r.status == 400
    async with http.put(
        f"{base}/api/config/threshold", json={"near_dup_threshold": 0.9}, headers=auth
    ) as r:
        assert r.status == 200
    async with http.get(f"{base}/api/config") as r:
        assert (await r.json())["overrides"] == {"near_dup_threshold": "0.9"}
    async with http.get(f"{base}/openapi.json") as r:
        spec = await r.json()
    assert spec["paths"]["/api/config/threshold"]["put"]["security"] == [{"bearer": []}]


def _check_dashboard(dom: str) -> None:
    assert 'data-refreshed="' in dom, dom[:2000]
    for chart in ("lag-msgs", "lag-secs", "outcomes", "coverage", "clusters"):
        m = re.search(rf'id="{chart}"[^>]*data-points="(\d+)"', dom)
        assert m and int(m.group(1)) > 0, chart
    assert "<path" in dom and "<rect" in dom
    # the diversity line of the quota window (64 cold-start clusters, fewer once a model is learned)
    assert re.search(r"\d+ of \d+ clusters", dom), dom[-4000:]


def test_status_turns_stall_when_a_consumer_stops_committing(fresh):
    s = fresh(partitions=1)
    group = f"{s.app_id}-stall"
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    for i in range(20):
        producer.send(s.topic_events, b"x%d" % i)
    producer.flush()
    consumer = KafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap, group_id=group, enable_auto_commit=False
    )
    tp = TopicPartition(s.topic_events, 0)
    consumer.commit({tp: OffsetAndMetadata(10, "", -1)})  # consumed 10, then stopped committing
    consumer.close()
    monitor = LagMonitor(
        s.kafka_bootstrap, group, [s.topic_events], stall_after_s=1.0, stop_after_s=300
    )
    try:
        statuses = []
        for i in range(4):
            for j in range(5):
                producer.send(s.topic_events, b"y%d-%d" % (i, j))
            producer.flush()
            statuses.append(monitor.poll()[0].status)
            time.sleep(0.5)
        row = monitor.poll()[0]
    finally:
        monitor.close()
        producer.close()
    assert row.committed == 10 and row.lag == row.end - 10 and row.lag > 10
    assert statuses[-1] == "STALL" and row.status == "STALL"
