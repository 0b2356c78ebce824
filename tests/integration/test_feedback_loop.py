"""The data flywheel, closed on the real stack: prompts accepted by a worker, annotations posted
to the webhook exactly as Label Studio posts them (a body captured from Label Studio 1.23.2),
the results on ``annotations.results``, the worker's feedback agent moving the cluster weights,
and a near duplicate of a prompt labelled spam rejected as ``blocklisted``."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from services.clean.text import normalize, prompt_id
from services.dev.devstack import free_port
from services.dev.workers import WorkerProcess, wait_outputs
from streams.ops_http import build_ops_app
from streams.replay import produce
from tests.integration.harness import serve, until

pytestmark = pytest.mark.integration

CAPTURED = Path(__file__).resolve().parents[1] / "data" / "label_studio_annotation_created.json"
SPAM = "Buy cheap followers for your account now, best prices and instant delivery guaranteed"
SPAM_AGAIN = "buy cheap followers for your account now!! best prices, instant delivery guaranteed"
OTHERS = [
    "Explain the difference between a process and a thread in operating systems",
    "Write a short poem about the sea at night",
    "How do I compute the median of a list in Python without sorting it?",
    "What are the main causes of inflation in an economy?",
    "Suggest a three-day itinerary for Kyoto in autumn",
    "Translate 'good morning, how are you?' into Spanish and French",
    "Prove that the square root of two is irrational",
    "Give me tips for a job interview as a data analyst",
]


def _event(eid: str, text: str) -> bytes:
    return json.dumps({"event_id": eid, "prompt": text, "user_id": f"u-{eid}"}).encode()


def label_studio_body(template: dict, task_id: int, pid: str, label: str) -> dict:
    body = copy.deepcopy(template)
    body["annotation"]["id"] = 1000 + task_id
    body["annotation"]["task"] = task_id
    body["annotation"]["result"][0]["value"]["choices"] = [label]
    body["task"]["id"] = task_id
    body["task"]["data"]["prompt_id"] = pid
    return body


async def test_annotations_steer_curation(fresh, tmp_path):
    port = free_port()
    s = fresh(
        partitions=1,
        curate_partitions=2,
        webhook_secret="loop-secret",
        feedback_prior=2.0,
        ops_port=port,
    )
    captured = json.loads(CAPTURED.read_text())
    template, headers = captured["body"], {"X-Flywheel-Secret": "loop-secret"}
    texts = [SPAM, *OTHERS]
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    runner = await serve(build_ops_app(s), port)
    url = f"http://127.0.0.1:{port}"
    try:
        with WorkerProcess(s, tmp_path / "worker.log") as worker:
            produce(s, [_event(f"e-{i}", t) for i, t in enumerate(texts)])
            out = await asyncio.to_thread(wait_outputs, s, len(texts), worker, 240)
            accepted = {r["event_id"]: r for r in out.accepted}
            assert set(accepted) == {f"e-{i}" for i in range(len(texts))}, out.reasons()
            spam = accepted["e-0"]
            assert spam["prompt_id"] == prompt_id(normalize(SPAM))
            # Annotators: the spam prompt and everything in its cluster rejected, the rest good.
            labels = {
                r["prompt_id"]: "spam"
                if r is spam
                else ("off_topic" if r["cluster"] == spam["cluster"] else "good")
                for r in accepted.values()
            }
            async with aiohttp.ClientSession() as http:
                bad = await http.post(
                    f"{url}/webhooks/label-studio",
                    json=label_studio_body(template, 1, spam["prompt_id"], "spam"),
                    headers={"X-Flywheel-Secret": "wrong"},
                )
                assert bad.status == 401
                for task_id, (pid, label) in enumerate(labels.items(), start=1):
                    resp = await http.post(
                        f"{url}/webhooks/label-studio",
                        json=label_studio_body(template, task_id, pid, label),
                        headers=headers,
                    )
                    assert resp.status == 200 and (await resp.json()) == {"accepted": 1}

                async def weights() -> dict[int, float]:
                    raw = await redis.hgetall(f"{s.namespace}:fb:weights")
                    return {int(k): float(v) for k, v in raw.items()}

                got = await until(weights, 120, "cluster weights from the feedback agent")
                assert got[spam["cluster"]] < 1.0
                assert any(w > 1.0 for c, w in got.items() if c != spam["cluster"])
                await until(lambda: redis.llen(f"{s.namespace}:vectors:blocklist"), 60, "blocklist")
                # The loop is closed: a near duplicate of the spam prompt is now blocklisted.
                produce(s, [_event("e-again", SPAM_AGAIN)])
                out = await asyncio.to_thread(wait_outputs, s, len(texts) + 1, worker, 120)
                (again,) = [r for r in out.rejected if r["event_id"] == "e-again"]
                assert again["reason"] == "blocklisted"
                assert again["duplicate_of"] == spam["prompt_id"]

                stats = await (await http.get(f"{url}/api/stats")).json()
                div = stats["diversity"]
                assert div["blocklist_vectors"] == 1
                assert div["weights"][str(spam["cluster"])] < 1.0
                assert div["votes"]["negative"] >= 1 and div["votes"]["positive"] >= 1
                text = await (await http.get(f"{url}/metrics")).text()
                names = {f.name for f in text_string_to_metric_families(text)}
                assert {"flywheel_feedback_cluster_weight", "flywheel_blocklist_vectors"} <= names
    finally:
        await runner.cleanup()
        await redis.aclose()
