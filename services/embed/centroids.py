"""Training the base topic centroids: the files ``TopicModel.load`` reads.

The shipped files (``services/embed/data/topics-v1.npz`` for the transformer backends,
``topics-static-v1.npz`` for ``static`` and ``cascade``) and the centroids of an operator's own
model are trained by ``flywheel centroids``: the prompts the model can read (unknown-token share
at most ``MAX_UNKNOWN``) are embedded, clustered by spherical k-means (FAISS, fixed seed) and
stored as unit centroids with a few characteristic words per cluster (for dashboards), each
cluster's share of the prompts (balances the shards) and the fingerprint of the model that
embedded them (``TopicModel.check`` refuses them for another model). Workers never train these
at run time; the clusters learned from the accepted stream are services/diversity/topics.py's.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.embed.embedder import Embedder

MAX_UNKNOWN = 0.3  # above it the model reads mostly [UNK]: the vector says nothing of the topic
SEED = 1234
ITERATIONS = 30
ENCODE_CHUNK = 512  # texts per encode call, sorted by length so little is padding
LABEL_WORDS = 3
STOP = frozenset(
    "the a an and or of to in on for with is are be can you your me my i it this that what how "
    "please write give make from as by at about into using use do does which who why when "
    "between some its their them they we our not will would should could have has was were if "
    "than then there these those one two each any all more most also so just like other".split()
)


def readable(emb: Embedder, texts: Sequence[str], max_unknown: float = MAX_UNKNOWN) -> list[str]:
    """The texts whose word pieces the model knows well enough to place them on a topic."""
    ratios = emb.unknown_token_ratio(texts)
    return [t for t, r in zip(texts, ratios, strict=True) if r <= max_unknown]


def encode_by_length(emb: Embedder, texts: Sequence[str]) -> np.ndarray:
    """Unit vectors of ``texts`` in their order, encoded in chunks of similar lengths."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    vecs = np.empty((len(texts), emb.dim), dtype=np.float32)
    for start in range(0, len(order), ENCODE_CHUNK):
        rows = order[start : start + ENCODE_CHUNK]
        vecs[rows] = emb.encode([texts[i] for i in rows])
    return vecs


def words(text: str) -> list[str]:
    """Content words of an English text (lower case, three letters or more, no stop words)."""
    return [w for w in re.findall(r"[a-z][a-z+#]{2,}", text.lower()) if w not in STOP]


@dataclass(frozen=True)
class BaseTopics:
    """Trained centroids before they are written: what ``TopicModel.load`` will read back."""

    centroids: np.ndarray  # (k, dim) float32, unit rows
    labels: list[str]  # characteristic words per cluster
    sizes: np.ndarray  # training prompts per cluster

    def save(self, path: Path, fingerprint: str) -> None:
        """Write the npz file; its version is the file name's stem (``topics-v1``)."""
        np.savez(
            path,
            version=np.array(path.stem),
            model=np.array(fingerprint),
            centroids=self.centroids.astype(np.float32),
            labels=np.array(self.labels),
            weights=(self.sizes / self.sizes.sum()).astype(np.float32),
        )


def train(texts: Sequence[str], vecs: np.ndarray, k: int, seed: int = SEED) -> BaseTopics:
    """Spherical k-means of ``vecs`` (one row per text) into ``k`` unit centroids, each labelled
    by the words frequent in its prompts and rare in the others (tf * idf)."""
    import faiss

    km = faiss.Kmeans(vecs.shape[1], k, niter=ITERATIONS, seed=seed, spherical=True, verbose=False)
    km.train(vecs)
    raw = np.asarray(km.centroids, dtype=np.float32)
    cents = raw / np.linalg.norm(raw, axis=1, keepdims=True)
    assign = np.argmax(vecs @ cents.T, axis=1)
    df = Counter(w for t in texts for w in set(words(t)))
    labels = []
    for c in range(k):
        tf = Counter(w for i in np.flatnonzero(assign == c) for w in set(words(texts[int(i)])))
        top = sorted(tf, key=lambda w: -tf[w] * np.log(len(texts) / df[w]))[:LABEL_WORDS]
        labels.append(" ".join(top))
    return BaseTopics(cents, labels, np.bincount(assign, minlength=k))
