"""The ingest stage hands a whole micro-batch to the redactor at once, in a worker thread, with
the NER tier when ``pii_ner`` is on. A fake redactor stands in for the spaCy model."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from services.clean import chain
from services.clean.pii import NerUnavailable, Redactor
from services.contract.envelope import InMsg
from services.contract.records import CurateItem
from services.errors import ConfigError
from services.pipeline.ingest import IngestStage
from services.settings import Settings

S = Settings(topic_dlq="dlq", topic_rejected="rej", topic_curate="cur", curate_partitions=2)


class FakeNerRedactor:
    """The pattern tier, then "Zorvath Quellin" (in no name list) as a name wherever it stands (the model's part)."""

    instances: list[FakeNerRedactor] = []

    def __init__(self, ner: bool = False, phone_regions: Sequence[str] = ()) -> None:
        self.ner = ner
        self.patterns = Redactor(ner=False, phone_regions=phone_regions)
        self.calls: list[tuple[list[str], str]] = []
        FakeNerRedactor.instances.append(self)

    def redact_batch(self, texts: Sequence[str]) -> list[tuple[str, list[str]]]:
        self.calls.append((list(texts), threading.current_thread().name))
        out = []
        for text, kinds in self.patterns.redact_batch(texts):
            if self.ner and "Zorvath Quellin" in text:
                text, kinds = (
                    text.replace("Zorvath Quellin", "{{PERSON}}"),
                    sorted({*kinds, "PERSON"}),
                )
            out.append((text, kinds))
        return out


class Claims:
    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]:
        return [None] * len(items)


class Encoder:
    dim = 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        v = np.ones((len(texts), self.dim), dtype=np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]:
        return [0.0] * len(texts)


def message(offset: int, prompt: str | None) -> InMsg:
    value = (
        b"{not json"
        if prompt is None
        else json.dumps({"event_id": f"e{offset}", "prompt": prompt}).encode()
    )
    return InMsg("chat.events", 0, offset, b"k", value, 1000)


@pytest.fixture
def fake(monkeypatch):
    FakeNerRedactor.instances.clear()
    monkeypatch.setattr(chain, "Redactor", FakeNerRedactor)
    return FakeNerRedactor.instances


@pytest.mark.parametrize("ner", [True, False])
def test_one_batched_redaction_per_micro_batch_off_the_event_loop(fake, ner):
    st = IngestStage(S.model_copy(update={"pii_ner": ner}), Claims(), Encoder())
    asyncio.run(st.setup())
    (redactor,) = fake
    assert redactor.ner is ner
    batch = [
        message(0, "Zorvath Quellin will join us on Monday for the contract renewal."),
        message(1, None),  # dead-lettered before redaction
        message(2, "What is the difference between a mutex and a semaphore?"),
        message(3, "Please write to me at someone@example.com about the refund policy."),
    ]
    outs = asyncio.run(st.process(batch))
    assert len(redactor.calls) == 1
    texts, thread = redactor.calls[0]
    assert len(texts) == 3 and thread != threading.main_thread().name
    items = {o.src: CurateItem.model_validate_json(o.value) for o in outs if o.topic == "cur"}
    first, third = items["chat.events/0/0"], items["chat.events/0/3"]
    assert ("Zorvath Quellin" in first.text) is not ner
    assert first.pii == (["PERSON"] if ner else [])
    assert "someone@example.com" not in third.text and third.pii == ["EMAIL"]


def test_a_model_that_fails_to_load_stops_the_stage_at_construction(monkeypatch):
    def broken(*args, **kwargs):
        raise NerUnavailable("no model")

    monkeypatch.setattr(chain, "Redactor", broken)
    with pytest.raises(ConfigError):
        IngestStage(S.model_copy(update={"pii_ner": True}), Claims(), Encoder())
