"""Kafka: the broker, the workers' consumer group and the topics of the contract."""

from __future__ import annotations

from pydantic import BaseModel, Field


class KafkaSettings(BaseModel):
    """Kafka: the broker, the consumer group and the topics (services/kafka, streams/app.py)."""

    kafka_bootstrap: str = Field(
        "127.0.0.1:9092",
        description="Kafka bootstrap servers, host:port[,...]",
        json_schema_extra={"deploy_required": True},
    )
    app_id: str = Field(
        "flywheel", description="Faust app id, which is also the workers' consumer group"
    )
    session_timeout_s: float = Field(
        30.0,
        ge=6,
        description="a worker that stops heartbeating loses its partitions after this many seconds",
    )
    fetch_max_wait_ms: int = Field(
        100,
        ge=1,
        le=1500,
        description="how long the workers' consumers let the broker hold a fetch for more data "
        "(replaces Faust's fixed 1500 ms, which every consumer hop waited for on a quiet broker)",
    )
    topic_events: str = Field("chat.events", description="chat events in (docs/contract.md)")
    topic_annotation: str = Field(
        "prompts.annotation", description="accepted prompts out, for annotation"
    )
    topic_rejected: str = Field(
        "prompts.rejected", description="rejected prompts out, each with its reason code"
    )
    topic_dlq: str = Field(
        "chat.events.dlq", description="messages that cannot be processed, with the error"
    )
    topic_results: str = Field(
        "annotations.results", description="annotator decisions flowing back (feedback loop)"
    )
    topic_gaps: str = Field(
        "flywheel.gaps", description="coverage gaps per topic cluster, for synthetic generation"
    )
    topic_review: str = Field(
        "prompts.review", description="prompts whose annotators disagree, for one more round"
    )
    topic_curate: str = Field(
        "flywheel.curate", description="internal hop from ingest to curate, keyed by shard"
    )
    topic_erasure: str = Field(
        "privacy.erasure",
        description="erasure requests in: forget a user, a prompt or an event (docs/privacy.md)",
    )
    topic_erased: str = Field(
        "prompts.erased", description="one record per erased prompt, for downstream stores"
    )
    topic_audit: str = Field(
        "privacy.audit",
        description="one record per erasure request done: hashes and counts, never ids or text",
    )
    partitions: int = Field(
        4, ge=1, description="partitions of the contract topics when Flywheel creates them"
    )
    curate_partitions: int = Field(
        4, ge=1, description="partitions of the internal curate topic (one curate shard each)"
    )
