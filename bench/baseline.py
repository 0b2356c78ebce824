"""The naive baseline: one event at a time -- parse, encode, flat-index search, produce and wait.

Used by bench/e2e.py in the same run as the pipeline, on the same prompts and backend.
"""

from __future__ import annotations

import json
import time

import faiss
from kafka import KafkaProducer

from services.clean.text import normalize
from services.embed.embedder import Embedder
from services.settings import Settings


def naive_rate(s: Settings, emb: Embedder, raw_events: list[bytes], topic: str) -> float:
    """Events/s of the naive loop over ``raw_events``."""
    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=0)
    index = faiss.IndexFlatIP(emb.dim)
    try:
        t0 = time.perf_counter()
        for raw in raw_events:
            event = json.loads(raw)
            text = normalize(event["prompt"])
            vec = emb.encode([text])
            accept = (
                index.ntotal == 0 or float(index.search(vec, 1)[0][0][0]) < s.near_dup_threshold
            )
            if accept:
                index.add(vec)
            record = {"event_id": event["event_id"], "text": text, "accepted": accept}
            producer.send(topic, json.dumps(record).encode()).get(timeout=30)
        return len(raw_events) / (time.perf_counter() - t0)
    finally:
        producer.close()
