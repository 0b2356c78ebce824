"""Topic clusters learned from accepted prompts: k-means, labels, versions, the quota re-map, and
the curate stage training, swapping and keeping its model when a new one cannot be loaded."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from services.contract.envelope import InMsg
from services.contract.records import AnnotationRecord, CurateItem
from services.diversity.current import CurrentTopics, LearningPolicy, TopicLearner
from services.diversity.quota import QuotaPolicy, Window
from services.diversity.topics import (
    Sample,
    characteristic_words,
    clusters_for,
    decode_samples,
    due,
    encode_sample,
    remap,
    spherical_kmeans,
    tag,
    train,
    transition,
)
from services.embed.clusters import TopicModel
from services.pipeline.curate.stage import CurateStage
from services.settings import Settings
from tests.fakes import FakeCurateState, run_batch

DIM = 16


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def blobs(k: int, per: int, seed: int = 0, spread: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = unit_rows(rng.normal(size=(k, DIM)))
    x = np.concatenate([centres[j] + spread * rng.normal(size=(per, DIM)) for j in range(k)])
    return unit_rows(x), np.repeat(np.arange(k), per)


def test_spherical_kmeans_finds_separated_topics_and_is_deterministic():
    x, truth = blobs(5, 40)
    c = spherical_kmeans(x, 5)
    found = np.argmax(x @ c.T, axis=1)
    for j in range(5):  # every true topic lands in one learned cluster
        assert len(set(found[truth == j])) == 1
    assert len(set(found)) == 5
    assert np.array_equal(c, spherical_kmeans(x, 5))


def test_characteristic_words_ignore_a_preamble_every_prompt_shares():
    preamble = "You are the support assistant of Lumio Home, answer in five steps."
    texts = [f"{preamble} How do I reset the wifi router?"] * 3 + [
        f"{preamble} How do I update the firmware version?"
    ] * 3
    labels = characteristic_words(texts, np.array([0, 0, 0, 1, 1, 1]), 2)
    assert "wifi" in labels[0] and "firmware" in labels[1]
    for label in labels:
        assert "lumio" not in label and "assistant" not in label


def test_chinese_prompts_get_bigram_labels():
    texts = ["如何重置无线网络设置", "怎样重置无线网络", "如何更新固件版本", "怎样更新固件"]
    labels = characteristic_words(texts, np.array([0, 0, 1, 1]), 2)
    assert "无线" in labels[0] and "固件" in labels[1]


def test_remap_spreads_counts_by_the_transition_and_keeps_the_total():
    p = np.array([[0.5, 0.5, 0.0], [0.0, 0.2, 0.8]])
    moved = remap({0: 7, 1: 5, 9: 3}, p)  # 9: unknown to the old model, dropped
    assert sum(moved.values()) == 12
    assert moved == {0: 4, 1: 4, 2: 4} or moved == {0: 3, 1: 5, 2: 4}
    assert remap({}, p) == {}


def test_transition_rows_sum_to_one_and_unvisited_rows_follow_the_new_weights():
    x, _ = blobs(4, 30)
    old = TopicModel("v1-x", spherical_kmeans(x, 2), ("a", "b"), np.array([0.5, 0.5]))
    new = train(x, ["w"] * len(x), 4, "")
    p = transition(x, old, new)
    assert p.shape == (2, 4) and np.allclose(p.sum(axis=1), 1.0)
    empty = transition(x[:0], old, new)
    assert np.allclose(empty[0], new.weights / new.weights.sum())


def test_how_many_clusters_a_sample_gets():
    assert clusters_for(50, 64, 0.1) == 20  # enough that 10 % shares can fill the window
    assert clusters_for(4096, 64, 0.1) == 64
    assert clusters_for(400, 64, 1.0) == 20  # quotas off: ~20 prompts per cluster
    assert clusters_for(3, 64, 0.1) == 3  # never more clusters than prompts


def test_training_is_due_at_first_then_on_doubling_then_every():
    assert not due(49, 0, 50, 2000)
    assert due(50, 0, 50, 2000)
    assert not due(99, 50, 50, 2000) and due(100, 50, 50, 2000)
    assert not due(4000, 3000, 50, 2000) and due(5000, 3000, 50, 2000)


def test_a_model_round_trips_through_bytes_and_junk_is_refused():
    x, _ = blobs(3, 10)
    m = train(x, ["alpha beta"] * len(x), 3, "fp")
    back = TopicModel.from_bytes(m.to_bytes())
    assert back.version == m.version and tag(back.version) and back.model == "fp"
    assert np.array_equal(back.centroids, m.centroids) and back.labels == m.labels
    with pytest.raises(ValueError, match="not a topic model"):
        TopicModel.from_bytes(b"not an npz")


def test_samples_round_trip_with_their_text():
    v = unit_rows(np.ones((1, DIM)))[0]
    s = decode_samples([encode_sample("ab" * 16, v, "héllo 你好"), b"short"], DIM)
    assert s.texts == ["héllo 你好"] and np.allclose(s.vectors[0], v, atol=1e-3)


def test_quota_weight_may_come_from_another_cluster():
    win = Window(QuotaPolicy(0.5, 1.0, 4), {7: 0.25}, tag="abcd")
    assert win.admit(1, False, weight_of=7) == "quota"  # 0.5 x 0.25 x 4 = 0.5 < 1
    assert win.admit(1, False) is None  # its own weight (1.0): 0.5 x 4 = 2


# --- the curate stage with a fake of the topics port ----------------------------------------


class FakeTopics:
    def __init__(self) -> None:
        self.models: dict[str, TopicModel] = {}
        self.version: str | None = None
        self.entries: list[tuple[np.ndarray, str]] = []
        self.count = 0
        self.trained_at = 0
        self.swaps = 0
        self.broken: set[str] = set()

    async def current(self):
        return self.version

    async def load(self, version):
        if version in self.broken:
            raise ValueError("corrupt")
        return self.models[version]

    async def record(self, entries, cap):
        self.entries = (list(entries) + self.entries)[:cap]
        self.count += len(entries)
        return self.count

    async def due(self, accepted, first, every):
        return due(accepted, self.trained_at, first, every)

    async def lock(self, ttl_s=120):
        return True

    async def unlock(self):
        return None

    async def sample(self, dim):
        return Sample(np.stack([v for _, v, _ in self.entries]), [t for _, _, t in self.entries])

    async def swap(self, old, new, sample, accepted, tries=5):
        self.models[new.version] = new
        self.version = new.version
        self.trained_at = accepted
        self.swaps += 1


S = Settings(
    topic_dlq="dlq",
    topic_rejected="rej",
    topic_annotation="ann",
    quota_max_share=1.0,
    mix_max_synthetic=1.0,
    near_dup_threshold=0.95,
    topics_first_after=10,
)
BASE = TopicModel("v1-cold", unit_rows(np.eye(DIM)[:2]), ("a", "b"), np.array([0.5, 0.5]), "fp")


def msg(n: int, v: np.ndarray) -> InMsg:
    rec = CurateItem(
        event_id=f"e{n}",
        prompt_id=f"{n:032x}",
        text=f"topic {n % 3} words number {n}",
        lang="en",
        source="real",
        user=None,
        vector=base64.b64encode(v.astype(np.float32).tobytes()).decode(),
        cluster=0,
        shard=0,
        src=f"chat.events/0/{n}",
    )
    return InMsg("cur", 0, n, None, rec.model_dump_json().encode())


def stage_of(topics: FakeTopics) -> CurateStage:
    learner = TopicLearner(topics, LearningPolicy.from_settings(S), DIM)
    return CurateStage(S, FakeCurateState(), DIM, CurrentTopics(BASE, topics), learner)


def test_the_stage_learns_a_model_swaps_it_and_labels_records_with_it():
    x, _ = blobs(3, 8, seed=3, spread=0.2)
    topics = FakeTopics()
    stage = stage_of(topics)
    outs = run_batch(stage, [msg(i, v) for i, v in enumerate(x[:12])])
    assert topics.swaps == 1 and stage.topics.model is not None
    assert stage.topics.model.version == topics.version and tag(topics.version)
    decided_on = stage.topics.model  # the next batch is decided, and labelled, on this model
    outs = run_batch(stage, [msg(100 + i, v) for i, v in enumerate(x[12:])])
    recs = [AnnotationRecord.model_validate_json(o.value) for o in outs if o.label == "accepted"]
    assert recs and all(r.topics_version == decided_on.version for r in recs)
    assert all(r.cluster is not None and 0 <= r.cluster < decided_on.k for r in recs)
    # another worker picks the current model up before its next batch
    other = stage_of(topics)
    run_batch(other, [])
    assert other.topics.model is not None and other.topics.model.version == topics.version


def test_a_model_that_cannot_be_loaded_keeps_the_previous_one(caplog):
    topics = FakeTopics()
    topics.version = "learned-deadbeef0000"
    topics.broken.add(topics.version)
    stage = stage_of(topics)
    x, _ = blobs(1, 2, seed=5)
    with caplog.at_level("WARNING"):
        outs = run_batch(stage, [msg(1, x[0])])
    assert stage.topics.model is BASE
    assert [o.label for o in outs] == ["accepted"]
    assert "not loaded" in caplog.text and "keeping v1-cold" in caplog.text


def test_records_carry_the_model_their_batch_was_decided_on():
    """Curate and feedback follow one CurrentTopics per worker: a model the feedback agent adopts
    while a curate batch is in flight labels only the batches after it."""
    newer = TopicModel(
        "learned-0123456789ab", unit_rows(np.eye(DIM)[:3]), tuple("xyz"), np.full(3, 1 / 3), "fp"
    )
    topics = CurrentTopics(BASE, None)

    class AdoptsMidBatch(FakeCurateState):
        async def commit(self, *args, **kwargs):
            topics.adopt(newer)  # as the feedback agent would, between two awaits of the batch
            await super().commit(*args, **kwargs)

    stage = CurateStage(S, AdoptsMidBatch(), DIM, topics)
    x, _ = blobs(2, 2, seed=9)
    outs = run_batch(stage, [msg(i, v) for i, v in enumerate(x)])
    recs = [AnnotationRecord.model_validate_json(o.value) for o in outs if o.label == "accepted"]
    assert recs and {r.topics_version for r in recs} == {BASE.version}
    assert stage.topics.model is newer  # the next batch uses it
