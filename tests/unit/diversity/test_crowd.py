"""The minimum crowd (services/diversity/crowd.py): who counts towards a cluster's crowd, which
clusters are shown, and what a gap record and a metric say of a cluster under the crowd."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from services.contract.envelope import InMsg
from services.contract.records import CurateItem
from services.diversity.crowd import SMALL, Crowd
from services.diversity.current import CurrentTopics
from services.diversity.gaps import ClusterGap, gap_record
from services.diversity.quota import QuotaPolicy, Window
from services.embed.clusters import TopicModel
from services.ops.exposition import Snapshot
from services.pipeline.curate.stage import CurateStage
from services.settings import Settings
from tests.fakes import FakeCurateState, run_batch

DIM = 8
BASE = [np.eye(DIM, dtype=np.float32)[i] for i in range(4)]
MODEL = TopicModel(
    "v1-test", np.stack(BASE), ("fruit apple", "running shoes", "c", "d"), np.full(4, 0.25), "fp"
)
OPEN = QuotaPolicy(1.0, 1.0, 1)


def test_real_acceptances_with_a_user_join_the_crowd_and_nothing_else_does():
    win = Window(OPEN)
    assert win.admit(0, False, user="u1") is None
    assert win.admit(0, False, user="u1") is None  # the same person twice: one user
    assert win.admit(0, True, user="gen") is None  # a generator is nobody
    assert win.admit(0, False, user=None) is None  # anonymous: may be anyone's
    assert win.admit(None, False, user="u2") is None  # no cluster, no crowd
    assert win.users == [(0, "u1"), (0, "u1")]
    full = Window(QuotaPolicy(0.5, 1.0, 1), total=10, clusters={1: 5})  # type: ignore[arg-type]
    assert full.admit(1, False, user="u3") is not None  # refused: not in the crowd
    assert full.users == []
    again = win.copy()
    again.admit(1, False, user="u4")
    assert win.users == [(0, "u1"), (0, "u1")]  # a batch decided again starts from the copy


def test_a_cluster_is_shown_from_min_crowd_users_and_every_cluster_with_the_rule_off():
    crowd = Crowd(3, {0: 3, 1: 2})
    assert crowd.shown(0) and not crowd.shown(1) and not crowd.shown(7)
    assert crowd.withheld([0, 1, 7]) == [1, 7]
    assert (crowd.label(0), crowd.label(1)) == ("0", SMALL)
    off = Crowd(0)
    assert off.shown(1) and off.withheld([0, 1]) == []


def gap(cluster: int) -> ClusterGap:
    return ClusterGap(cluster, 0.5, 0.1, 4, 1, 0, 1)


def test_a_gap_record_under_the_crowd_has_no_words_and_no_examples():
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    shown = gap_record(MODEL, gap(0), 10, "v1-test:0:1", ts, ["a" * 32])
    assert (shown.words, shown.examples, shown.withheld) == (["fruit", "apple"], ["a" * 32], False)
    small = gap_record(MODEL, gap(1), 10, "v1-test:1:1", ts, None)
    assert (small.words, small.examples, small.withheld) == ([], [], True)
    assert (small.deficit, small.real, small.synthetic_room) == (4, 1, 1)  # the gap itself stays


def item(n: int, c: int, vec: np.ndarray, user: str | None, source: str = "real") -> InMsg:
    rec = CurateItem(
        event_id=f"e{n}",
        prompt_id=f"{n:032x}",
        text=f"prompt number {n}",
        lang="en",
        source=source,  # type: ignore[arg-type]
        user=user,
        vector=base64.b64encode(vec.astype(np.float32).tobytes()).decode(),
        cluster=c,  # the cold-start cluster ingest assigned
        shard=0,
        src=f"chat.events/0/{n}",
    )
    return InMsg("cur", 0, n, None, rec.model_dump_json().encode())


def test_the_curate_commit_carries_the_users_of_the_real_acceptances_by_cluster():
    s = Settings(
        topic_dlq="dlq",
        topic_rejected="rej",
        topic_annotation="ann",
        quota_max_share=1.0,
        mix_max_synthetic=1.0,
        near_dup_threshold=0.9,
    )
    state = FakeCurateState()
    stage = CurateStage(s, state, DIM, CurrentTopics(MODEL, None))
    rng = np.random.default_rng(0)

    def around(c: int) -> np.ndarray:  # far enough from each other, nearest to centroid c
        v = BASE[c] + 0.6 * np.abs(rng.normal(size=DIM)) * (np.arange(DIM) >= 4)
        return v / np.linalg.norm(v)

    msgs = [
        item(1, 0, around(0), "u1"),
        item(2, 0, BASE[0], "u2"),  # the centroid itself
        item(3, 0, BASE[0], "u3"),  # its duplicate: rejected, not in the crowd
        item(4, 1, around(1), "u1"),
        item(5, 1, around(1), "gen", "synthetic"),
        item(6, 1, around(1), None),
    ]
    labels = [o.label for o in run_batch(stage, msgs)]
    assert labels.count("accepted") == 5, labels
    assert dict(state.crowds) == {0: {"u1", "u2"}, 1: {"u1"}}


def test_metrics_report_clusters_under_the_crowd_under_one_label():
    div = {
        "clusters_covered": 2,
        "entropy_bits": 1.0,
        "synthetic_share": 0.0,
        "blocklist_vectors": 0,
        "weights": {},
        "gaps": {
            "distance": 0.2,
            "clusters": [
                {"cluster": 1, "deficit": 3, "withheld": False},
                {"cluster": 2, "deficit": 4, "withheld": True},
                {"cluster": 5, "deficit": 2, "withheld": True},
            ],
        },
        "synthetic_balance": [],
    }
    stats = {"outputs": {}, "index_sizes": {}, "workers": [], "diversity": div}
    reg = CollectorRegistry()
    reg.register(Snapshot([], stats, "g"))
    deficits = {
        x.labels["cluster"]: x.value
        for fam in text_string_to_metric_families(generate_latest(reg).decode())
        for x in fam.samples
        if x.name == "flywheel_gap_deficit"
    }
    assert deficits == {"1": 3, SMALL: 6}
