"""Topic clusters and the semantic shard key.

A versioned set of K topic centroids (``services/embed/data/topics-v1.npz``, trained by
``flywheel centroids`` with spherical k-means on embeddings of public prompts) gives every
embedded prompt a topic cluster: its nearest centroid. The cluster is in the output record and
drives the per-cluster quotas (``services/diversity/quota.py``).

The curate topic is partitioned by *shard*, not by hash: neighbouring topic clusters are grouped
into as many shards as the curate topic has partitions (k-means over the centroids themselves,
fixed seed), so near duplicates, which sit on the same or a neighbouring centroid, meet on one
partition and one worker. python -m bench sharding measures the near duplicates this misses against
one global index. services/pipeline/routing.py routes by this table.

Centroids belong to the model that embedded their training prompts: each file records that
model's fingerprint (``model``, services/embed/fingerprint.py) and ``check`` refuses another
model's, even of the same dimension (the static backend has its own, topics-static-v1.npz).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from services.embed.fingerprint import check

DEFAULT_TOPICS = Path(__file__).with_name("data") / "topics-v1.npz"


@dataclass(frozen=True)
class TopicModel:
    version: str
    centroids: np.ndarray  # (K, dim) float32, unit rows
    labels: tuple[str, ...]  # a few characteristic words per cluster, for people
    weights: np.ndarray  # share of the training prompts in each cluster (balances the shards)
    model: str = ""  # fingerprint of the model the centroids were trained with

    @classmethod
    def load(cls, path: Path | str | None = None) -> TopicModel:
        path = Path(path) if path else DEFAULT_TOPICS
        with np.load(path, allow_pickle=False) as data:
            centroids = np.ascontiguousarray(data["centroids"], dtype=np.float32)
            labels = tuple(str(x) for x in data["labels"])
            weights = np.asarray(data["weights"], dtype=np.float64)
            digest = hashlib.sha256(centroids.tobytes()).hexdigest()[:8]
            version = f"{data['version']}-{digest}"
            model = str(data["model"]) if "model" in data.files else ""
        return cls(version, centroids, labels, weights, model)

    def to_bytes(self) -> bytes:
        """The model as npz bytes (``from_bytes`` reads them back, version unchanged)."""
        buf = io.BytesIO()
        np.savez(
            buf,
            centroids=self.centroids,
            labels=np.array(self.labels, dtype=str),
            weights=self.weights,
            version=np.array(self.version),
            model=np.array(self.model),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, raw: bytes) -> TopicModel:
        """Inverse of ``to_bytes``; raises ``ValueError`` on anything else."""
        try:
            with np.load(io.BytesIO(raw), allow_pickle=False) as data:
                centroids = np.ascontiguousarray(data["centroids"], dtype=np.float32)
                labels = tuple(str(x) for x in data["labels"])
                weights = np.asarray(data["weights"], dtype=np.float64)
                version, model = str(data["version"]), str(data["model"])
        except Exception as exc:  # a corrupt or foreign blob: the caller keeps its model
            raise ValueError(f"not a topic model: {type(exc).__name__}: {exc}") from exc
        if centroids.ndim != 2 or len(labels) != len(centroids) or len(weights) != len(centroids):
            raise ValueError("not a topic model: centroids, labels and weights disagree")
        return cls(version, centroids, labels, weights, model)

    def check(self, fingerprint: str) -> None:
        """Raise ``ModelMismatch`` unless these centroids were trained with ``fingerprint``."""
        check(fingerprint, self.model or "(not recorded)", f"the topic centroids {self.version}")

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])

    @property
    def dim(self) -> int:
        return int(self.centroids.shape[1])

    def assign(self, vectors: np.ndarray) -> np.ndarray:
        """Nearest centroid (cosine) of each unit vector."""
        if len(vectors) == 0:
            return np.empty(0, dtype=np.int64)
        return np.argmax(vectors @ self.centroids.T, axis=1)

    def shards(self, n: int, slack: float = 2.0) -> np.ndarray:
        """cluster -> shard for ``n`` shards: neighbouring centroids grouped, no shard above
        ``slack`` x the mean load (by training weight). Deterministic for a given centroid set,
        ``n`` and ``slack``: every worker computes the same table."""
        key = (n, slack)
        if key not in self._tables:
            if n >= self.k:
                self._tables[key] = np.arange(self.k) % n
            else:
                self._tables[key] = _group(self.centroids, self.weights, n, slack)
        return self._tables[key]

    @cached_property
    def _tables(self) -> dict[tuple[int, float], np.ndarray]:
        return {}


def _group(
    centroids: np.ndarray, weights: np.ndarray, n: int, slack: float, iters: int = 50
) -> np.ndarray:
    """Spherical k-means of the centroids into n groups (numpy, deterministic), then a balanced
    assignment: each cluster goes to its most similar group that still has room (capacity
    ``slack`` x the mean load, by training weight), most decided clusters first."""
    rng = np.random.default_rng(20261124)
    k = centroids.shape[0]
    # k-means++ seeding
    centres = [centroids[rng.integers(k)]]
    for _ in range(1, n):
        d = 1.0 - np.max(centroids @ np.stack(centres).T, axis=1)
        p = np.clip(d, 0, None) ** 2
        centres.append(centroids[rng.choice(k, p=p / p.sum()) if p.sum() > 0 else rng.integers(k)])
    c = np.stack(centres)
    assign = np.zeros(k, dtype=np.int64)
    for _ in range(iters):
        assign = np.argmax(centroids @ c.T, axis=1)
        for j in range(n):
            members = centroids[assign == j]
            if len(members) == 0:  # re-seed an empty group with the worst-served centroid
                worst = int(np.argmin(np.max(centroids @ c.T, axis=1)))
                c[j] = centroids[worst]
                continue
            m = members.sum(axis=0)
            c[j] = m / (np.linalg.norm(m) or 1.0)
    return _balance(centroids @ c.T, weights, slack)


def _balance(affinity: np.ndarray, weights: np.ndarray, slack: float) -> np.ndarray:
    k, n = affinity.shape
    cap = slack * weights.sum() / n
    load = np.zeros(n)
    table = np.zeros(k, dtype=np.int64)
    ranked = np.sort(affinity, axis=1)
    margin = ranked[:, -1] - ranked[:, -2] if n > 1 else ranked[:, -1]
    for cl in np.argsort(-margin, kind="stable"):
        for g in np.argsort(-affinity[cl], kind="stable"):
            if load[g] + weights[cl] <= cap or g == np.argmin(load):
                table[cl] = g
                load[g] += weights[cl]
                break
    return table
