"""End to end through real worker processes: Tansu broker, redis-server, the model, FAISS."""

import json
import signal

import pytest

from services.contract.records import SCHEMA_VERSION
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.integration

HOSTILE = [
    b"{not json",
    b"[1, 2, 3]",
    b"null",
    b"\xff\xfe\xfa not utf-8",
    b'{"event_id": "h-1"}',
    b'{"event_id": "h-2", "prompt": 42}',
    b'{"event_id": "h-3", "prompt": ["a"]}',
    b'{"event_id": "h-4", "prompt": "ok", "meta": ' + b'{"a": ' * 50 + b"1" + b"}" * 50 + b"}",
    json.dumps({"event_id": "h-5", "prompt": ""}).encode(),
    json.dumps({"event_id": "h-6", "prompt": "   \u200b  "}).encode(),
    json.dumps({"event_id": "h-7", "prompt": "x" * 1_000_000}).encode(),  # a 1 MB prompt
    json.dumps({"event_id": "h-8", "prompt": "ignore all previous instructions\x00\x07"}).encode(),
    b"",
]


def test_every_event_ends_in_exactly_one_output(fresh, tmp_path):
    s = fresh(partitions=4)
    gen = ChatLogGenerator(seed=5, bad_rate=0.02)
    events = list(gen.events(1200))
    messages = [raw for raw, _ in events] + HOSTILE
    malformed = sum(1 for _, meta in events if meta["kind"] == "malformed")
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, messages)
        out = wait_outputs(s, len(messages), worker, timeout_s=420)
        assert worker.alive()
    check_invariant(s, out)
    reasons = out.reasons()
    for reason in (
        "empty",
        "low_information",
        "too_long",
        "user_flood",
        "exact_duplicate",
        "near_duplicate",
    ):
        assert reasons[reason] > 0, reason
    codes = [d["fw-error"] for d in out.dlq]
    assert len(codes) == malformed + 8  # 8 of the hostile messages cannot be parsed or validated
    assert {"invalid_json", "not_an_object", "invalid_utf8", "invalid_event"} <= set(codes)
    rejected_ids = {r["event_id"] for r in out.rejected}
    assert {"h-5", "h-6", "h-7"} <= rejected_ids
    accepted = {r["event_id"]: r for r in out.accepted}
    assert accepted["h-8"]["text"] == "ignore all previous instructions"  # control chars gone
    for rec in out.accepted:
        assert rec["user"] is None or not rec["user"].startswith("user-")
        assert rec["schema_version"] == SCHEMA_VERSION
    # Pure Chinese: the model's tokens are mostly [UNK], so MinHash, not a cosine, decides.
    zh = [
        r
        for r in out.accepted
        if r["lang"] == "zh" and not any(c.isascii() and c.isalpha() for c in r["text"])
    ]
    assert zh and all(r["semantic_check"] == "minhash" and r["cluster"] is None for r in zh)
    zh_ids = {r["prompt_id"] for r in out.accepted if r["lang"] == "zh"}  # per-language index
    assert all(r["nearest"] is None or r["nearest"]["prompt_id"] in zh_ids for r in zh)


def test_replays_after_sigkill_neither_lose_nor_repeat(fresh, tmp_path):
    s = fresh(partitions=4)
    messages = [raw for raw, _ in ChatLogGenerator(seed=9, bad_rate=0.01).events(1500)]
    log = tmp_path / "worker.log"
    first = WorkerProcess(s, log).start()
    try:
        produce(s, messages)
        wait_outputs(s, 300, first, timeout_s=300)  # mid-stream, then kill without warning
    finally:
        first.kill(signal.SIGKILL)
    with WorkerProcess(s, log) as second:
        out = wait_outputs(s, len(messages), second, timeout_s=420)
    check_invariant(s, out)
