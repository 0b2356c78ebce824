"""Where a prompt goes: topic cluster -> semantic shard -> curate partition and index.

Near duplicates must meet on one partition and one worker, so the curate topic is partitioned by
semantic shard, not by hash: an embedded prompt's cluster is its nearest topic centroid, and
neighbouring clusters are grouped into as many shards as the curate topic has partitions
(``TopicModel.shards``, services/embed/clusters.py). Its vector goes to the index of its
language and shard. A prompt without a vector (the model cannot read it) goes to the lexical
index of its language, on one partition per language. Ingest routes every prompt this way and
reindex writes the accepted ones where ingest would have sent them.

"Language" is, more exactly, the prompt's space: its language within its conversation context
(``space``), so that the same question under two system prompts or tool sets never meets
(unless ``dedup_across_contexts``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from services.embed.clusters import TopicModel
from services.settings import Settings


def space(lang: str, context_id: str | None, s: Settings) -> str:
    """The family of indexes a prompt is judged in: its language, within its context."""
    if context_id is None or s.dedup_across_contexts:
        return lang
    return f"{lang}.{context_id}"


def vector_index(lang: str, shard: int) -> str:
    """Name of the vector index (and its Redis log) of a language's shard."""
    return f"{lang}:{shard}"


def lexical_index(lang: str) -> str:
    """Name of the MinHash index of a language's texts without a vector."""
    return f"{lang}:lex"


def lexical_partition(lang: str, partitions: int) -> int:
    """Partition of the texts without a vector: one per language (stable across processes)."""
    return zlib.crc32(f"lex:{lang}".encode()) % partitions


@dataclass(frozen=True)
class Route:
    cluster: int | None  # the v1 topic cluster; None without a vector
    shard: int | None  # None without a vector
    partition: int  # of the curate topic
    index: str  # vector_index or lexical_index


class Router:
    """Routes by one topic model: ``shard_of`` maps its clusters to the shards of ``partitions``
    curate partitions."""

    def __init__(self, topics: TopicModel, shard_of: np.ndarray, partitions: int) -> None:
        self.topics = topics
        self.shard_of = shard_of
        self.partitions = partitions

    @classmethod
    def from_settings(cls, topics: TopicModel, s: Settings) -> Router:
        """Groups the centroids into shards (k-means over the centroids, deterministic: every
        worker computes the same table): build it off the event loop."""
        shard_of = topics.shards(s.curate_partitions, s.shard_slack)
        return cls(topics, shard_of, s.curate_partitions)

    def route(self, langs: Sequence[str], vectors: Sequence[np.ndarray | None]) -> list[Route]:
        """The route of each prompt, by its language and its vector (or None); one centroid
        assignment for the batch."""
        clusters: list[int | None] = [None] * len(vectors)
        embedded = [(i, v) for i, v in enumerate(vectors) if v is not None]
        if embedded:
            assigned = self.topics.assign(np.stack([v for _, v in embedded]))
            for (i, _), cluster in zip(embedded, assigned.tolist(), strict=True):
                clusters[i] = int(cluster)
        routes = []
        for lang, cluster in zip(langs, clusters, strict=True):
            if cluster is None:
                part = lexical_partition(lang, self.partitions)
                routes.append(Route(None, None, part, lexical_index(lang)))
            else:
                shard = int(self.shard_of[cluster])
                routes.append(Route(cluster, shard, shard, vector_index(lang, shard)))
        return routes
