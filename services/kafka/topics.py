"""Creates the contract topics explicitly (auto-creation would use the broker's defaults)."""

from __future__ import annotations

import logging
import time

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from services.settings import Settings

log = logging.getLogger(__name__)


def wanted_topics(s: Settings) -> dict[str, int]:
    return {
        s.topic_events: s.partitions,
        s.topic_annotation: s.partitions,
        s.topic_rejected: s.partitions,
        s.topic_dlq: s.partitions,
        s.topic_curate: s.curate_partitions,
        s.topic_results: s.partitions,
        s.topic_gaps: 1,
        s.topic_review: s.partitions,
        s.topic_erasure: 1,  # requests are erased one after another, in the order asked
        s.topic_erased: s.partitions,
        s.topic_audit: 1,
    }


def admin(bootstrap: str, timeout_s: float = 60.0) -> KafkaAdminClient:
    """An admin client, retried until the broker answers or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return KafkaAdminClient(
                bootstrap_servers=bootstrap, client_id="flywheel-admin", request_timeout_ms=10_000
            )
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def ensure_topics(s: Settings, timeout_s: float = 60.0) -> dict[str, int]:
    """Create the missing contract topics; returns {topic: partitions} for those created."""
    client = admin(s.kafka_bootstrap, timeout_s)
    try:
        existing = set(client.list_topics())
        missing = {t: n for t, n in wanted_topics(s).items() if t not in existing}
        for topic, n in missing.items():
            try:
                client.create_topics([NewTopic(topic, n, 1)])
                log.info("created topic %s with %d partitions", topic, n)
            except TopicAlreadyExistsError:
                pass
        return missing
    finally:
        client.close()
