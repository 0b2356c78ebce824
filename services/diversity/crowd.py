"""A minimum crowd: a topic cluster is described only once enough distinct users are in it.

A cluster whose accepted prompts in the quota window all came from one person describes that
person: its characteristic words, its example prompts and its figures (how many prompts, how
often they were near duplicates, how annotators voted) are about them. So a cluster's words,
examples and per-cluster figures are shown (gap records, the ops API and dashboard, metric
labels) only once at least ``min_crowd`` distinct users had real prompts accepted in it over the
window, as Anthropic's Clio publishes a cluster only above a number of distinct accounts.

The users are counted by ``RedisWindow`` (services/diversity/quota.py): a HyperLogLog of keyed
user hashes per cluster and window bucket, written with the window's counts. Synthetic prompts
and prompts without a user do not count (a generator is nobody; an anonymous prompt may be
anyone's, the one person's included). ``min_crowd`` 0 shows every cluster. The rule and its
default: docs/privacy.md#a-minimum-crowd.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SMALL = "small"  # the one metric label of every cluster under the crowd


@dataclass(frozen=True)
class Crowd:
    """Distinct users per cluster over the window, against the minimum."""

    min_crowd: int
    users: Mapping[int, int] = field(default_factory=dict)

    def shown(self, cluster: int) -> bool:
        """Whether ``cluster``'s words, examples and figures may be shown."""
        return self.min_crowd <= 0 or self.users.get(cluster, 0) >= self.min_crowd

    def withheld(self, clusters: Iterable[int]) -> list[int]:
        """The clusters of ``clusters`` under the crowd, in order."""
        return [c for c in clusters if not self.shown(c)]

    def label(self, cluster: int) -> str:
        """The metric label of ``cluster``: its number, or ``small`` under the crowd."""
        return str(cluster) if self.shown(cluster) else SMALL
