"""The curate stage over an in-memory fake of its state port: greedy decisions within a batch,
against what another worker accepted, replays, the operator's threshold and poison items."""

from __future__ import annotations

import base64

import numpy as np

from services.contract.envelope import InMsg
from services.contract.records import AnnotationRecord, CurateItem, RejectionRecord
from services.diversity.current import CurrentTopics
from services.embed.clusters import TopicModel
from services.pipeline.curate.stage import CurateStage
from services.settings import Settings
from tests.fakes import FakeCurateState, run_batch

DIM = 16
S = Settings(
    topic_dlq="dlq",
    topic_rejected="rej",
    topic_annotation="ann",
    quota_max_share=1.0,
    mix_max_synthetic=1.0,
    near_dup_threshold=0.9,
)


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


TEXTS = {
    1: "如何用 Python 对列表排序？",
    2: "请解释一下量子纠缠的基本原理。",
}
BASE = [unit(np.random.default_rng(i).normal(size=DIM)) for i in range(4)]


def item(n: int, vec: np.ndarray | None, offset: int, shard: int = 0) -> InMsg:
    rec = CurateItem(
        event_id=f"e{n}",
        prompt_id=f"{n:032x}",
        text=TEXTS.get(n, f"prompt number {n}"),
        lang="en",
        source="real",
        user=None,
        vector=None if vec is None else base64.b64encode(vec.tobytes()).decode(),
        cluster=0 if vec is not None else None,
        shard=shard if vec is not None else None,
        src=f"chat.events/0/{offset}",
    )
    return InMsg("cur", 0, offset, None, rec.model_dump_json().encode())


def near(v: np.ndarray, seed: int) -> np.ndarray:
    return unit(v + 0.05 * np.random.default_rng(100 + seed).normal(size=DIM))


def labels(outs) -> list[str]:
    return [o.label for o in outs]


COLD = TopicModel("v1-test", np.stack(BASE), ("a", "b", "c", "d"), np.full(4, 0.25), "fp")


def curate(s: Settings, state: FakeCurateState) -> CurateStage:
    return CurateStage(s, state, DIM, CurrentTopics(COLD, None))


def test_near_duplicates_in_one_batch_keep_the_first():
    stage = curate(S, FakeCurateState())
    outs = run_batch(
        stage, [item(1, BASE[0], 0), item(2, near(BASE[0], 1), 1), item(3, BASE[1], 2)]
    )
    assert labels(outs) == ["accepted", "rejected:near_duplicate", "accepted"]
    rej = RejectionRecord.model_validate_json(outs[1].value)
    assert rej.duplicate_of == f"{1:032x}" and rej.similarity is not None and rej.similarity >= 0.9
    acc = AnnotationRecord.model_validate_json(outs[0].value)
    assert acc.scores.novelty == 1.0 and acc.text == TEXTS[1]


def test_another_worker_sees_what_the_first_accepted_through_the_state():
    state = FakeCurateState()
    run_batch(curate(S, state), [item(1, BASE[0], 0)])
    other = curate(S, state)  # a fresh worker taking over the shard
    outs = run_batch(other, [item(2, near(BASE[0], 2), 1)])
    assert labels(outs) == ["rejected:near_duplicate"]


def test_a_replayed_batch_changes_nothing():
    state = FakeCurateState()
    batch = [item(1, BASE[0], 0), item(2, near(BASE[0], 3), 1), item(3, BASE[2], 2)]
    first = labels(run_batch(curate(S, state), batch))
    logged = {k: len(v) for k, v in state.logs.items()}
    again = labels(run_batch(curate(S, state), batch))
    assert again == first
    assert {k: len(v) for k, v in state.logs.items()} == logged


def test_the_operator_threshold_applies_and_an_invalid_one_is_ignored():
    state = FakeCurateState()
    state.overrides["near_dup_threshold"] = b"0.999"
    stage = curate(S, state)
    assert labels(run_batch(stage, [item(1, BASE[0], 0), item(2, near(BASE[0], 4), 1)])) == [
        "accepted",
        "accepted",
    ]
    state.overrides["near_dup_threshold"] = b"true"  # not a number: the setting applies
    outs = run_batch(stage, [item(3, near(BASE[0], 5), 2)])
    assert stage.threshold == S.near_dup_threshold
    assert labels(outs) == ["rejected:near_duplicate"]


def test_a_vector_of_another_dimension_is_dead_lettered_not_raised():
    state = FakeCurateState()
    stage = curate(S, state)
    bad = item(9, unit(np.ones(10)), 0)
    outs = run_batch(stage, [bad, item(1, BASE[0], 1)])
    assert labels(outs) == ["dlq:invalid_curate_item", "accepted"]
    assert b"10 dimensions" in dict(outs[0].headers)["fw-error-detail"]


def test_texts_without_a_vector_take_the_lexical_check():
    stage = curate(S, FakeCurateState())
    outs = run_batch(stage, [item(1, None, 0), item(2, None, 1)])
    recs = [AnnotationRecord.model_validate_json(o.value) for o in outs if o.label == "accepted"]
    assert [r.semantic_check for r in recs] == ["minhash", "minhash"]  # different texts


def test_a_near_duplicate_routed_to_another_shard_is_still_rejected():
    state = FakeCurateState()
    run_batch(curate(S, state), [item(1, BASE[0], 0, shard=0)])
    other = curate(S, state)  # the worker of shard 3
    outs = run_batch(other, [item(2, near(BASE[0], 6), 1, shard=3), item(3, BASE[1], 2, shard=3)])
    assert labels(outs) == ["rejected:near_duplicate", "accepted"]
    assert RejectionRecord.model_validate_json(outs[0].value).duplicate_of == f"{1:032x}"
    # the acceptance went to its own shard's log only; shard 0's log was only read
    assert [p for p, _, _ in state.logs["en:3"]] == [f"{3:032x}"]
    assert len(state.logs["en:0"]) == 1


def test_a_replica_catches_up_before_every_batch():
    state = FakeCurateState()
    a, b = curate(S, state), curate(S, state)
    run_batch(b, [item(1, BASE[0], 0, shard=1)])  # b now holds a replica of shard 0 (empty)
    run_batch(a, [item(2, BASE[2], 1, shard=0)])
    outs = run_batch(b, [item(3, near(BASE[2], 7), 2, shard=1)])
    assert labels(outs) == ["rejected:near_duplicate"]


def test_a_replay_is_recognised_whichever_shard_accepted_it():
    state = FakeCurateState()
    first = [item(1, BASE[0], 0, shard=2)]
    run_batch(curate(S, state), first)
    again = run_batch(curate(S, state), first)
    assert labels(again) == ["accepted"]
    assert sum(len(v) for v in state.logs.values()) == 1


class RacingState(FakeCurateState):
    """Another shard commits ``entry`` to ``log`` right after this worker's first read of it,
    i.e. while the batch is being decided."""

    def __init__(self, log: str, entry: tuple[str, np.ndarray, str]) -> None:
        super().__init__()
        self.race = (log, entry)
        self.reads = 0

    async def sync_vectors(self, name, index):
        n = await super().sync_vectors(name, index)
        if name == self.race[0]:
            self.reads += 1
            if self.reads == 1:
                self.logs[name].append(self.race[1])
        return n


def test_a_near_duplicate_committed_by_another_shard_mid_batch_is_caught_by_the_recheck():
    other = (f"{99:032x}", near(BASE[0], 9), "chat.events/1/0")
    state = RacingState("en:1", other)
    outs = run_batch(curate(S, state), [item(1, BASE[0], 0, shard=0), item(2, BASE[1], 1)])
    assert labels(outs) == ["rejected:near_duplicate", "accepted"]
    assert RejectionRecord.model_validate_json(outs[0].value).duplicate_of == f"{99:032x}"
    assert [p for p, _, _ in state.logs["en:0"]] == [f"{2:032x}"]  # only what was accepted


def test_without_the_recheck_both_near_duplicates_are_accepted():
    other = (f"{99:032x}", near(BASE[0], 9), "chat.events/1/0")
    state = RacingState("en:1", other)
    s = S.model_copy(update={"dedup_recheck": 0})
    outs = run_batch(curate(s, state), [item(1, BASE[0], 0, shard=0)])
    assert labels(outs) == ["accepted"]  # the race the recheck closes


def test_a_redecided_batch_keeps_its_lexical_decisions_and_commits_once():
    other = (f"{99:032x}", near(BASE[0], 9), "chat.events/1/0")
    state = RacingState("en:1", other)
    stage = curate(S, state)
    outs = run_batch(stage, [item(1, BASE[0], 0, shard=0), item(5, None, 1), item(3, BASE[2], 2)])
    assert labels(outs) == ["rejected:near_duplicate", "accepted", "accepted"]
    assert state.commits == 1 and stage.counts["recheck_redecided"] == 1
    assert len(state.logs["en:lex"]) == 1 and len(state.logs["en:0"]) == 1
    assert set(state.accepted) == {f"{5:032x}", f"{3:032x}"}


def test_pending_acceptances_of_a_batch_meet_only_their_own_language():
    def fr(n: int, vec: np.ndarray, offset: int) -> InMsg:
        rec = CurateItem.model_validate_json(item(n, vec, offset).value)
        rec.lang = "fr"
        return InMsg("cur", 0, offset, None, rec.model_dump_json().encode())

    outs = run_batch(
        curate(S, FakeCurateState()), [item(1, BASE[0], 0), fr(2, near(BASE[0], 11), 1)]
    )
    assert labels(outs) == ["accepted", "accepted"]  # as across batches: indexes are per language
