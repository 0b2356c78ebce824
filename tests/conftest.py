"""Shared fixtures. Integration tests run on the real embedded stack: a Tansu broker and a
redis-server process started for the session, the real model and real FAISS."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from services.dev.devstack import DevStack
from services.kafka.topics import ensure_topics
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    dev = DevStack(tmp_path_factory.mktemp("devstack"))
    running = dev.up(timeout_s=90)
    yield running
    dev.down()


def settings_env(s: Settings) -> dict[str, str]:
    return s.to_env()


@pytest.fixture
def fresh(stack):
    """Settings with topic names, consumer group and Redis namespace of this test only."""

    def make(partitions: int = 4, curate_partitions: int = 2, **overrides) -> Settings:
        run = uuid.uuid4().hex[:8]
        values = {
            "kafka_bootstrap": stack.bootstrap,
            "redis_url": stack.redis_url,
            "app_id": f"flywheel-test-{run}",
            "namespace": f"t{run}",
            "state_dir": ROOT / ".flywheel",
            "topic_events": f"t{run}.chat.events",
            "topic_annotation": f"t{run}.prompts.annotation",
            "topic_rejected": f"t{run}.prompts.rejected",
            "topic_dlq": f"t{run}.chat.events.dlq",
            "topic_curate": f"t{run}.flywheel.curate",
            "topic_results": f"t{run}.annotations.results",
            "topic_gaps": f"t{run}.flywheel.gaps",
            "topic_review": f"t{run}.prompts.review",
            "partitions": partitions,
            "curate_partitions": curate_partitions,
            "metrics_port": 0,
            "session_timeout_s": 10,
        }
        s = Settings(**{**values, **overrides})
        ensure_topics(s)  # before anything produces: auto-creation would pick other partitions
        return s

    return make
