"""The ingest stage over fakes of its ports (exact-duplicate claims, event-id claims, the
encoder): which messages are forwarded to curation and which are rejected, and why."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence

import numpy as np

from services.clean.chain import Cleaned
from services.contract.envelope import InMsg
from services.contract.records import Reason, RejectionRecord
from services.pipeline.ingest import IngestStage
from services.settings import Settings

S = Settings(
    topic_dlq="dlq", topic_rejected="rej", topic_curate="cur", curate_partitions=2, min_chars=4
)


class FakeClaims:
    """``SET NX GET`` semantics: the first owner of a key keeps it."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}

    async def claim(self, items: Sequence[tuple[str, str]]) -> list[str | None]:
        out: list[str | None] = []
        for key, mine in items:
            owner = self.owners.setdefault(key, mine)
            out.append(None if owner == mine else owner)
        return out


class FakeEncoder:
    dim = 384

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        rng = np.random.default_rng(len(texts))
        v = rng.normal(size=(len(texts), self.dim)).astype(np.float32)
        return v / np.linalg.norm(v, axis=1, keepdims=True)

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]:
        return [0.0] * len(texts)


def message(offset: int, event_id: str, prompt: str) -> InMsg:
    value = json.dumps({"event_id": event_id, "prompt": prompt}).encode()
    return InMsg("chat.events", 0, offset, event_id.encode(), value, 1000)


def stage() -> IngestStage:
    st = IngestStage(S, FakeClaims(), FakeEncoder(), event_ids=FakeClaims())
    asyncio.run(st.setup())
    return st


def test_a_second_message_with_the_same_event_id_is_a_duplicate_event():
    st = stage()
    batch = [
        message(0, "e1", "How do I sort a list of tuples by the second item in Python?"),
        message(1, "e1", "What is the difference between a mutex and a semaphore?"),
        message(2, "e2", "Explain the CAP theorem with an example from banking."),
    ]
    outs = asyncio.run(st.process(batch))
    by_src = {o.src: o for o in outs}
    assert len(outs) == 3
    assert by_src["chat.events/0/0"].topic == "cur" and by_src["chat.events/0/2"].topic == "cur"
    rej = by_src["chat.events/0/1"]
    assert rej.topic == "rej" and RejectionRecord.model_validate_json(rej.value).reason == (
        "duplicate_event"
    )
    assert rej.label == "rejected:duplicate_event"


def test_a_replayed_message_is_not_its_own_duplicate():
    st = stage()
    first = message(0, "e1", "How do I sort a list of tuples by the second item in Python?")
    asyncio.run(st.process([first]))
    again = asyncio.run(st.process([first]))  # the same coordinate after a crash
    assert [o.topic for o in again] == ["cur"]


def test_the_same_prompt_under_another_event_id_is_an_exact_duplicate():
    st = stage()
    text = "How do I sort a list of tuples by the second item in Python?"
    outs = asyncio.run(st.process([message(0, "e1", text), message(1, "e2", text)]))
    (rej,) = [o for o in outs if o.topic == "rej"]
    rec = RejectionRecord.model_validate_json(rej.value)
    assert rec.reason == "exact_duplicate" and rec.duplicate_of is not None


class FakeGuard:
    """Refuses the prompts whose text contains ``word``; records what it was asked about."""

    def __init__(self, word: str, reason: Reason) -> None:
        self.word, self.reason = word, reason
        self.asked: list[str] = []

    async def check(self, prompts: Sequence[Cleaned]) -> list[Reason | None]:
        self.asked += [p.text for p in prompts]
        return [self.reason if self.word in p.text else None for p in prompts]


def test_guards_run_in_order_each_on_what_the_ones_before_it_let_through():
    first = FakeGuard("tuples", Reason.BLOCKLISTED)
    second = FakeGuard("mutex", Reason.RATE_LIMITED)
    st = IngestStage(S, FakeClaims(), FakeEncoder(), [first, second])
    asyncio.run(st.setup())
    batch = [
        message(0, "e1", "How do I sort a list of tuples by the second item in Python?"),
        message(1, "e2", "What is the difference between a mutex and a semaphore?"),
        message(2, "e3", "Explain the CAP theorem with an example from banking."),
    ]
    outs = asyncio.run(st.process(batch))
    reasons = [
        RejectionRecord.model_validate_json(o.value).reason if o.topic == "rej" else o.topic
        for o in sorted(outs, key=lambda o: o.src)
    ]
    assert reasons == ["blocklisted", "rate_limited", "cur"]
    assert len(first.asked) == 3 and len(second.asked) == 2  # the blocked one is not asked again
