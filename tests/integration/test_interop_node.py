"""Interoperability with a client that is not Python, on the embedded broker: kafkajs (pure
JavaScript, clients/node/consume.js) reads the curated topic, and what it prints validates
against the published JSON Schema. librdkafka (kcat, confluent-kafka): test_interop_librdkafka.py
(docs/interop.md)."""

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from kafka import KafkaProducer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "node"
NODE = shutil.which("node")
JUNK = '{"not": "a record"}'


@pytest.fixture
def curated_topic(fresh):
    """The annotation topic (2 partitions) with the 3 sample records and 1 junk record."""
    if NODE is None:
        pytest.skip("node not installed (Debian package nodejs)")
    if not (CLIENT / "node_modules" / "kafkajs" / "package.json").exists():
        pytest.skip("kafkajs not installed: run `cd clients/node && npm ci` (scripts/setup.sh)")
    s = fresh(partitions=2)
    lines = [
        x
        for x in (ROOT / "tests" / "data" / "annotation_records_v1.0.jsonl").read_text().split("\n")
        if x
    ]
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
    for line in lines:
        key = json.loads(line)["prompt_id"].encode()
        producer.send(s.topic_annotation, key=key, value=line.encode())
    producer.send(s.topic_annotation, key=b"bad", value=JUNK.encode())
    producer.flush()
    producer.close()
    return s, lines


def test_kafkajs_reads_the_curated_topic_and_it_validates(curated_topic):
    s, lines = curated_topic
    schema = json.loads((ROOT / "docs" / "schemas" / "annotation_record.schema.json").read_text())
    done = subprocess.run(
        [NODE, "consume.js", "--brokers", s.kafka_bootstrap, "--topic", s.topic_annotation],
        cwd=CLIENT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    printed = [x for x in done.stdout.splitlines() if x.strip()]
    # Every value exactly once, byte for byte (order only holds within a partition).
    assert sorted(printed) == sorted([*lines, JUNK]), done.stderr
    validator = jsonschema.validators.validator_for(schema)(schema)
    valid = [json.loads(x) for x in printed if validator.is_valid(json.loads(x))]
    invalid = [x for x in printed if not validator.is_valid(json.loads(x))]
    assert sorted(r["event_id"] for r in valid) == ["e1", "e2", "e3"]
    assert invalid == [JUNK]
    for record in valid:
        jsonschema.validate(record, schema)
