"""The ingest stage's contamination hook over a matcher of real items (no Redis, no model): a
copy of an evaluation item is rejected contaminated with the item named and no text; the rest
go on to curation."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np

from services.contract.records import ContaminatedBy, RejectionRecord
from services.dedup.evalsets import EvalItem, EvalMatcher
from services.pipeline.ingest import IngestStage
from tests.unit.pipeline.test_ingest_stage import FakeClaims, FakeEncoder, S, message

ITEM = "Which of the following best explains why the sky appears blue during the day?"


class Claims(FakeClaims):
    async def release(self, items: Sequence[tuple[str, str]]) -> None:
        for key, owner in items:
            if self.owners.get(key) == owner:
                del self.owners[key]


class MatcherCheck:
    """The ``EvalCheck`` port over an in-memory matcher (the Redis side is the store's)."""

    def __init__(self) -> None:
        self.m = EvalMatcher([EvalItem("mmlu", "astro/7", ITEM)], None, 8, 0.5, 0.9, 5)
        self.seen: list[list[str]] = []

    async def check(
        self, texts: Sequence[str], vectors: Sequence[np.ndarray | None]
    ) -> list[ContaminatedBy | None]:
        self.seen.append(list(texts))
        return [
            None if m is None else ContaminatedBy(**m.__dict__)
            for m in self.m.match(texts, vectors)
        ]


def test_a_wrapped_copy_is_rejected_contaminated_naming_the_item():
    check = MatcherCheck()
    claims = Claims()
    st = IngestStage(S, claims, FakeEncoder(), contamination=check)
    asyncio.run(st.setup())
    outs = asyncio.run(
        st.process(
            [
                message(0, "e1", f"Can you solve this for me? {ITEM} Thanks"),
                message(1, "e2", "Why is the sky blue? Explain it to a child."),
            ]
        )
    )
    by_src = {o.src: o for o in outs}
    rej = by_src["chat.events/0/0"]
    assert rej.topic == "rej" and rej.label == "rejected:contaminated"
    rec = RejectionRecord.model_validate_json(rej.value)
    assert rec.reason == "contaminated"
    assert rec.contaminated_by == ContaminatedBy(
        evalset="mmlu", item_id="astro/7", method="ngram", score=1.0
    )
    assert b"sky" not in rej.value  # never the text
    assert by_src["chat.events/0/1"].topic == "cur"
    assert len(claims.owners) == 1  # the copy's claim released, the other prompt's kept
    assert check.seen == [  # the normalized prompts, after the exact-duplicate claims
        [f"Can you solve this for me? {ITEM} Thanks", "Why is the sky blue? Explain it to a child."]
    ]


def test_without_the_hook_the_copy_goes_on():
    st = IngestStage(S, FakeClaims(), FakeEncoder())
    asyncio.run(st.setup())
    outs = asyncio.run(st.process([message(0, "e1", ITEM)]))
    assert [o.topic for o in outs] == ["cur"]
