"""The ingest stage's look-ahead: a batch cleaned and embedded before it runs gives the same
outputs as one that is not, the model reads each text once, and a look-ahead that fails, guesses
a preamble wrong or is never taken costs no event."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence

import numpy as np

from services.contract.envelope import InMsg
from services.embed.preamble import MemoryCounts, Preambles
from services.pipeline.ingest import AHEAD_MAX, IngestStage
from services.settings import Settings
from tests.unit.pipeline.test_ingest_stage import FakeClaims

S = Settings(
    topic_dlq="dlq", topic_rejected="rej", topic_curate="cur", curate_partitions=2, min_chars=4
)


class TextEncoder:
    """A vector per text (from its hash), and a record of every text it was asked to read."""

    dim = 384

    def __init__(self, fail_first: int = 0) -> None:
        self.read: list[str] = []
        self.fail_first = fail_first

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("model unavailable")
        self.read += texts
        rows = []
        for t in texts:
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).normal(size=self.dim).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows) if rows else np.zeros((0, self.dim), np.float32)

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]:
        return [0.0] * len(texts)


PROMPTS = [
    "How do I sort a list of tuples by the second item in Python?",
    "What is the difference between a mutex and a semaphore?",
    "Explain the CAP theorem with an example from banking.",
    "How do I sort a list of tuples by the second item in Python?",  # an exact duplicate
    "{not json",  # dead-lettered
    "Write a haiku about the first snow in a mountain village.",
]


def batch(prompts: Sequence[str] = PROMPTS, first: int = 0) -> list[InMsg]:
    out = []
    for i, p in enumerate(prompts, start=first):
        value = (
            p.encode()
            if p.startswith("{")
            else json.dumps({"event_id": f"e{i}", "prompt": p}).encode()
        )
        out.append(InMsg("chat.events", 0, i, f"k{i}".encode(), value, 1000))
    return out


def stage(encoder: TextEncoder, preambles: Preambles | None = None) -> IngestStage:
    st = IngestStage(S, FakeClaims(), encoder, preambles=preambles)
    asyncio.run(st.setup())
    return st


def outputs(outs) -> list[tuple[str, str, bytes]]:
    """Outputs without their timestamps (rejections carry the time they were made)."""
    rows = []
    for o in outs:
        if o.topic == "dlq":  # the DLQ keeps the input as it came
            rows.append((o.src, o.topic, o.value))
            continue
        value = json.loads(o.value)
        value.pop("ts", None)
        rows.append((o.src, o.topic, json.dumps(value, sort_keys=True).encode()))
    return sorted(rows)


async def ahead_then_process(st: IngestStage, msgs: list[InMsg]):
    st.look_ahead(msgs)
    return await st.process(msgs)


def test_a_batch_looked_ahead_gives_the_same_outputs_and_the_model_reads_each_text_once():
    plain_enc, ahead_enc = TextEncoder(), TextEncoder()
    plain = asyncio.run(stage(plain_enc).process(batch()))
    ahead = asyncio.run(ahead_then_process(stage(ahead_enc), batch()))
    assert outputs(ahead) == outputs(plain)
    assert len(ahead_enc.read) == len(set(ahead_enc.read))  # nothing encoded twice
    # the look-ahead also read the exact duplicate's text (the claims come later), once
    assert set(ahead_enc.read) == set(plain_enc.read)


def test_the_next_batch_is_prepared_while_the_current_one_runs():
    enc = TextEncoder()
    st = stage(enc)
    first, second = batch(PROMPTS[:3]), batch(PROMPTS[5:] + ["Summarise the plot of Hamlet."], 10)

    async def go():
        st.look_ahead(first)
        st.look_ahead(second)  # taken before the first batch ran
        return await st.process(first), await st.process(second)

    a, b = asyncio.run(go())
    assert [o.topic for o in a + b] == ["cur"] * 5
    assert sorted(enc.read) == sorted(set(enc.read)) and len(enc.read) == 5  # each text once
    assert not st.looking_ahead  # taken look-aheads are forgotten


def test_a_failed_look_ahead_leaves_the_work_to_the_batch():
    enc = TextEncoder(fail_first=1)
    st = stage(enc)
    outs = asyncio.run(ahead_then_process(st, batch()))
    assert outputs(outs) == outputs(asyncio.run(stage(TextEncoder()).process(batch())))


def test_a_preamble_guessed_ahead_is_not_counted_and_a_wrong_guess_is_encoded_again():
    preamble = "You are the support assistant of Acme Router X2. Answer briefly and politely. "
    questions = [
        "How do I reset the admin password of the router?",
        "Why does the wifi drop every evening at eight?",
        "Can I use the guest network for my printer?",
        "Which firmware adds WPA3 support to this model?",
    ]
    counts = MemoryCounts()
    enc = TextEncoder()
    st = stage(enc, Preambles(counts, min_count=3))
    first, second = (
        batch([preamble + q for q in questions[:2]]),
        batch([preamble + q for q in questions[2:]], 10),
    )

    async def go():
        st.look_ahead(first)
        st.look_ahead(second)  # guessed before the first batch counted its preamble
        await asyncio.sleep(0.05)
        guessed = sum(counts.c.values())
        a = await st.process(first)
        b = await st.process(second)
        return guessed, a, b

    guessed, a, b = asyncio.run(go())
    assert guessed == 0  # a guess counts nothing
    curated = [json.loads(o.value) for o in a + b]
    assert all(c["text"].startswith(preamble.strip()) for c in curated)  # the record keeps it all
    # the second batch brought the preamble to its count: its prompts were read without it,
    # which the look-ahead could not know (it guessed before the first batch was counted)
    for q in questions[2:]:
        assert preamble + q in enc.read  # the guess
        assert any(t.endswith(q) and not t.startswith("You are") for t in enc.read)  # the batch


def test_look_aheads_never_taken_are_dropped_and_reset_cancels_them():
    st = stage(TextEncoder())

    async def go():
        for k in range(AHEAD_MAX + 3):
            st.look_ahead(batch(PROMPTS[:2], 100 * k))
        assert len(st.looking_ahead) == AHEAD_MAX
        tasks = st.looking_ahead
        st.reset()
        await asyncio.sleep(0)
        return tasks

    tasks = asyncio.run(go())
    assert not st.looking_ahead and all(t.done() for t in tasks)


def test_a_batch_taken_while_the_one_before_runs_is_kept_for_its_own_run():
    """The worker's loop: the next batch's look-ahead starts while the current batch's
    ``process`` is waiting for its own look-ahead."""
    enc = TextEncoder()
    st = stage(enc)
    first, second = batch(PROMPTS[:3]), batch(PROMPTS[5:] + ["Summarise the plot of Hamlet."], 10)

    async def go():
        st.look_ahead(first)
        running = asyncio.create_task(st.process(first))
        await asyncio.sleep(0)  # the run is now waiting for its look-ahead
        st.look_ahead(second)
        a = await running
        b = await st.process(second)
        return a, b

    a, b = asyncio.run(go())
    assert [o.topic for o in a + b] == ["cur"] * 5
    assert len(enc.read) == 5 and st.counts["embedded"] == 5
