"""What annotators' labels mean for curation: their class, the quota weight of a cluster, and
the policy that turns votes into weights (``services.state.feedback_store`` counts the votes).

A label is classed ``positive`` (good, accept, needs_edit, ...) or ``negative`` (off_topic,
reject, spam, unsafe, ...); unknown labels are counted but steer nothing. Per topic cluster, the
acceptance rate becomes a quota weight: the smoothed rate of the cluster over the global rate,
clamped to [``weight_min``, ``weight_max``]; the curate stage multiplies the cluster's queue share
by it (``services.diversity.quota``), so clusters annotators reject get less of the queue, within
bounds. ``BLOCK_LABELS`` also put the prompt into the blocklist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from services.diversity.agreement import Mode
from services.settings import Settings

POSITIVE_LABELS = frozenset({"good", "accept", "accepted", "keep", "needs_edit", "ok", "approve"})
NEGATIVE_LABELS = frozenset(
    {"bad", "reject", "rejected", "off_topic", "discard", "discarded", "spam", "unsafe", "toxic"}
)
BLOCK_LABELS = frozenset({"spam", "unsafe"})


def label_class(label: str) -> str | None:
    label = label.strip().lower()
    if label in POSITIVE_LABELS:
        return "pos"
    if label in NEGATIVE_LABELS:
        return "neg"
    return None


def cluster_weight(
    pos: float,
    neg: float,
    all_pos: float,
    all_neg: float,
    prior: float,
    lo: float,
    hi: float,
) -> float:
    """Smoothed acceptance rate of a cluster over the global rate, clamped to [lo, hi].

    The cluster's rate is pulled towards the global rate by ``prior`` pseudo-votes, so a few
    votes move a weight a little and many votes move it a lot."""
    total = all_pos + all_neg
    if total == 0:
        return 1.0
    p = all_pos / total
    if p == 0:
        return lo
    rate = (pos + prior * p) / (pos + neg + prior)
    return float(min(hi, max(lo, rate / p)))


@dataclass(frozen=True)
class FeedbackPolicy:
    prior: float  # pseudo-votes pulling a cluster's rate towards the global rate
    weight_min: float
    weight_max: float
    agreement: Mode  # which votes count (services.diversity.agreement)
    agree_min: float
    max_rounds: int
    ttl_s: int  # how long votes and accepted-prompt records are kept

    @classmethod
    def from_settings(cls, s: Settings) -> FeedbackPolicy:
        return cls(
            s.feedback_prior,
            s.feedback_weight_min,
            s.feedback_weight_max,
            s.feedback_agreement,
            s.feedback_agree_min,
            s.feedback_max_rounds,
            s.feedback_ttl_s,
        )

    def weight(self, counts: Mapping[str, float], cluster: int) -> float:
        """The quota weight of ``cluster`` from vote counts keyed ``<cluster>:pos|neg`` and
        ``all:pos|neg``."""
        return cluster_weight(
            counts.get(f"{cluster}:pos", 0),
            counts.get(f"{cluster}:neg", 0),
            counts.get("all:pos", 0),
            counts.get("all:neg", 0),
            self.prior,
            self.weight_min,
            self.weight_max,
        )
