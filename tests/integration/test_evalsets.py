"""Evaluation sets through the real worker: a set registered with ``flywheel evalsets add`` makes
copies of its items ``contaminated`` (the item named, no text); removed while the worker runs,
the same prompts are accepted again."""

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

from services.dev.workers import WorkerProcess, wait_outputs
from services.state.evalsets import RedisEvalsets
from streams.replay import produce
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.integration

ITEMS = {
    "arc-1": "Which of the following best explains why the Moon shows phases as seen from Earth?",
    "arc-2": "A student pushes a box across a rough floor. Which force slows the box down the most?",
    "mmlu-3": "Find the degree of the field extension Q(sqrt(2), sqrt(3)) over the rational numbers.",
}
WRAPPERS = [
    "Can you solve this for me? {q}",
    "I'm stuck on my homework: {q} Thanks!",
    "Question: {q}\nPlease explain your answer.",
]
ORDINARY = [
    "Write a short poem about autumn leaves falling in a quiet park.",
    "Explain how a hash map handles collisions, with an example in Java.",
    "Give me a weekly meal plan for a vegetarian runner.",
]


def flywheel(s, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **s.to_env(), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "evalsets", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def events(s, tag: str, texts: list[str]) -> list[bytes]:
    return [
        json.dumps(
            {"event_id": f"{s.namespace}-{tag}-{i}", "prompt": t, "user_id": f"u{i}"}
        ).encode()
        for i, t in enumerate(texts)
    ]


def listing(s) -> list[dict]:
    async def go() -> list[dict]:
        client = aioredis.from_url(s.redis_url.get_secret_value())
        try:
            return await RedisEvalsets(client, s.namespace).listing()
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_register_copy_reject_remove_accept(fresh, tmp_path: Path):
    s = fresh(partitions=2, contamination_refresh_s=0.5)
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(json.dumps({"id": k, "question": q}) for k, q in ITEMS.items()))
    added = flywheel(s, "add", "bench", str(path))
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["items"] == 3
    again = flywheel(s, "add", "bench", str(path))
    assert again.returncode == 1
    assert again.stderr.strip().splitlines() == [
        "flywheel evalsets: a set named bench exists: remove it first"
    ]

    copies = [w.format(q=q) for w, q in zip(WRAPPERS, ITEMS.values(), strict=True)]
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        first = events(s, "a", copies) + events(s, "o", ORDINARY)
        produce(s, first)
        out = wait_outputs(s, len(first), worker, 300)
        check_invariant(s, out)
        rejected = {r["event_id"]: r for r in out.rejected}
        for i, item_id in enumerate(ITEMS):
            rec = rejected[f"{s.namespace}-a-{i}"]
            assert rec["reason"] == "contaminated"
            by = rec["contaminated_by"]
            assert (by["evalset"], by["item_id"]) == ("bench", item_id)
            assert by["method"] in ("ngram", "embedding") and 0 < by["score"] <= 1
            assert "Moon" not in json.dumps(rec) and "box" not in json.dumps(rec)
        accepted = {a["event_id"] for a in out.accepted}
        assert {f"{s.namespace}-o-{i}" for i in range(len(ORDINARY))} <= accepted
        [meta] = listing(s)
        assert (meta["name"], meta["items"], meta["hits"], meta["items_seen"]) == ("bench", 3, 3, 3)

        removed = flywheel(s, "remove", "bench")
        assert removed.returncode == 0, removed.stderr
        assert listing(s) == []
        time.sleep(1.5)  # past the worker's refresh interval: its next batch reloads
        second = events(s, "b", copies)
        produce(s, second)
        out = wait_outputs(s, len(first) + len(second), worker, 300)
        check_invariant(s, out)
        accepted = {a["event_id"] for a in out.accepted}
        assert {f"{s.namespace}-b-{i}" for i in range(len(copies))} <= accepted
    gone = flywheel(s, "remove", "bench")
    assert gone.returncode == 1 and "no evaluation set named bench" in gone.stderr
