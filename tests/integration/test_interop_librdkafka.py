"""Interoperability with librdkafka, the C client under kcat and the Python, Go, .NET and Rust
bindings: a confluent-kafka producer writes chat events (keys, headers, explicit timestamps) that
a real ``flywheel worker`` curates, and a confluent-kafka consumer in its own group reads the
outputs back. Every record must validate against docs/schemas, carry the contract headers, and
account for exactly one produced event.

Two things about the embedded Tansu broker, found by experiment (docs/interop.md):
- a group join takes about half of ``session.timeout.ms`` (~23 s at librdkafka's 45 s default),
  so the consumer uses 6 s and joins in ~3 s;
- ``get_watermark_offsets(cached=False)`` (ListOffsets LATEST) can answer too low; the high
  watermark of the Fetch responses (``cached=True``) is right, so the drain below uses that.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import jsonschema
import pytest

from services.dev.workers import WorkerProcess

ck = pytest.importorskip("confluent_kafka")  # a dev dependency (pyproject.toml)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
CONTRACT_HEADERS = ("fw-origin", "fw-src", "fw-in-ts")
USER_ID = "acct-7731-okafor"  # must never reach an output
EMAIL = "r.okafor@example.net"
MALFORMED = b'{"event_id": "lk-bad", "prompt": "the closing brace never comes'

# Hand-written events, unlike the project's generator: distinct topics, one exact duplicate
# (other case and spacing), a greeting, an e-mail to redact, Chinese, emoji only, a synthetic one.
EVENTS = [
    ("lk-1", "How do I reverse a singly linked list in Rust without using unsafe code?"),
    ("lk-2", "Compare the BBR and CUBIC congestion control algorithms for long fat networks."),
    ("lk-3", "how do I reverse a singly linked list in   Rust without using unsafe code?"),
    ("lk-4", "hi"),
    ("lk-5", f"Draft a polite reminder to {EMAIL} about the invoice that is three weeks overdue."),
    ("lk-6", "请解释一下量子纠缠的基本原理，并用一个生活中的例子来类比。"),
    ("lk-7", "🙂🙂🙂🎉"),
    ("lk-8", "Write a short haiku about autumn rain on a tin roof, then translate it to French."),
    ("lk-9", "What are the trade-offs between B-trees and LSM-trees for write-heavy workloads?"),
]


def _event(event_id: str, prompt: str, n: int) -> dict:
    return {
        "event_id": event_id,
        "prompt": prompt,
        "user_id": USER_ID,
        "session_id": f"sess-{n % 3}",
        # RFC 3339: the published schema has no epoch-milliseconds form (the model accepts one)
        "ts": f"2026-12-02T09:{n:02d}:00Z",
        "source": "synthetic" if event_id == "lk-9" else "real",
        "channel": "librdkafka-test",
        "meta": {"client": "confluent-kafka", "n": n},
    }


def _produce(bootstrap: str, topic: str) -> dict[str, dict]:
    """Produce every event plus one malformed message; returns, per ``topic/partition/offset``
    from the delivery reports, what was sent there."""
    schema = json.loads((SCHEMAS / "chat_event.schema.json").read_text())
    producer = ck.Producer(
        {"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True}
    )
    sent: dict[str, dict] = {}
    errors: list[object] = []

    def report(err, msg, what: dict) -> None:
        if err is not None:
            errors.append(err)
            return
        sent[f"{msg.topic()}/{msg.partition()}/{msg.offset()}"] = what

    payloads = []
    for n, (event_id, prompt) in enumerate(EVENTS):
        event = _event(event_id, prompt, n)
        jsonschema.validate(event, schema)  # the test's own inputs are contract inputs
        payloads.append((event_id, json.dumps(event, ensure_ascii=False).encode()))
    payloads.append(("lk-bad", MALFORMED))
    for n, (event_id, value) in enumerate(payloads):
        what = {"event_id": event_id, "key": f"k-{event_id}".encode(), "value": value}
        what["ts"] = int(time.time() * 1000) - 1000 + n
        producer.produce(
            topic,
            key=what["key"],
            value=value,
            headers=[("trace-id", f"{n:016x}".encode()), ("content-type", b"application/json")],
            timestamp=what["ts"],
            on_delivery=lambda err, msg, what=what: report(err, msg, what),
        )
    assert producer.flush(30) == 0
    assert errors == [] and len(sent) == len(payloads)
    return sent


def high_watermark(consumer, tp) -> int:
    """The partition's end: the high watermark of the last Fetch (empty partitions get one too:
    0). Before the first Fetch answered there is none cached (-1001); then ListOffsets, which on
    Tansu is too low only when the last batch holds several records, never for an empty one."""
    fetched = consumer.get_watermark_offsets(tp, cached=True)[1]
    return fetched if fetched >= 0 else consumer.get_watermark_offsets(tp, timeout=10)[1]


def _consume(consumer, want: set[str], worker: WorkerProcess, timeout_s: float) -> list:
    """Poll until some record names every origin in ``want``, then drain every assigned
    partition to its high watermark (as the last Fetch reported it)."""
    got: list = []
    seen: set[str] = set()
    next_offset: dict[tuple[str, int], int] = {}
    deadline = time.monotonic() + timeout_s

    def poll_once() -> None:
        msg = consumer.poll(1.0)
        if msg is None:
            return
        assert msg.error() is None, msg.error()
        got.append(msg)
        seen.add(dict(msg.headers() or ()).get("fw-origin", b"").decode())
        next_offset[(msg.topic(), msg.partition())] = msg.offset() + 1

    while not want <= seen:
        assert worker.alive(), f"worker died:\n{worker.log_tail()}"
        assert time.monotonic() < deadline, (
            f"{len(want - seen)} events without output:\n{worker.log_tail()}"
        )
        poll_once()
    while True:
        high = {
            (tp.topic, tp.partition): high_watermark(consumer, tp) for tp in consumer.assignment()
        }
        if all(next_offset.get(k, 0) >= h for k, h in high.items()):
            return got
        assert time.monotonic() < deadline, f"not drained: {high} vs {next_offset}"
        poll_once()


def test_confluent_kafka_produces_events_and_reads_the_curated_outputs(fresh, tmp_path):
    s = fresh(partitions=2)
    consumer = ck.Consumer(
        {
            "bootstrap.servers": s.kafka_bootstrap,
            "group.id": f"{s.app_id}-librdkafka",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
        }
    )
    outputs = (s.topic_annotation, s.topic_rejected, s.topic_dlq)
    consumer.subscribe(list(outputs))  # joins while the worker starts
    try:
        with WorkerProcess(s, tmp_path / "worker.log") as worker:
            sent = _produce(s.kafka_bootstrap, s.topic_events)
            got = _consume(consumer, set(sent), worker, timeout_s=420)
        ends = {
            (tp.topic, tp.partition): (
                high_watermark(consumer, tp),
                consumer.get_watermark_offsets(tp, timeout=10, cached=False)[1],
            )
            for tp in consumer.assignment()
        }
        assert {t for t, _ in ends} == set(outputs)
        # Offsets commit and read back in this group (a restarted consumer resumes there).
        assert all(tp.error is None for tp in consumer.commit(asynchronous=False))
        committed = consumer.committed(consumer.assignment(), timeout=10)
    finally:
        consumer.close()

    # Every produced event accounted for exactly once, and nothing else on the output topics.
    origins = Counter(dict(m.headers()).get("fw-origin", b"").decode() for m in got)
    assert origins == Counter(set(sent)), origins
    assert len(got) == sum(fetched for fetched, _ in ends.values())
    for tp in committed:
        fetched = ends[(tp.topic, tp.partition)][0]
        assert tp.offset == (fetched if fetched > 0 else ck.OFFSET_INVALID), (tp, ends)
    # ListOffsets may answer too low on Tansu, never too high (on Apache Kafka they agree).
    assert all(listed <= fetched for fetched, listed in ends.values()), ends

    by_event: dict[str, tuple[str, dict]] = {}
    schema = {
        s.topic_annotation: json.loads((SCHEMAS / "annotation_record.schema.json").read_text()),
        s.topic_rejected: json.loads((SCHEMAS / "rejection_record.schema.json").read_text()),
    }
    for msg in got:
        headers = dict(msg.headers())
        assert all(h in headers for h in CONTRACT_HEADERS), (msg.topic(), headers)
        what = sent[headers["fw-origin"].decode()]
        assert int(headers["fw-in-ts"]) == what["ts"]  # the producer's timestamp, carried through
        if msg.topic() == s.topic_dlq:
            assert (msg.key(), msg.value()) == (what["key"], what["value"])  # original bytes
            assert headers["fw-error"] == b"invalid_json"
            assert headers["fw-offset"].decode() == headers["fw-origin"].decode().split("/")[-1]
            by_event[what["event_id"]] = ("dlq", {})
            continue
        assert USER_ID.encode() not in msg.value() and EMAIL.encode() not in msg.value()
        record = json.loads(msg.value())
        jsonschema.validate(record, schema[msg.topic()])
        assert record["event_id"] == what["event_id"]
        if msg.topic() == s.topic_annotation:
            assert msg.key() == record["prompt_id"].encode()
            by_event[record["event_id"]] = ("accepted", record)
        else:
            assert msg.key() == record["event_id"].encode()
            by_event[record["event_id"]] = ("rejected", record)

    assert sorted(by_event) == sorted([e for e, _ in EVENTS] + ["lk-bad"])
    kept, dup = sorted((by_event["lk-1"], by_event["lk-3"]), key=lambda x: x[0])
    assert kept[0] == "accepted" and dup[1]["reason"] == "exact_duplicate"
    assert dup[1]["duplicate_of"] == kept[1]["prompt_id"]
    assert by_event["lk-4"][1]["reason"] == "low_information"
    assert by_event["lk-7"][1]["reason"] == "emoji_only"
    outcome, redacted = by_event["lk-5"]
    assert outcome == "accepted" and "EMAIL" in redacted["pii"] and "{{EMAIL}}" in redacted["text"]
    for event_id in ("lk-2", "lk-6", "lk-8", "lk-9"):
        assert by_event[event_id][0] == "accepted", by_event[event_id]
    assert by_event["lk-6"][1]["lang"] == "zh" and by_event["lk-9"][1]["source"] == "synthetic"
    assert all(r["user"] is not None for o, r in by_event.values() if o == "accepted")
