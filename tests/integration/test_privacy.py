"""Erasure through the real worker: ``flywheel forget --user`` removes a user's prompts from every
topic consumer's view, every Redis key, log and snapshot and every index, and nobody else's."""

import json
import os
import subprocess
import sys

import pytest
import redis

from services.dev.accounting import read_records, topic_end_offsets
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from services.downstream.subscriber import Subscriber
from streams.replay import produce
from tests.integration.harness import check_invariant
from tests.integration.test_conversations import stored_bytes

pytestmark = pytest.mark.integration

ERASED_USER = "ana.silva.7781"
OTHER_USER = "li.wei.2290"
ANA = [
    "How do I prepare for a job interview at a veterinary clinic in Lisbon?",
    "Write a short speech for my grandmother's ninetieth birthday party.",
    "What stretches help with lower back pain after long cycling rides?",
    "Explain the difference between a Roth IRA and a traditional IRA.",
    "Plan a three-day itinerary for Porto with a focus on azulejo tiles.",
    "我应该如何准备下周的钢琴考试？",
]
LI = [
    "How do rainbows form after a storm?",
    "Give me a recipe for vegetarian dumplings with mushrooms.",
    "What are good habits for learning Rust as a Python developer?",
    "Write a limerick about a cat who loves jazz.",
    "Summarize the plot of Pride and Prejudice in three sentences.",
    "北京有哪些适合带孩子去的博物馆？",
]


def events(prefix: str, user: str, texts: list[str]) -> list[bytes]:
    return [
        json.dumps({"event_id": f"{prefix}-{i}", "user_id": user, "prompt": t}).encode()
        for i, t in enumerate(texts)
    ]


def forget(s, user: str) -> dict:
    env = {**os.environ, **s.to_env()}
    cmd = [sys.executable, "-m", "streams.cli", "forget", "--user", user, "--wait", "180"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr
    assert user not in done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_forget_a_user_everywhere_and_nobody_else(fresh, tmp_path):
    s = fresh(partitions=2, index_snapshot_every=3)
    first = events("ana", ERASED_USER, ANA) + events("li", OTHER_USER, LI)
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, first)
        out = wait_outputs(s, len(first), worker, timeout_s=240)
        check_invariant(s, out)
        ana = {r["prompt_id"] for r in out.accepted if r["event_id"].startswith("ana-")}
        li = {r["prompt_id"] for r in out.accepted if r["event_id"].startswith("li-")}
        assert len(ana) == len(ANA) and len(li) == len(LI)
        r = redis.Redis.from_url(s.redis_url.get_secret_value())
        snapshots = list(r.scan_iter(f"{s.namespace}:vectors:snap:*"))
        assert snapshots  # the rewritten snapshots are checked below

        load = [raw for raw, _ in ChatLogGenerator(seed=3).events(300)]
        produce(s, load)  # other users' traffic goes on while the erasure runs
        report = forget(s, ERASED_USER)
        assert sorted(report["erased"]) == sorted(ana)
        assert report["removed"]["log_entries"] >= len(ana)
        log_text = worker.log_tail(10**7)

        # downstream: one erased record and one tombstone per prompt; exports leave them out
        erased = read_records(s.kafka_bootstrap, [s.topic_erased])
        assert {rec.key.decode() for rec in erased} == ana
        tombstones = [
            rec.key.decode()
            for rec in read_records(s.kafka_bootstrap, [s.topic_annotation])
            if rec.value is None
        ]
        assert sorted(tombstones) == sorted(ana)
        exported = {rec.prompt_id for rec in Subscriber(s).snapshot()}
        assert li <= exported and not exported & ana

        # Redis: no text, no raw id; their prompt_ids only in the erasure's own records
        stored = stored_bytes(s)
        for text in ANA:
            assert text.encode() not in stored
        assert ERASED_USER.encode() not in stored and ERASED_USER not in log_text
        for raw in r.lrange(f"{s.namespace}:recent", 0, -1):
            rec = json.loads(raw)  # another prompt may name an erased one as its nearest
            assert rec["prompt_id"] not in ana
        for key in r.scan_iter(f"{s.namespace}:*"):
            name = key.decode()
            if ":privacy:" in name or name.endswith(":recent"):
                continue
            kind = r.type(key).decode()
            values = (
                r.lrange(key, 0, -1)
                if kind == "list"
                else [v for kv in r.hgetall(key).items() for v in kv]
                if kind == "hash"
                else [r.get(key) or b""]
                if kind == "string"
                else []
            )
            blob = b"".join(values) + key
            for pid in ana:
                assert bytes.fromhex(pid) not in blob and pid.encode() not in blob, name
        for pid in li:  # the other user's prompts are all still there
            assert r.exists(f"{s.namespace}:seen:{pid}")

        # the indexes forgot them: the same texts from someone else are accepted again, while
        # the other user's texts are still duplicates
        again = events("bob", "bob", ANA) + events("eve", "eve", LI)
        produce(s, again)
        out = wait_outputs(s, len(first) + len(load) + len(again), worker, timeout_s=300)
    ends = topic_end_offsets(s.kafka_bootstrap, s.topic_events)
    assert out.missing(s.topic_events, ends) == [] and out.duplicated_srcs() == []
    assert out.total == sum(ends.values())
    assert set(out.duplicated_prompt_ids()) <= ana  # only the erased ones were accepted twice
    reason = {x["event_id"]: x["reason"] for x in out.rejected}
    accepted = {x["event_id"] for x in out.accepted}
    assert {f"bob-{i}" for i in range(len(ANA))} <= accepted, reason
    assert all(reason.get(f"eve-{i}") == "exact_duplicate" for i in range(len(LI))), reason
