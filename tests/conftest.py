"""Shared fixtures. Integration tests run on the real embedded stack: a Tansu broker and a
redis-server process started for the session, the real model and real FAISS."""

from __future__ import annotations

import os

import pytest

from services.dev.devstack import DevStack
from services.dev.workers import isolated_settings
from services.kafka.topics import ensure_topics
from services.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    dev = DevStack(tmp_path_factory.mktemp("devstack"))
    running = dev.up(timeout_s=90)
    yield running
    dev.down()


@pytest.fixture
def fresh(stack):
    """Settings with topic names, consumer group and Redis namespace of this test only."""

    def make(partitions: int = 4, curate_partitions: int = 2, **overrides) -> Settings:
        s = isolated_settings(
            stack,
            "t",
            **({"session_timeout_s": 10} | overrides),
            partitions=partitions,
            curate_partitions=curate_partitions,
        )
        ensure_topics(s)  # before anything produces: auto-creation would pick other partitions
        return s

    return make
