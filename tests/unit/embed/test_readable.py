"""What the model reads: preambles left out, unreadable texts not embedded."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from services.embed.preamble import MemoryCounts, Preambles
from services.embed.readable import Reader

PRE = "System: you are the travel assistant of Northwind Journeys; answer briefly and kindly. User:"


class Model:
    """Texts starting with '?' are all [UNK]; records what it encodes."""

    dim = 2
    fingerprint = "m"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.seen += texts
        return np.tile(np.array([1.0, 0.0], dtype=np.float32), (len(texts), 1))

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]:
        return [1.0 if t.startswith("?") else 0.0 for t in texts]


def test_unreadable_texts_get_no_vector_and_repeats_are_encoded_once():
    model = Model()
    reader = Reader(model, 0.3)
    vectors = reader.encode(["a b", "??", "a b", "c d"])
    assert [v is None for v in vectors] == [False, True, False, False]
    assert model.seen == ["a b", "c d"] and reader.texts == 2 and reader.seconds >= 0
    assert reader.encode([]) == [] and model.seen == ["a b", "c d"]


def test_the_model_reads_the_question_once_the_preamble_is_known():
    reader = Reader(Model(), 0.3, Preambles(MemoryCounts(), min_count=2))
    questions = ["is it going to rain in Lisbon in June?", "how do I get a refund for a trip?"]
    texts = [f"{PRE} {q}" for q in questions]
    read = asyncio.run(reader.read(texts))
    assert all("Northwind" not in r for r in read)
    assert all(r.endswith(q) for r, q in zip(read, questions, strict=True))
    assert asyncio.run(Reader(Model(), 0.3).read(texts)) == texts  # no preambles: whole texts
