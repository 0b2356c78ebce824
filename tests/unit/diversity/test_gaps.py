"""Coverage gaps and the per-cluster synthetic mix: pure logic (services/diversity/gaps.py)."""

from __future__ import annotations

import numpy as np
import pytest

from services.contract.records import Reason
from services.diversity.gaps import (
    Target,
    TargetRefused,
    bias_rates,
    cluster_words,
    coverage,
    parse_target,
    synthetic_room,
)
from services.diversity.quota import QuotaPolicy, Window
from services.embed.clusters import TopicModel


def model(k: int, version: str = "topics-t-1") -> TopicModel:
    rng = np.random.default_rng(k)
    c = rng.normal(size=(k, 8)).astype(np.float32)
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    labels = tuple(["invoice refund billing"] + [f"cluster {i}" for i in range(1, k)])
    return TopicModel(version, c, labels, np.full(k, 1.0 / k))


OPEN = QuotaPolicy(max_share=1.0, max_synthetic=1.0, min_window=1)


def window(counts: dict[int, int], synthetic: dict[int, int] | None = None, policy=OPEN) -> Window:
    win = Window(policy)
    for c, n in counts.items():
        s = (synthetic or {}).get(c, 0)
        for i in range(n):
            assert win.admit(c, i < s) is None
    return win


# --- the operator's target ------------------------------------------------------------------


def test_uniform_and_explicit_targets():
    m = model(4)
    assert parse_target({"uniform": True}, m).for_model(m) == ([0.25] * 4, False)
    t = parse_target({"shares": {"0": 0.5, "2": 0.5}}, m)
    assert t.for_model(m) == ([0.5, 0.0, 0.5, 0.0], False)
    assert Target.from_json(t.to_json()) == t
    assert Target.from_json(None) == Target()


@pytest.mark.parametrize(
    "body, says",
    [
        ({"shares": {"0": 0.5, "1": 0.4}}, "sum to 0.9"),
        ({"shares": {"0": 1.5, "1": -0.5}}, "negative"),
        ({"shares": {"9": 1.0}}, "cluster 9 is unknown"),
        ({"shares": {"x": 1.0}}, "not a cluster number"),
        ({"shares": {"-1": 1.0}}, "not a cluster number"),
        ({"shares": {"0": "1"}}, "not a number"),
        ({"shares": {"0": True}}, "not a number"),
        ({"shares": {"0": float("nan")}}, "not finite"),
        ({"shares": {}}, "expected"),
        ([0.5, 0.5], "JSON object"),
        ("uniform", "JSON object"),
    ],
)
def test_bad_targets_are_refused_with_the_reason(body, says):
    with pytest.raises(TargetRefused, match=says):
        parse_target(body, model(4))


def test_a_target_for_another_model_falls_back_to_uniform_and_says_so():
    old, new = model(4, "topics-a"), model(2, "topics-b")
    t = parse_target({"shares": {"0": 1.0}}, old)
    assert t.for_model(new) == ([0.5, 0.5], True)


# --- coverage and deficits ------------------------------------------------------------------


def test_deficits_against_a_uniform_target_largest_first():
    win = window({0: 60, 1: 30, 2: 10, 3: 0}, synthetic={2: 4})
    cov = coverage(win, 4, [0.25] * 4, False, OPEN)
    assert cov.total == 100
    assert [(g.cluster, g.deficit) for g in cov.gaps] == [(3, 25), (2, 15)]
    gap2 = cov.gaps[1]
    assert (gap2.real, gap2.synthetic, gap2.share, gap2.target_share) == (6, 4, 0.1, 0.25)
    # total variation distance: (0.35 + 0.05 + 0.15 + 0.25) / 2
    assert cov.distance == pytest.approx(0.4)
    assert 0 < cov.entropy_bits < cov.max_entropy_bits == 2.0


def test_a_balanced_window_has_no_gaps_and_full_entropy():
    cov = coverage(window({c: 25 for c in range(4)}), 4, [0.25] * 4, False, OPEN)
    assert cov.gaps == [] and cov.distance == 0.0 and cov.entropy_bits == 2.0


def test_an_empty_window_has_no_gaps():
    cov = coverage(Window(OPEN), 4, [0.25] * 4, False, OPEN)
    assert cov.total == 0 and cov.gaps == []


def test_clusters_outside_the_model_are_not_counted():
    win = window({0: 10, 1: 10, 7: 80})  # 7: a cluster of a model no longer current
    cov = coverage(win, 2, [0.5, 0.5], False, OPEN)
    assert cov.total == 20 and cov.gaps == []


# --- the per-cluster mix rule ---------------------------------------------------------------


def test_no_cluster_turns_synthetic_beyond_its_share():
    policy = QuotaPolicy(1.0, 1.0, 1, max_synthetic_cluster=0.5, min_cluster=4)
    win = Window(policy)
    # an empty cluster: the floor of 4 lets 2 synthetic prompts in before any real one
    assert [win.admit(3, True) for _ in range(3)] == [None, None, Reason.MIX_CLUSTER]
    assert all(win.admit(3, False) is None for _ in range(4))  # real prompts are never capped
    # 2 of 6: two more synthetic make 4 of 8, half; a fifth would be 5 of 9
    assert [win.admit(3, True) for _ in range(3)] == [None, None, Reason.MIX_CLUSTER]
    assert (win.clusters[3], win.synthetic_in[3]) == (8, 4)
    assert win.admit(4, True) is None  # another cluster has its own room


def test_the_window_mix_is_checked_before_the_cluster_mix():
    policy = QuotaPolicy(1.0, 0.1, 10, max_synthetic_cluster=0.5, min_cluster=2)
    win = Window(policy)
    assert win.admit(0, True) is None
    assert win.admit(0, True) == Reason.MIX  # both rules refuse it: the window's reason


def test_synthetic_room_is_what_admit_would_take():
    policy = QuotaPolicy(1.0, 0.3, 10, max_synthetic_cluster=0.5, min_cluster=4)
    win = window({0: 40, 1: 6}, synthetic={1: 2}, policy=policy)
    for cluster in (0, 1, 2):
        room = synthetic_room(win, cluster, policy, cap=1000)
        trial = win.copy()
        taken = 0
        while trial.admit(cluster, True) is None:
            taken += 1
        assert room == taken, cluster
    assert synthetic_room(win, 0, policy, cap=2) == 2


def test_the_rule_off_admits_a_synthetic_only_cluster():
    win = Window(QuotaPolicy(1.0, 1.0, 1, max_synthetic_cluster=1.0))
    assert all(win.admit(5, True) is None for _ in range(50))


# --- the bias signal ------------------------------------------------------------------------


def test_duplicate_rates_per_cluster_and_origin():
    win = Window(OPEN, tag="abc")
    for dup in (True, True, False, False):
        win.note_decided(2, True, dup)
    for dup in (True, False, False, False):
        win.note_decided(2, False, dup)
    win.note_decided(5, False, False)
    fields = dict(win.decided)
    fields["n:other:2:syn"] = 99  # another model's tag is ignored
    rates = bias_rates(fields, "abc")
    assert rates[2]["synthetic"] == {"decided": 4, "duplicates": 2, "rate": 0.5}
    assert rates[2]["real"] == {"decided": 4, "duplicates": 1, "rate": 0.25}
    assert rates[5] == {"real": {"decided": 1, "duplicates": 0, "rate": 0.0}}


def test_bias_fields_of_the_cold_start_model():
    win = Window(OPEN)  # v1: no tag
    win.note_decided(1, False, True)
    assert bias_rates(dict(win.decided), "") == {
        1: {"real": {"decided": 1, "duplicates": 1, "rate": 1.0}}
    }


def test_cluster_words_skip_number_only_labels():
    m = model(3)
    assert cluster_words(m, 0) == ["invoice", "refund", "billing"]
    assert cluster_words(m, 1) == [] and cluster_words(m, 99) == []


@pytest.mark.parametrize(
    "body",
    [{"uniform": False}, {"uniform": True, "shares": {"0": 1.0}}, {"shares": {"0": 1}, "x": 1}],
)
def test_ambiguous_targets_are_refused(body):
    with pytest.raises(TargetRefused):
        parse_target(body, model(4))
