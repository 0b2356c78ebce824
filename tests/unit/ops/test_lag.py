import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.ops.exposition import Snapshot
from services.ops.lag import LagMonitor, PartitionLag, PartitionTracker, worst
from services.ops.lag_store import MAX_ENDS, dump_tracker, load_tracker, thin
from services.ops.metrics import REGISTRY, StatsBook
from services.ops.read_model import coverage, throughput


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
    reg.register(Snapshot(lag, stats, "g"))
    families = {m.name: m for m in text_string_to_metric_families(generate_latest(reg).decode())}
    sample = families["flywheel_lag_messages"].samples[0]
    assert sample.value == 6 and sample.labels == {
        "group": "g",
        "topic": "chat.events",
        "partition": "0",
    }
    assert families["flywheel_lag_status"].samples[0].value == 1


def test_stall_is_not_hidden_by_a_zero_lag_earlier_in_the_window():
    # issue 15/2: curate partitions at lag 26..103, committed 0, shown OK for 90 s; the first
    # samples of the window had lag 0 (nothing produced yet) and masked the stall
    samples = [(0, 0, 0)] + [(t, 10 * t, 0) for t in range(2, 20, 2)]
    tr = tracker_with(samples, stall_after_s=10, stop_after_s=120)
    assert tr.status(18) == "STALL" and tr.stuck_seconds(18) == pytest.approx(16)
    tr.observe(200, 400, 0)
    assert tr.status(200) == "STOP"


def test_an_idle_consumer_that_gets_new_messages_is_not_stop_at_once():
    tr = tracker_with([(0, 100, 100), (500, 110, 100)], stall_after_s=10, stop_after_s=120)
    assert tr.status(500) == "OK" and tr.stuck_seconds(500) == 0.0
    tr.observe(515, 120, 100)
    assert tr.status(515) == "STALL"


def test_the_stall_clock_restarts_when_the_consumer_commits():
    tr = tracker_with([(0, 50, 10), (20, 60, 10)], stall_after_s=10)
    assert tr.status(20) == "STALL"
    tr.observe(22, 60, 30)
    assert tr.status(22) == "OK" and tr.stuck_seconds(22) == 0.0


class DictStore:
    """The Redis store's serialization, in a dict (what successive processes share)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[tuple[str, int], str]] = {}

    def load(self, group):
        return {k: load_tracker(v) for k, v in self.data.get(group, {}).items()}

    def save(self, group, trackers):
        self.data[group] = {k: dump_tracker(tr) for k, tr in trackers.items()}


def one_shot(store, now, end, committed):
    """What ``flywheel lag --once`` does: a new monitor, one sample."""
    monitor = LagMonitor("unused:9092", "g", ["t"], stall_after_s=10, stop_after_s=120, store=store)
    return monitor.evaluate(now, {("t", 0): end}, {("t", 0): committed})[0]


def test_one_shot_polls_share_the_stall_clock_through_the_store():
    store = DictStore()
    first = one_shot(store, 1000.0, 50, 10)
    assert first.status == "OK" and first.lag == 40
    row = one_shot(store, 1015.0, 60, 10)
    assert row.status == "STALL" and row.stuck_s == pytest.approx(15)
    assert row.lag_s == pytest.approx(15) and not row.lag_s_exact  # not "0.0+" any more
    assert one_shot(store, 1200.0, 70, 10).status == "STOP"
    assert one_shot(store, 1202.0, 70, 70).status == "OK"
    # without the store each run starts from nothing and never sees a stall
    assert one_shot(None, 1300.0, 80, 70).status == "OK"


def test_stored_observations_are_thinned_keeping_both_ends():
    tr = PartitionTracker()
    for i in range(500):
        tr.observe(float(i), i + 1, 0)
    again = load_tracker(dump_tracker(tr))
    assert len(again.ends) == MAX_ENDS
    assert again.ends[0] == tr.ends[0] and again.ends[-1] == tr.ends[-1]
    assert thin(list(range(10)), 4) == [0, 3, 6, 9] and thin([1, 2], 4) == [1, 2]
