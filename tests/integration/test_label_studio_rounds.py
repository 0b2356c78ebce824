"""Two annotators disagree in a real Label Studio, Flywheel sends the prompt back for one more
round, ``clients/label_studio_rounds.py`` re-opens the task, a third annotation settles it.

On the real stack: a worker accepts a prompt; its task (``label_studio_task``, what ``flywheel
export --format label-studio`` writes) is imported into a Label Studio project whose webhook
posts to a real ops server (``/webhooks/label-studio``, shared secret). Two more users are
created through ``POST /api/users/`` (an organization admin's call in Label Studio 1.23, which
adds them to the admin's organization); the admin's token records an annotation for each of them
(``completed_by``: Label Studio's API takes it from an administrator), so the webhooks carry
their user ids as they would from their own sessions. They disagree (good / off_topic): the
worker's feedback stage publishes a ``ReviewRequest`` (round 2) on ``prompts.review``; the client
consumes it and raises the task's overlap to 3 with ``is_labeled`` false; the task comes back in
the admin's label stream (``/api/projects/<id>/next``), the admin labels it good, and the prompt
then counts as agreed (2 of 3), with no further round.

Skipped when the Label Studio virtualenv is not installed (``scripts/label_studio.sh``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from kafka import KafkaConsumer

from services.contract.records import AnnotationRecord, ReviewRequest
from services.dev.devstack import free_port
from services.dev.workers import WorkerProcess, wait_outputs
from services.diversity.agreement import agreement_report
from services.downstream.exports import label_studio_task
from streams.ops_http import build_ops_app
from streams.replay import produce
from tests.integration.harness import LABEL_STUDIO_CONFIG, LabelStudio, serve, until

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "label_studio_rounds.py"
SECRET = "rounds-secret"
PROMPT = "Explain how a hash map handles collisions, with a short example in Python"


def _event(eid: str, text: str) -> bytes:
    return json.dumps({"event_id": eid, "prompt": text, "user_id": f"u-{eid}"}).encode()


def choice(label: str) -> list[dict]:
    return [
        {"id": "lbl1", "from_name": "label", "to_name": "prompt", "type": "choices",
         "origin": "manual", "value": {"choices": [label]}},
    ]  # fmt: skip


def review_requests(bootstrap: str, topic: str, want: int, timeout_s: float) -> list[dict]:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None
    )
    got: list[dict] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(got) < want and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                got += [json.loads(r.value) | {"_key": r.key.decode()} for r in records]
    finally:
        consumer.close()
    return got


async def test_disagreeing_annotators_get_one_more_round(fresh, tmp_path, label_studio):
    ls: LabelStudio = label_studio
    port = free_port()
    s = fresh(partitions=1, curate_partitions=1, webhook_secret=SECRET, ops_port=port)
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    runner = await serve(build_ops_app(s), port)
    try:
        with WorkerProcess(s, tmp_path / "worker.log") as worker:
            produce(s, [_event("e-1", PROMPT)])
            out = await asyncio.to_thread(wait_outputs, s, 1, worker, 240)
            (acc,) = out.accepted
            rec = AnnotationRecord.model_validate(acc)
            pid = rec.prompt_id

            project = ls.call(
                "POST",
                "/api/projects",
                {"title": "flywheel-rounds", "label_config": LABEL_STUDIO_CONFIG.read_text()},
                ok=201,
            )
            ls.call("POST", f"/api/projects/{project['id']}/import", [label_studio_task(rec)], 201)
            ls.call(
                "POST",
                "/api/webhooks/",
                {
                    "project": project["id"],
                    "url": f"http://127.0.0.1:{port}/webhooks/label-studio",
                    "headers": {"X-Flywheel-Secret": SECRET},
                    "send_payload": True,
                    "send_for_all_actions": False,
                    "actions": ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"],
                },
                ok=201,
            )
            (task,) = ls.call("GET", f"/api/tasks?project={project['id']}")["tasks"]
            assert task["overlap"] == 1
            users = [
                ls.call("POST", "/api/users/", {"email": f"{n}-{pid[:6]}@flywheel.test",
                                                 "username": f"{n}-{pid[:6]}"}, ok=201)
                for n in ("bea", "cai")
            ]  # fmt: skip
            for user, label in zip(users, ("good", "off_topic"), strict=True):
                ann = ls.call(
                    "POST",
                    f"/api/tasks/{task['id']}/annotations/",
                    {"result": choice(label), "completed_by": user["id"]},
                    ok=201,
                )
                assert ann["completed_by"] == user["id"]

            reqs = await asyncio.to_thread(
                review_requests, s.kafka_bootstrap, s.topic_review, 1, 120
            )
            assert len(reqs) == 1, f"no review request: {worker.log_tail()}"
            req = ReviewRequest.model_validate({k: v for k, v in reqs[0].items() if k != "_key"})
            assert reqs[0]["_key"] == pid
            assert (req.prompt_id, req.round, req.reason) == (pid, 2, "annotators_disagree")
            assert req.votes == {str(users[0]["id"]): "pos", str(users[1]["id"]): "neg"}
            report = await agreement_report(redis, s.namespace)
            assert report["items"]["open"] == 1 and report["items"]["sent_back"] == 1

            env = {**os.environ, "LABEL_STUDIO_TOKEN": ls.token}
            args = ["--bootstrap", s.kafka_bootstrap, "--topic", s.topic_review, "--url", ls.url,
                    "--project", str(project["id"]), "--group", f"{s.app_id}-ls", "--idle-exit", "3"]  # fmt: skip
            logs = []
            for _ in range(2):  # the second run re-reads nothing (offsets committed)
                done = subprocess.run(
                    [sys.executable, str(CLIENT), *args],
                    env=env, capture_output=True, text=True, timeout=120,
                )  # fmt: skip
                assert done.returncode == 0, done.stderr
                logs.append(done.stderr)
            assert "1 review requests applied" in logs[0], logs
            assert "0 review requests applied" in logs[1], logs
            task = ls.call("GET", f"/api/tasks/{task['id']}")
            assert (task["overlap"], task["is_labeled"]) == (3, False)

            nxt = ls.call("GET", f"/api/projects/{project['id']}/next")
            assert nxt["id"] == task["id"]  # back in the admin's label stream
            ls.call(
                "POST", f"/api/tasks/{task['id']}/annotations/", {"result": choice("good")}, 201
            )
            assert ls.call("GET", f"/api/tasks/{task['id']}")["is_labeled"] is True

            async def settled() -> dict | None:
                r = await agreement_report(redis, s.namespace)
                return r if r["items"]["agreed"] == 1 else None

            report = await until(settled, 120, "the third annotation")
            assert report["items"] == {
                "voted": 1, "agreed": 1, "open": 0, "unresolved": 0, "sent_back": 1,
            }  # fmt: skip
            assert report["alpha"]["global"] is not None
            (c,) = report["clusters"]
            assert report["clusters"][c]["votes"]["agreed"] == {"pos": 1.0, "neg": 0.0}
            assert len(report["annotators"]) == 3
            # no further round for it
            more = await asyncio.to_thread(review_requests, s.kafka_bootstrap, s.topic_review, 2, 5)
            assert len(more) == 1
    finally:
        await runner.cleanup()
        await redis.aclose()
