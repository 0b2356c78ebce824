"""Exactly-once outputs across a crash, on the real broker and Redis (no model needed).

The crash is reproduced at its worst moment: the ledger says a batch is pending and part of its
outputs reached the broker, but the worker died before recording that."""

import json

import pytest
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer
from kafka import KafkaConsumer, TopicPartition

from services.contract.envelope import SRC_HEADER, InMsg, Out
from services.pipeline.runner import StageRunner, end_offsets
from services.state.ledger import EmitLedger, PartitionProgress, Pending

pytestmark = pytest.mark.integration


def read_all(bootstrap: str, topic: str) -> list:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, consumer_timeout_ms=3000)
    tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records = list(consumer)
    consumer.close()
    return records


@pytest.fixture
async def parts(fresh):
    s = fresh(partitions=2)
    redis = aioredis.from_url(s.redis_url.get_secret_value())
    producer = AIOKafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all")
    await producer.start()

    async def send(topic, key, value, headers, partition=None):
        return await producer.send(topic, value, key=key, headers=headers)

    yield s, redis, send
    await producer.stop()
    await redis.aclose()


def echo(topic: str):
    async def process(msgs):
        return [Out(topic, m.key, json.dumps({"offset": m.offset}).encode(), m.src) for m in msgs]

    return process


async def test_replay_after_a_crash_mid_produce_emits_each_output_once(parts):
    s, redis, send = parts
    msgs = [InMsg(s.topic_events, 0, off, b"k", b"{}") for off in range(30)]
    out_topic = s.topic_annotation
    runner = StageRunner(
        "t", EmitLedger(redis, s.namespace, "t"), send, s.kafka_bootstrap, [out_topic]
    )
    await runner.run_batch(msgs[:10], echo(out_topic))

    # Crash: batch 10..29 marked pending, outputs of 10..17 produced, then the process died.
    marks = await end_offsets(s.kafka_bootstrap, [out_topic])
    await runner.ledger.save({(s.topic_events, 0): PartitionProgress(10, Pending(10, 29, marks))})
    for m in msgs[10:18]:
        fut = await send(out_topic, m.key, b"{}", [(SRC_HEADER, m.src.encode())])
        await fut

    # Restart: a new runner sees everything again, in batches that cut the crashed one in two.
    again = StageRunner(
        "t", EmitLedger(redis, s.namespace, "t"), send, s.kafka_bootstrap, [out_topic]
    )
    await again.run_batch(msgs[:14], echo(out_topic))
    await again.run_batch(msgs[14:], echo(out_topic))

    srcs = [dict(r.headers)[SRC_HEADER].decode() for r in read_all(s.kafka_bootstrap, out_topic)]
    assert sorted(srcs) == sorted(m.src for m in msgs)  # each exactly once
    assert again.skipped_replays == 10 and again.recovered == 8
    progress = await again.ledger.load([(s.topic_events, 0)])
    assert progress[(s.topic_events, 0)] == PartitionProgress(30, None)


async def test_replay_of_a_fully_recorded_batch_emits_nothing(parts):
    s, redis, send = parts
    msgs = [InMsg(s.topic_events, 1, off, None, b"{}") for off in range(5)]
    runner = StageRunner(
        "u", EmitLedger(redis, s.namespace, "u"), send, s.kafka_bootstrap, [s.topic_rejected]
    )
    assert len(await runner.run_batch(msgs, echo(s.topic_rejected))) == 5
    assert await runner.run_batch(msgs, echo(s.topic_rejected)) == []
    assert len(read_all(s.kafka_bootstrap, s.topic_rejected)) == 5
