import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.ops.lag import PartitionLag, PartitionTracker, worst
from services.ops.metrics import REGISTRY, StatsBook
from services.ops.read_model import _Snapshot, coverage, throughput


def tracker_with(samples, **kw) -> PartitionTracker:
    tr = PartitionTracker(**kw)
    for t, end, committed in samples:
        tr.observe(t, end, committed)
    return tr


def test_lag_seconds_interpolates_between_observations():
    tr = tracker_with([(0, 0, 0), (10, 100, 0), (20, 200, 0)])
    # offset 150 was written at t=15 by interpolation; at t=20 the lag is 5 s
    assert tr.lag_seconds(150, now=20) == (pytest.approx(5.0), True)
    assert tr.lag_seconds(200, now=20) == (0.0, True)
    assert tr.lag_seconds(100, now=30) == (pytest.approx(20.0), True)


def test_lag_seconds_is_a_lower_bound_before_the_first_observation():
    tr = tracker_with([(100, 500, 0), (110, 600, 0)])
    lag_s, exact = tr.lag_seconds(10, now=120)
    assert lag_s == pytest.approx(20.0) and not exact


def test_status_ok_when_caught_up_or_progressing():
    assert tracker_with([(t, 100, 100) for t in range(5)]).status(5) == "OK"
    assert tracker_with([(t, 100 + t, 90 + t) for t in range(5)]).status(5) == "OK"


def test_status_warn_when_progressing_but_falling_behind():
    assert tracker_with([(t, 100 + 10 * t, 90 + t) for t in range(5)]).status(5) == "WARN"


def test_status_stall_when_commits_stop_while_lag_grows():
    stalled = [(t, 100 + 10 * t, 50) for t in range(0, 25, 5)]
    assert tracker_with(stalled, stall_after_s=10, stop_after_s=120).status(20) == "STALL"
    # a consumer between two commits is not stalled yet
    assert tracker_with(stalled[:3], stall_after_s=30, stop_after_s=120).status(10) == "OK"


def test_status_stop_when_no_commit_for_long():
    tr = tracker_with([(0, 100, 50), (200, 100, 50)], stop_after_s=120)
    assert tr.status(200) == "STOP"


def test_status_rewind_when_committed_goes_back():
    assert tracker_with([(0, 100, 80), (1, 100, 60), (2, 100, 70)]).status(2) == "REWIND"


def test_group_status_is_the_worst():
    assert worst(["OK", "WARN", "STALL"]) == "STALL" and worst([]) == "OK"


def test_coverage_and_throughput():
    assert coverage({"en": 50, "zh": 50}) == {
        "indexes": 2,
        "entropy_bits": 1.0,
        "max_entropy_bits": 1.0,
    }
    assert (
        throughput([{"t": 0, "total": 0}, {"t": 5, "total": 50}, {"t": 10, "total": 150}]) == 15.0
    )


def test_expositions_parse_with_the_prometheus_parser():
    book = StatsBook()
    book.record_batch(
        "ingest", 3, ["forwarded", "rejected:empty", "dlq:invalid_json"], 0.1, [("rejected", 0.5)]
    )
    from prometheus_client import generate_latest

    names = {m.name for m in text_string_to_metric_families(generate_latest(REGISTRY).decode())}
    assert {
        "flywheel_events_in",
        "flywheel_events_out",
        "flywheel_stage_batch_seconds",
        "flywheel_end_to_end_seconds",
        "flywheel_embed_batch_size",
        "flywheel_index_size",
        "flywheel_rebalances",
    } <= names
    assert all(n.startswith("flywheel_") for n in names)

    from prometheus_client import CollectorRegistry

    reg = CollectorRegistry()
    lag = [PartitionLag("chat.events", 0, 10, 4, 6, 1.5, True, "WARN")]
    stats = {
        "outputs": {"accepted": 3, "rejected:empty": 1},
        "index_sizes": {"en": 3},
        "workers": ["w"],
    }
    reg.register(_Snapshot(lag, stats, "g"))
    families = {m.name: m for m in text_string_to_metric_families(generate_latest(reg).decode())}
    sample = families["flywheel_lag_messages"].samples[0]
    assert sample.value == 6 and sample.labels == {
        "group": "g",
        "topic": "chat.events",
        "partition": "0",
    }
    assert families["flywheel_lag_status"].samples[0].value == 1
