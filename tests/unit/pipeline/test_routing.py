"""Routing: topic cluster -> semantic shard -> curate partition and index name."""

from __future__ import annotations

import numpy as np

from services.embed.clusters import TopicModel
from services.pipeline.routing import Router, lexical_index, lexical_partition, vector_index
from services.settings import Settings


def router() -> Router:
    eye = np.eye(4, dtype=np.float32)
    topics = TopicModel("t", eye, ("a", "b", "c", "d"), np.ones(4))
    return Router(topics, np.array([1, 0, 0, 1]), 2)


def test_a_vector_goes_to_the_shard_of_its_cluster_and_the_index_of_that_shard():
    eye = np.eye(4, dtype=np.float32)
    routes = router().route(["en", "en", "zh"], [eye[0], eye[2], eye[3]])
    assert [(r.cluster, r.shard, r.partition) for r in routes] == [(0, 1, 1), (2, 0, 0), (3, 1, 1)]
    assert [r.index for r in routes] == ["en:1", "en:0", "zh:1"]
    assert routes[0].index == vector_index("en", 1)


def test_a_text_without_a_vector_goes_to_its_languages_lexical_index_and_partition():
    (route,) = router().route(["zh"], [None])
    assert (route.cluster, route.shard) == (None, None)
    assert route.index == lexical_index("zh") == "zh:lex"
    assert route.partition == lexical_partition("zh", 2)


def test_the_shard_table_from_the_settings_is_the_topic_models():
    topics = TopicModel.load()
    s = Settings(curate_partitions=4, shard_slack=2.0)
    assert np.array_equal(Router.from_settings(topics, s).shard_of, topics.shards(4, 2.0))
