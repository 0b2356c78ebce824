"""Log-end offsets that are right on every Kafka-protocol broker.

Found here: Tansu (the embedded broker) answers ListOffsets(LATEST) with wrong, too small values
(1 for a partition holding 27 records), while the high watermark in its Fetch responses is
right. So the end of a partition is taken as the larger of the two, after one fetch near the
listed end. On Apache Kafka both agree and the fetch costs one round trip per call.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer
from aiokafka import TopicPartition as AioTP
from kafka import KafkaConsumer
from kafka import TopicPartition as KTP


async def end_offsets_async(consumer: AIOKafkaConsumer, tps: Sequence[AioTP]) -> dict[AioTP, int]:
    """End offset of each partition; ``consumer`` gets ``tps`` assigned (it should be private)."""
    if not tps:
        return {}
    listed = await consumer.end_offsets(list(tps))
    consumer.assign(list(tps))
    for tp in tps:
        consumer.seek(tp, max(listed[tp] - 1, 0))
    for _ in range(20):
        await consumer.getmany(*tps, timeout_ms=250, max_records=1)
        if all(consumer.highwater(tp) is not None for tp in tps):
            break
    return {tp: max(listed[tp], consumer.highwater(tp) or 0) for tp in tps}


def end_offsets_sync(consumer: KafkaConsumer, tps: Sequence[KTP]) -> dict[KTP, int]:
    """Same as ``end_offsets_async`` for kafka-python."""
    if not tps:
        return {}
    listed = consumer.end_offsets(list(tps))
    consumer.assign(list(tps))
    for tp in tps:
        consumer.seek(tp, max(listed[tp] - 1, 0))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        consumer.poll(timeout_ms=250, max_records=1, update_offsets=False)
        if all(consumer.highwater(tp) is not None for tp in tps):
            break
    return {tp: max(listed[tp], consumer.highwater(tp) or 0) for tp in tps}
