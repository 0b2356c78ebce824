"""services/dev/workers.py without a broker: settings of a run's own."""

from __future__ import annotations

import subprocess
import sys

from services.dev.devstack import Stack
from services.dev.workers import TOPICS, isolated_settings, stop_worker

STACK = Stack("127.0.0.1:9", "redis://127.0.0.1:9/0", 0, 0)


def test_isolated_settings_name_everything_after_the_run():
    a, b = isolated_settings(STACK, "race"), isolated_settings(STACK, "race")
    assert a.namespace.startswith("race") and a.app_id == a.namespace
    assert a.namespace != b.namespace
    for name in TOPICS:
        topic = getattr(a, f"topic_{name}")
        assert topic.startswith(f"{a.namespace}.") and topic != getattr(b, f"topic_{name}")
    assert a.kafka_bootstrap == STACK.bootstrap and a.metrics_port == 0


def test_overrides_win():
    s = isolated_settings(STACK, "x", curate_partitions=3, topic_events="mine")
    assert s.curate_partitions == 3 and s.topic_events == "mine"


def test_stopping_a_finished_worker_does_nothing():
    proc = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
    proc.wait()
    stop_worker(proc)
    assert proc.returncode == 0
