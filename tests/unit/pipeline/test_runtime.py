"""The runtime's failure handling, with a fake stage and a runner that only calls ``process``:
transient errors retry the batch whole, other errors are isolated to one message that is
dead-lettered after bounded tries, and the rest of the batch is processed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
import redis.exceptions

from services.contract.envelope import InMsg, Out
from services.errors import StateLost
from services.pipeline import runtime as rt
from services.pipeline.runtime import Runtime
from services.pipeline.stage import Stage
from services.settings import Settings

S = Settings(topic_dlq="dlq", poison_tries=3, unready_after_s=1000, exit_after_s=2000)


class FakeRunner:
    async def run_batch(self, msgs, process):
        return await process(msgs)


class Echo(Stage):
    """Forwards every message; raises on values in ``poison``; the first ``outages``
    batches fail as if Redis were down."""

    name = "echo"

    def __init__(self, poison: set[bytes], outages: int = 0) -> None:
        super().__init__(S)
        self.poison = poison
        self.outages = outages
        self.calls: list[int] = []
        self.resets = 0

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        self.calls.append(len(msgs))
        if self.outages:
            self.outages -= 1
            raise redis.exceptions.ConnectionError("Connection refused")
        if any(m.value in self.poison for m in msgs):
            raise ValueError("vectors, ids and owners differ in length or dimension")
        out = []
        for m in msgs:
            o = Out("out", m.key, m.value or b"", m.src, label="forwarded")
            out.append(o)
        return out

    def reset(self) -> None:
        self.resets += 1


def runtime_for(stage: Stage, settings: Settings = S) -> Runtime:
    r = Runtime(settings, send=None)  # type: ignore[arg-type]
    r.stages = [stage]
    r.runners = {stage.name: FakeRunner()}  # type: ignore[dict-item]
    r.ready = True
    return r


def msgs(values: list[bytes]) -> list[InMsg]:
    return [InMsg("t", 0, i, None, v) for i, v in enumerate(values)]


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch):
    monkeypatch.setattr(rt, "RETRY_FIRST_S", 0.001)
    monkeypatch.setattr(rt, "RETRY_MAX_S", 0.002)


def test_a_poison_message_is_isolated_and_dead_lettered_the_rest_goes_through():
    values = [f"m{i}".encode() for i in range(16)]
    values[11] = b"poison"
    stage = Echo({b"poison"})
    outs = asyncio.run(runtime_for(stage).run(stage, msgs(values)))
    assert len(outs) == 16  # every message has exactly one output
    assert [o.src for o in outs] == [f"t/0/{i}" for i in range(16)]  # in input order
    dlq = [o for o in outs if o.topic == "dlq"]
    assert [o.src for o in dlq] == ["t/0/11"]
    headers = dict(dlq[0].headers)
    assert headers["fw-error"] == b"processing_error"
    assert b"ValueError" in headers["fw-error-detail"]
    assert dlq[0].value == b"poison"  # the original bytes
    assert dlq[0].label == "dlq:processing_error"
    # bisection: one failing single try per poison_tries, not one per message of the batch
    assert stage.calls.count(1) <= 2 * S.poison_tries + 4
    assert stage.resets >= S.poison_tries  # in-memory state is dropped after each failure


def test_transient_errors_retry_the_whole_batch_and_dead_letter_nothing():
    stage = Echo(set(), outages=3)
    r = runtime_for(stage)
    outs = asyncio.run(r.run(stage, msgs([b"a", b"b", b"c"])))
    assert [o.topic for o in outs] == ["out", "out", "out"]
    assert stage.calls == [3, 3, 3, 3]  # never split: the batch was fine, Redis was not
    assert r.ready and not r.retrying


def test_a_long_outage_makes_the_worker_unready_until_it_recovers(monkeypatch):
    stage = Echo(set(), outages=4)
    r = runtime_for(stage, S.model_copy(update={"unready_after_s": 1e-9}))
    seen = []
    sleep = asyncio.sleep

    async def spy(delay: float) -> None:  # the runtime sleeps between retries
        seen.append(r.ready)
        await sleep(0)

    monkeypatch.setattr(rt.asyncio, "sleep", spy)
    asyncio.run(r.run(stage, msgs([b"a"])))
    assert False in seen  # unready while retrying
    assert r.ready  # ready again once the batch went through


def test_implausible_input_timestamps_are_left_out_of_latency():
    now = 1_800_000_000_000.0
    assert rt.input_latency(now, str(int(now) - 1500).encode()) == pytest.approx(1.5)
    assert rt.input_latency(now, b"99999999999999") is None  # far future
    assert rt.input_latency(now, b"1") is None  # 1970
    assert rt.input_latency(now, b"not a number") is None
    assert rt.input_latency(now, str(int(now) + 2000).encode()) == 0.0  # small clock skew


def test_blas_threads_follow_the_faiss_setting():
    from threadpoolctl import threadpool_info, threadpool_limits

    from services.pipeline.wiring import limit_blas_threads

    with threadpool_limits():  # restores the process's limits afterwards
        limit_blas_threads(1)
        blas = [p for p in threadpool_info() if p["user_api"] == "blas"]
        assert blas and all(p["num_threads"] == 1 for p in blas)


class Lost(Echo):
    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        self.calls.append(len(msgs))
        raise StateLost("t:vectors:en:0: trimmed, and no snapshot covers it")


def test_state_loss_stops_the_worker_instead_of_dead_lettering(monkeypatch):
    stage = Lost(set())
    exits: list[int] = []

    def exit_(code: int) -> None:
        exits.append(code)
        raise SystemExit(code)

    monkeypatch.setattr(rt.os, "_exit", exit_)
    with pytest.raises(SystemExit):
        asyncio.run(runtime_for(stage).run(stage, msgs([b"a", b"b", b"c", b"d"])))
    assert exits == [rt.EXIT_CODE_FATAL]
    assert stage.calls == [4]  # not bisected, not retried
    assert stage.calls.count(1) == 0  # nothing isolated, nothing dead-lettered
