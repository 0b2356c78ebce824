"""Downstream consumers on the real broker: the Python subscriber and `flywheel export`. Clients
that are not Python: test_interop_node.py (kafkajs) and test_interop_librdkafka.py."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kafka import KafkaProducer

from services.downstream.subscriber import Filters, Subscriber

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def curated(fresh):
    s = fresh(partitions=2)
    lines = [
        x
        for x in (ROOT / "tests" / "data" / "annotation_records_v1.0.jsonl").read_text().split("\n")
        if x
    ]
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    for line in lines:
        rec = json.loads(line)
        producer.send(s.topic_annotation, key=rec["prompt_id"].encode(), value=line.encode())
    producer.send(s.topic_annotation, key=b"bad", value=b'{"not": "a record"}')
    producer.flush()
    producer.close()
    return s, lines


def test_subscriber_yields_validated_records_with_filters(curated):
    s, lines = curated
    sub = Subscriber(s)
    assert sorted(r.event_id for r in sub.snapshot()) == ["e1", "e2", "e3"]
    assert sub.invalid == 1
    only_zh = Subscriber(s, filters=Filters(langs={"zh"}))
    assert [r.event_id for r in only_zh.snapshot()] == ["e3"]
    synthetic = Subscriber(s, filters=Filters(sources={"synthetic"}))
    assert [r.event_id for r in synthetic.snapshot()] == ["e2"]


def test_export_formats(curated, tmp_path):
    s, lines = curated
    texts = {json.loads(x)["prompt_id"]: json.loads(x)["text"] for x in lines}
    env = {**__import__("os").environ, **s.to_env()}
    for fmt in ("jsonl", "chat", "label-studio", "argilla"):
        out = tmp_path / f"{fmt}.jsonl"
        done = subprocess.run(
            [sys.executable, "-m", "streams.cli", "export", "--format", fmt, "--out", str(out)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert json.loads(done.stdout.strip().splitlines()[-1])["exported"] == 3
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert len(rows) == 3
        if fmt == "label-studio":
            assert all("prompt" in r["data"] for r in rows)
        if fmt == "argilla":
            assert all(r["fields"]["prompt"] for r in rows)
        if fmt == "chat":  # 1.0 records: prompt-only, one user message each
            for r in rows:
                assert r["messages"] == [{"role": "user", "content": texts[r["prompt_id"]]}]
    answered = tmp_path / "answered.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "export", "--format", "chat", "--with-response"]
        + ["--out", str(answered)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["exported"], summary["without_response"]) == (0, 3)  # 1.0 kept no answers
