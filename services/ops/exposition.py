"""The ops server's Prometheus exposition: a collector over values already gathered (the lag
table, the workers' summed counters, the diversity report), built per scrape.

The workers export their own metrics (services/ops/metrics.py); these are the figures only the
ops server sees whole: lag per partition, outputs and index sizes summed over workers, the
accepted window, coverage gaps and the synthetic balance, and whether each backend could be read
(``flywheel_ops_backend_up``). Clusters under the minimum crowd (services/diversity/crowd.py)
have no label of their own: their gap deficits are summed under ``cluster="small"``, and the
diversity report already left them out of the synthetic balance."""

from __future__ import annotations

from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from services.diversity.crowd import SMALL
from services.ops.lag import STATUSES, PartitionLag


class Snapshot:
    """A collector over values already gathered (lag table, summed worker counters); ``stats``
    is None when Redis could not be read."""

    def __init__(
        self,
        lag: list[PartitionLag],
        stats: dict[str, Any] | None,
        group: str,
        kafka_up: bool = True,
    ) -> None:
        self.lag, self.stats, self.group, self.kafka_up = lag, stats, group, kafka_up

    def collect(self):
        up = GaugeMetricFamily(
            "flywheel_ops_backend_up",
            "1 when the ops API could read the backend at this scrape (kafka: last lag poll)",
            labels=["backend"],
        )
        up.add_metric(["kafka"], int(self.kafka_up))
        up.add_metric(["redis"], int(self.stats is not None))
        yield up
        labels = ["group", "topic", "partition"]
        msgs = GaugeMetricFamily("flywheel_lag_messages", "Consumer lag in messages", labels=labels)
        secs = GaugeMetricFamily(
            "flywheel_lag_seconds", "Consumer lag in seconds (interpolated)", labels=labels
        )
        status = GaugeMetricFamily(
            "flywheel_lag_status",
            "Partition status: 0 OK, 1 WARN, 2 STALL, 3 STOP, 4 REWIND",
            labels=labels,
        )
        stuck = GaugeMetricFamily(
            "flywheel_lag_stuck_seconds",
            "Seconds with lag > 0 and the committed offset unmoved (STALL, then STOP)",
            labels=labels,
        )
        for p in self.lag:
            values = [self.group, p.topic, str(p.partition)]
            msgs.add_metric(values, p.lag)
            secs.add_metric(values, p.lag_s)
            status.add_metric(values, STATUSES.index(p.status))
            stuck.add_metric(values, p.stuck_s)
        yield from (msgs, secs, status, stuck)
        if self.stats is None:
            return
        out = CounterMetricFamily(
            "flywheel_cluster_events_out",
            "Records produced by all workers",
            labels=["outcome", "reason"],
        )
        for label, n in self.stats["outputs"].items():
            outcome, _, reason = label.partition(":")
            out.add_metric([outcome, reason], n)
        yield out
        size = GaugeMetricFamily(
            "flywheel_cluster_index_size", "Accepted vectors per index", labels=["index"]
        )
        for name, n in self.stats["index_sizes"].items():
            size.add_metric([name], n)
        yield size
        workers = GaugeMetricFamily(
            "flywheel_workers", "Workers that published stats in the last minute"
        )
        workers.add_metric([], len(self.stats["workers"]))
        yield workers
        div = self.stats.get("diversity")
        if div is None:
            return
        for name, help_, value in (
            (
                "flywheel_window_clusters_covered",
                "Topic clusters in the accepted window",
                div["clusters_covered"],
            ),
            (
                "flywheel_window_entropy_bits",
                "Entropy of the window's cluster distribution",
                div["entropy_bits"],
            ),
            (
                "flywheel_window_synthetic_share",
                "Share of synthetic prompts in the window",
                div["synthetic_share"],
            ),
            (
                "flywheel_blocklist_vectors",
                "Vectors in the annotator-fed blocklist index",
                div["blocklist_vectors"],
            ),
        ):
            g = GaugeMetricFamily(name, help_)
            g.add_metric([], value)
            yield g
        weight = GaugeMetricFamily(
            "flywheel_feedback_cluster_weight", "Quota weight per topic cluster", labels=["cluster"]
        )
        for c, w in div["weights"].items():
            weight.add_metric([c], w)
        yield weight
        yield from _gap_metrics(div)


def _gap_metrics(div: dict[str, Any]):
    """Coverage gaps and the synthetic balance (the worker exports annotator alpha)."""
    gaps = div.get("gaps")
    if gaps:
        distance = GaugeMetricFamily(
            "flywheel_gap_distance",
            "Total variation distance between the window's clusters and the target",
        )
        distance.add_metric([], gaps["distance"])
        yield distance
        deficit = GaugeMetricFamily(
            "flywheel_gap_deficit",
            "Accepted prompts a topic cluster lacks to reach its target share",
            labels=["cluster"],
        )
        small = 0
        for g in gaps["clusters"]:
            if g.get("withheld"):
                small += g["deficit"]
            else:
                deficit.add_metric([str(g["cluster"])], g["deficit"])
        if small:
            deficit.add_metric([SMALL], small)
        yield deficit
    dup = GaugeMetricFamily(
        "flywheel_duplicate_rate",
        "Near or exact duplicates among the prompts decided in the window, per cluster and origin",
        labels=["cluster", "origin"],
    )
    acc = GaugeMetricFamily(
        "flywheel_annotator_acceptance",
        "Share of annotators' votes that were positive, per cluster and origin",
        labels=["cluster", "origin"],
    )
    for row in div.get("synthetic_balance", []):
        for origin in ("real", "synthetic"):
            values = [str(row["cluster"]), origin]
            if row[origin]["duplicate_rate"] is not None:
                dup.add_metric(values, row[origin]["duplicate_rate"])
            if row[origin]["acceptance"] is not None:
                acc.add_metric(values, row[origin]["acceptance"])
    yield from (dup, acc)
