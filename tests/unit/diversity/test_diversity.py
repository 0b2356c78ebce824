"""Topic clusters, shard table, quota/mix window and feedback weights: pure logic."""

from __future__ import annotations

import numpy as np
import pytest

from services.contract.records import Reason
from services.diversity.feedback import cluster_weight, label_class
from services.diversity.quota import QuotaPolicy, Window
from services.embed.clusters import TopicModel
from services.pipeline.routing import lexical_partition
from services.state.accepted import decode_accepted, encode_accepted


@pytest.fixture(scope="module")
def topics() -> TopicModel:
    return TopicModel.load()


def test_topic_model_is_versioned_unit_and_labelled(topics):
    assert topics.version.startswith("topics-v1-")
    assert topics.k == 64 and topics.dim == 384
    assert np.allclose(np.linalg.norm(topics.centroids, axis=1), 1.0, atol=1e-5)
    assert len(topics.labels) == topics.k and all(topics.labels)
    assert topics.weights.sum() == pytest.approx(1.0, abs=1e-5)


def test_each_centroid_is_its_own_cluster(topics):
    assert list(topics.assign(topics.centroids)) == list(range(topics.k))


@pytest.mark.parametrize("n", [1, 2, 4, 8, 16])
def test_shard_table_is_deterministic_complete_and_bounded(topics, n):
    table = topics.shards(n, 2.0)
    again = TopicModel.load().shards(n, 2.0)
    assert list(table) == list(again)  # every worker computes the same table
    assert set(table) == set(range(n))  # no empty shard
    load = np.bincount(table, weights=topics.weights, minlength=n)
    # every shard within slack x mean, or holding a single cluster that is itself bigger
    for g in range(n):
        assert load[g] <= 2.0 / n + 1e-9 or np.sum(table == g) == 1


def test_neighbouring_clusters_share_a_shard_more_often_than_chance(topics):
    table = topics.shards(8, 2.0)
    sims = topics.centroids @ topics.centroids.T
    np.fill_diagonal(sims, -1)
    nearest = np.argmax(sims, axis=1)
    same = np.mean(table == table[nearest])
    assert same > 0.5  # chance would be ~1/8


def test_lexical_partition_is_stable():
    assert lexical_partition("zh", 4) == lexical_partition("zh", 4)
    assert 0 <= lexical_partition("ja", 3) < 3


def test_window_quota_caps_a_cluster_share():
    win = Window(QuotaPolicy(max_share=0.1, max_synthetic=1.0, min_window=10))
    verdicts = [win.admit(7, False) for _ in range(5)]
    assert verdicts == [None, Reason.QUOTA, Reason.QUOTA, Reason.QUOTA, Reason.QUOTA]
    for c in range(20):
        assert win.admit(c + 100, False) is None
    # 21 accepted: cluster 7 may hold 0.1 x 22 = 2.2 -> one more
    assert win.admit(7, False) is None
    assert win.admit(7, False) == Reason.QUOTA
    assert win.clusters[7] == 2


def test_window_feedback_weight_scales_the_share():
    policy = QuotaPolicy(max_share=0.1, max_synthetic=1.0, min_window=100)
    low = Window(policy, {1: 0.25})
    high = Window(policy, {1: 2.0})
    n_low = sum(low.admit(1, False) is None for _ in range(50))
    n_high = sum(high.admit(1, False) is None for _ in range(50))
    assert (n_low, n_high) == (2, 20)


def test_window_mix_caps_synthetic_and_unclustered_are_exempt_from_quota():
    win = Window(QuotaPolicy(max_share=0.1, max_synthetic=0.3, min_window=10))
    got = [win.admit(None, True) for _ in range(5)]
    assert got == [None, None, None, Reason.MIX, Reason.MIX]
    assert all(win.admit(None, False) is None for _ in range(20))  # no cluster: no quota
    assert win.synthetic == 3 and win.total == 23


def test_window_off_switches():
    win = Window(QuotaPolicy(max_share=1.0, max_synthetic=1.0, min_window=1))
    assert all(win.admit(0, True) is None for _ in range(100))


def test_coverage_entropy():
    win = Window(QuotaPolicy(1.0, 1.0, 1))
    assert win.coverage() == (0, 0.0)
    for c in range(4):
        for _ in range(5):
            win.admit(c, False)
    covered, bits = win.coverage()
    assert covered == 4 and bits == pytest.approx(2.0)


def test_label_classes():
    assert label_class("Good") == "pos" and label_class("needs_edit") == "pos"
    assert label_class("spam") == "neg" and label_class("off_topic") == "neg"
    assert label_class("maybe?") is None


def test_cluster_weight_moves_with_acceptance_and_stays_in_bounds():
    assert cluster_weight(0, 0, 0, 0, 10, 0.25, 2.0) == 1.0  # no votes yet
    neutral = cluster_weight(5, 5, 50, 50, 10, 0.25, 2.0)
    assert neutral == pytest.approx(1.0)
    bad = cluster_weight(0, 20, 50, 50, 10, 0.25, 2.0)
    good = cluster_weight(20, 0, 50, 50, 10, 0.25, 2.0)
    assert 0.25 <= bad < 1.0 < good <= 2.0
    assert cluster_weight(0, 1000, 1, 1000, 10, 0.25, 2.0) >= 0.25
    # a couple of votes move a weight less than many
    assert cluster_weight(0, 2, 50, 50, 10, 0.25, 2.0) > bad


def test_accepted_record_round_trip():
    v = np.random.default_rng(0).normal(size=384).astype(np.float32)
    v /= np.linalg.norm(v)
    for synthetic in (False, True):
        raw = encode_accepted(12, v, synthetic=synthetic)
        cluster, back, flag = decode_accepted(raw)
        assert cluster == 12 and back is not None and float(back @ v) > 0.9999
        assert flag is synthetic
    assert decode_accepted(encode_accepted(None, None)) == (None, None, False)
    assert decode_accepted(encode_accepted(None, None, synthetic=True)) == (None, None, True)
