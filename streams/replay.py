"""Produces a chat log (one message per line) to the input topic: ``flywheel replay``."""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from kafka import KafkaProducer

from services.settings import Settings


def producer(s: Settings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=s.kafka_bootstrap,
        acks="all",
        linger_ms=5,
        max_request_size=8 * 1024 * 1024,
        batch_size=256 * 1024,
    )


def produce(s: Settings, messages: Iterable[bytes], rate: float = 0, on_sent=None) -> int:
    """Produce raw messages to ``s.topic_events``; ``rate`` > 0 paces them (events/s)."""
    prod = producer(s)
    start = time.monotonic()
    n = 0
    try:
        for n, raw in enumerate(messages, start=1):
            prod.send(s.topic_events, value=raw)
            if rate > 0:
                ahead = n / rate - (time.monotonic() - start)
                if ahead > 0:
                    time.sleep(ahead)
            if on_sent and n % 100 == 0:
                on_sent(n)
        prod.flush()
        if on_sent:
            on_sent(n)
    finally:
        prod.close()
    return n


def read_lines(path: Path) -> list[bytes]:
    return [line for line in path.read_bytes().split(b"\n") if line]


def replay(s: Settings, lines: list[bytes], rate: float = 0, progress: bool = True) -> int:
    """Produce ``lines`` (chat events) to the input topic, with a progress bar."""
    if not progress:
        return produce(s, lines, rate)
    from rich.progress import Progress

    with Progress() as bar:
        task = bar.add_task(f"producing to {s.topic_events}", total=len(lines))
        return produce(s, lines, rate, on_sent=lambda n: bar.update(task, completed=n))
