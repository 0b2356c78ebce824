"""A poison record on the internal curate topic (a vector of another dimension, as a rolling
model change produces) must not stall curation: it is dead-lettered with its reason and every
chat event around it is still accounted for exactly once."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from kafka import KafkaProducer

from services.contract.records import CurateItem
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce

pytestmark = pytest.mark.chaos


def poison_item() -> bytes:
    vec = np.ones(10, dtype=np.float32) / np.sqrt(10)  # 10-d: the index holds 384-d vectors
    item = CurateItem(
        event_id="poison",
        prompt_id="ab" * 16,
        text="How do I rotate an API key without downtime?",
        lang="en",
        source="real",
        user=None,
        vector=base64.b64encode(vec.tobytes()).decode(),
        cluster=0,
        shard=0,
        src="elsewhere/0/0",
    )
    return item.model_dump_json().encode()


def test_a_curate_record_of_another_dimension_is_dead_lettered_and_curation_goes_on(
    fresh, tmp_path
):
    s = fresh(partitions=2, curate_partitions=2)
    events = [raw for raw, _ in ChatLogGenerator(seed=515, bad_rate=0.0).events(300)]
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    for p in range(2):  # a poison record at the head of every curate partition
        producer.send(s.topic_curate, poison_item(), partition=p)
    producer.flush()
    producer.close()
    produce(s, events)
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        out = wait_outputs(s, len(events) + 2, worker, timeout_s=300)
        log = worker.log_tail(200_000)
    chat = [src for src in out.srcs if src.startswith(s.topic_events)]
    assert len(chat) == len(events)  # every chat event has its output ...
    assert out.duplicated_srcs() == []  # ... exactly once
    poisoned = [d for d in out.dlq if d.get("fw-topic") == s.topic_curate]
    assert len(poisoned) == 2, out.dlq
    assert {d["fw-error"] for d in poisoned} == {"invalid_curate_item"}
    assert all("dimensions" in d["fw-error-detail"] for d in poisoned)
    assert "differ in length or dimension" not in log  # refused up front: no retry loop
