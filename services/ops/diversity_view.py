"""What the ops API serves about diversity: the accepted window by topic cluster (quotas, mix,
feedback weights, votes, the blocklist), coverage gaps against the operator's target and their
publication, the synthetic balance, and annotator agreement.

A cluster with fewer distinct users in the window than ``FLYWHEEL_MIN_CROWD`` is withheld
(services/diversity/crowd.py): its row leaves the window's clusters (counted under
``withheld``) and the synthetic balance, and its gap row keeps the gap's figures but no label
and no words, as its gap record does.

Everything is read against the topic model the curate workers use now (``current_topics``).
Redis errors propagate to the caller (the HTTP layer answers 503 with the reason)."""

from __future__ import annotations

import logging
import math
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import redis.asyncio as aioredis

from services.contract.records import GapRecord
from services.diversity.agreement import agreement_report, annotator_bias
from services.diversity.crowd import Crowd
from services.diversity.current import CurrentTopics
from services.diversity.gaps import GapStore, Target, cluster_words, parse_target
from services.diversity.gaps import coverage as gap_coverage
from services.diversity.quota import QuotaPolicy, RedisWindow, Window
from services.diversity.topics import RedisTopics, tag
from services.embed.clusters import TopicModel
from services.keys import Keys
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX
from services.state.curate_state import load_weights

log = logging.getLogger(__name__)

MAX_BALANCE_ROWS = 64


class DiversityView:
    def __init__(self, s: Settings, redis: aioredis.Redis) -> None:
        self.s = s
        self.redis = redis
        self.keys = Keys(s.namespace)
        self.cold_start = TopicModel.load(s.topics_path or None)  # feedback, agreement: per v1
        learned = RedisTopics(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
        self.topics = CurrentTopics(self.cold_start, learned)  # what the curate workers use now
        self.window = RedisWindow(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)
        self.policy = QuotaPolicy.from_settings(s)
        self.gaps = GapStore(redis, s.namespace, s.quota_window_s, s.quota_bucket_s)

    async def current_topics(self) -> TopicModel:
        """The topic model the curate workers use now (learned, or the cold start)."""
        return await self.topics.refresh()

    async def report(self) -> dict[str, Any]:
        """The accepted window by topic cluster (quotas, mix) and what feedback changed."""
        s = self.s
        topics = await self.current_topics()
        win = await self.window.load(self.policy, {}, tag=tag(topics.version))
        weights = await load_weights(self.redis, s.namespace)
        covered, entropy = win.coverage()
        pos, neg = await self.redis.hmget(self.keys.vote_counts, "all:pos", "all:neg")
        blocked = await self.redis.llen(self.keys.vector_log(BLOCKLIST_INDEX))
        crowd = await self._crowd(topics, win)
        small = crowd.withheld(c for c, n in win.clusters.items() if n)
        return {
            "topics_version": topics.version,
            "topics_learned": bool(tag(topics.version)),
            "window_s": s.quota_window_s,
            "accepted": win.total,
            "synthetic_share": round(win.synthetic / win.total, 4) if win.total else 0.0,
            "clusters_covered": covered,
            "clusters_total": topics.k,
            "entropy_bits": round(entropy, 4),
            "max_entropy_bits": round(math.log2(topics.k), 4),
            "clusters": [
                {
                    "cluster": c,
                    "label": _label(topics, c),
                    "accepted": n,
                    # feedback weights are kept per cold-start (v1) cluster
                    "weight": None if tag(topics.version) else weights.get(c, 1.0),
                }
                for c, n in win.clusters.most_common()
                if n and crowd.shown(c)
            ],
            "withheld": {
                "min_crowd": crowd.min_crowd,
                "clusters": len(small),
                "accepted": sum(win.clusters[c] for c in small),
            },
            "weights": {str(c): w for c, w in sorted(weights.items())},
            "votes": {"positive": int(pos or 0), "negative": int(neg or 0)},
            "blocklist_vectors": int(blocked),
            "gaps": await self._gaps(topics, win, crowd),
            "synthetic_balance": await self._synthetic_balance(topics, win, crowd),
            "agreement": public_agreement(
                await agreement_report(self.redis, s.namespace), self.cold_start
            ),
        }

    # --- coverage gaps, synthetic balance (services/diversity/gaps.py) -------------------
    async def gaps_view(self) -> dict[str, Any]:
        topics = await self.current_topics()
        win = await self.window.load(self.policy, {}, tag=tag(topics.version))
        return await self._gaps(topics, win, await self._crowd(topics, win))

    async def _crowd(self, topics: TopicModel, win: Window) -> Crowd:
        """The distinct users of the clusters the window holds (the others have none)."""
        present = [c for c, n in win.clusters.items() if n]
        return await self.gaps.crowd(topics, present, self.s.min_crowd)

    async def _gaps(self, topics: TopicModel, win: Window, crowd: Crowd) -> dict[str, Any]:
        target = await self.gaps.target()
        shares, stale = target.for_model(topics)
        cov = gap_coverage(win, topics.k, shares, stale, self.policy)
        kind = "stale" if stale else ("uniform" if target.shares is None else "set")
        return {
            "topics_version": topics.version,
            "target": kind,
            "shares": None
            if target.shares is None or stale
            else {str(c): v for c, v in target.shares.items()},
            "total": cov.total,
            "distance": cov.distance,
            "entropy_bits": cov.entropy_bits,
            "max_entropy_bits": cov.max_entropy_bits,
            "min_window": self.s.gaps_min_window,
            "min_crowd": crowd.min_crowd,
            "interval_s": self.s.gaps_interval_s,
            "last_published": await self.gaps.last_published(),
            "waiting": self.waiting(topics),
            "clusters": [
                {
                    "cluster": g.cluster,
                    "label": _label(topics, g.cluster) if crowd.shown(g.cluster) else None,
                    "words": cluster_words(topics, g.cluster) if crowd.shown(g.cluster) else [],
                    "withheld": not crowd.shown(g.cluster),
                    **{k: v for k, v in asdict(g).items() if k != "cluster"},
                }
                for g in cov.gaps
            ],
        }

    async def set_gap_target(self, body: Any) -> Target:
        """Checked against the current topic model (``TargetRefused`` with the reason)."""
        target = parse_target(body, await self.current_topics())
        await self.gaps.set_target(target)
        return target

    def waiting(self, topics: TopicModel) -> str | None:
        """Why no gaps are published yet, if so: while clusters are to be learned from the
        product's own traffic, gaps over the cold-start clusters would ask a generator for
        topics the product never serves (measured: docs/feedback.md)."""
        if self.s.topics_learn and not tag(topics.version):
            return "waiting for the first topic model learned from the accepted stream"
        return None

    async def publish_gaps(
        self, send: Callable[[str, GapRecord], Awaitable[None]]
    ) -> tuple[list[GapRecord], str | None]:
        """The records sent, or none and why not (``waiting``)."""
        s = self.s
        topics = await self.current_topics()
        waiting = self.waiting(topics)
        if waiting:
            return [], waiting
        records = await self.gaps.publish(
            topics, self.policy, send, s.gaps_examples, s.gaps_min_window, s.min_crowd
        )
        return records, None

    async def _synthetic_balance(
        self, topics: TopicModel, win: Window, crowd: Crowd
    ) -> list[dict[str, Any]]:
        """Per cluster with synthetic prompts (accepted, decided or voted on) and enough users:
        accepted counts, near-duplicate rate and annotators' acceptance, synthetic beside
        real."""
        t = tag(topics.version)
        rates = await self.gaps.bias(topics)
        votes = await annotator_bias(self.redis, self.s.namespace, t)
        clusters = {c for c, n in win.synthetic_in.items() if n}
        clusters |= {c for c, r in rates.items() if r.get("synthetic", {}).get("decided")}
        clusters |= {c for c, v in votes.items() if sum(v["synthetic"].values())}
        clusters -= set(crowd.withheld(clusters))
        out = []
        for c in sorted(clusters)[:MAX_BALANCE_ROWS]:
            row: dict[str, Any] = {"cluster": c, "label": _label(topics, c)}
            for origin in ("real", "synthetic"):
                r = rates.get(c, {}).get(origin, {"decided": 0, "duplicates": 0})
                voted = votes.get(c, {}).get(origin) or {}
                pos, neg = voted.get("pos", 0), voted.get("neg", 0)
                syn = win.synthetic_in[c]
                row[origin] = {
                    "accepted": syn if origin == "synthetic" else win.clusters[c] - syn,
                    "decided": int(r["decided"]),
                    "duplicates": int(r["duplicates"]),
                    "duplicate_rate": round(r["duplicates"] / r["decided"], 4)
                    if r["decided"]
                    else None,
                    "votes_pos": int(pos),
                    "votes_neg": int(neg),
                    "acceptance": round(pos / (pos + neg), 4) if pos + neg else None,
                }
            out.append(row)
        return out

    async def agreement(self) -> dict[str, Any]:
        """The full agreement report, per-annotator rows included (read token only)."""
        return await agreement_report(self.redis, self.s.namespace)


def _label(topics: TopicModel, cluster: int) -> str:
    return topics.labels[cluster] if 0 <= cluster < len(topics.labels) else ""


def public_agreement(report: dict[str, Any], cold_start: TopicModel) -> dict[str, Any]:
    """The agreement report without annotators' names (they may be people's user names):
    per cluster (of the cold-start model, labelled by its words), the global figures, and the
    spread of the annotators' agreement."""
    rates = sorted(
        a["agreement"] for a in report["annotators"].values() if a.get("agreement") is not None
    )
    return {
        "measure": report["measure"],
        "clusters_model": cold_start.version,
        "mode": report["mode"],
        "agree_min": report["agree_min"],
        "max_rounds": report["max_rounds"],
        "alpha": report["alpha"]["global"],
        "chance_agreement": report["chance_agreement"],
        "clusters": [
            {
                "cluster": c,
                "label": _label(cold_start, c),
                "alpha": v["alpha"],
                "prompts": v["prompts"],
                "paired_prompts": v["paired_prompts"],
            }
            for c, v in sorted(report["clusters"].items())
        ],
        "items": report["items"],
        "annotators": len(report["annotators"]),
        "annotator_agreement": {
            "min": rates[0] if rates else None,
            "median": statistics.median(rates) if rates else None,
        },
    }
