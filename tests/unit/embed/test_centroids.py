"""Training the base topic centroids (services/embed/centroids.py): what ``TopicModel.load``
reads back, clusters labelled by their own words, readable prompts only, encoding in order."""

from __future__ import annotations

import numpy as np

from services.embed.centroids import encode_by_length, readable, train, words
from services.embed.clusters import TopicModel

TOPICS = {
    "cooking": "recipe for soup with garlic and onions",
    "football": "football match goal keeper penalty",
    "taxes": "income taxes deduction refund form",
}


def blobs(per: int = 30, dim: int = 16, seed: int = 3) -> tuple[list[str], np.ndarray]:
    """Three well separated directions, one topic's words each."""
    rng = np.random.default_rng(seed)
    texts, rows = [], []
    for axis, sentence in enumerate(TOPICS.values()):
        for i in range(per):
            v = np.zeros(dim, dtype=np.float32)
            v[axis] = 1.0
            rows.append(v + rng.normal(0, 0.05, dim).astype(np.float32))
            texts.append(f"{sentence} number {i}")
    vecs = np.asarray(rows, dtype=np.float32)
    return texts, vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_each_cluster_is_labelled_by_its_own_words_and_weighed_by_its_size():
    texts, vecs = blobs()
    topics = train(texts, vecs, 3)
    assert sorted(topics.sizes.tolist()) == [30, 30, 30]
    assert np.allclose(np.linalg.norm(topics.centroids, axis=1), 1.0, atol=1e-5)
    labels = {frozenset(label.split()) for label in topics.labels}
    for sentence in TOPICS.values():
        assert any(label <= set(words(sentence)) for label in labels)


def test_training_is_deterministic():
    texts, vecs = blobs()
    a, b = train(texts, vecs, 3), train(texts, vecs, 3)
    assert np.array_equal(a.centroids, b.centroids) and a.labels == b.labels


def test_the_saved_file_is_what_workers_load(tmp_path):
    texts, vecs = blobs()
    topics = train(texts, vecs, 3)
    path = tmp_path / "topics-test-v1.npz"
    topics.save(path, "model@abc/transformer")
    loaded = TopicModel.load(path)
    assert loaded.version.startswith("topics-test-v1-")
    assert loaded.model == "model@abc/transformer"
    assert loaded.labels == tuple(topics.labels)
    assert np.array_equal(loaded.centroids, topics.centroids.astype(np.float32))
    assert np.isclose(loaded.weights.sum(), 1.0)
    assert np.array_equal(loaded.assign(vecs), np.argmax(vecs @ topics.centroids.T, axis=1))


def test_stop_words_and_short_words_are_not_content():
    assert words("How do I write a recipe for C++ in Go?") == ["recipe", "c++"]


class FakeEmbedder:
    """Vectors that remember which text they came from; [UNK] share from a table."""

    dim = 2

    def __init__(self, unknown: dict[str, float] | None = None) -> None:
        self.unknown = unknown or {}
        self.calls: list[list[str]] = []

    def unknown_token_ratio(self, texts):
        return [self.unknown.get(t, 0.0) for t in texts]

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_prompts_the_model_cannot_read_are_left_out():
    emb = FakeEmbedder({"你好世界": 0.9, "ok 你": 0.3})
    assert readable(emb, ["hello", "你好世界", "ok 你"]) == ["hello", "ok 你"]  # type: ignore[arg-type]


def test_vectors_come_back_in_the_texts_order_whatever_the_encoding_order():
    emb = FakeEmbedder()
    texts = ["a much longer text", "short", "mid length"]
    vecs = encode_by_length(emb, texts)  # type: ignore[arg-type]
    assert emb.calls == [["short", "mid length", "a much longer text"]]
    assert vecs[:, 0].tolist() == [len(t) for t in texts]
