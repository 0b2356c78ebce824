"""Annotator agreement: how much annotators agree, per topic cluster and per annotator, and the
three ways their votes can count towards the cluster weights.

The measure is Krippendorff's alpha for nominal data (docs/feedback.md#annotator-agreement): it
takes any number of annotators per prompt, prompts some annotators never saw, and the same
formula for one cluster and for everything. Alpha comes from the *coincidence* counts of the
two classes: a prompt with ``m >= 2`` votes, ``n_p`` positive and ``n_n`` negative, adds
``n_p(n_p - 1)/(m - 1)`` to ``o_pp``, ``n_n(n_n - 1)/(m - 1)`` to ``o_nn`` and
``n_p n_n/(m - 1)`` to ``o_pn``; then ``alpha = 1 - (n - 1) o_pn / (n_p n_n)`` with the pairable
marginals ``n_p = o_pp + o_pn``, ``n_n = o_nn + o_pn`` and ``n = n_p + n_n``.

Everything here is a function of a prompt's tally ``(n_p, n_n)``. The feedback store
(``services/pipeline/feedback.py``) keeps, per v1 cluster and for ``all``, how many prompts have
each tally (``<ns>:fb:hist``, fields ``<group>:<n_p>:<n_n>``), so alpha and the votes of every
mode are exact integer sums read in O(clusters x tallies), and a new ``feedback_agree_min``
applies to the past at once. Per annotator it keeps the votes, the co-annotator pairs and the
agreeing pairs (``<ns>:fb:annotators``); the per-annotator kappa corrects the observed
agreement by the chance agreement of the pooled class marginals (Fleiss' chance term).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import redis.asyncio as aioredis

from services.keys import Keys, text

Mode = Literal["all", "agreed", "weighted"]
MODES: tuple[Mode, ...] = ("all", "agreed", "weighted")
POS, NEG = "pos", "neg"
ALL = "all"
ITEM_STATES = ("agreed", "review", "unresolved")
Tally = tuple[int, int]  # (positive votes, negative votes) of one prompt


def is_agreed(n_pos: int, n_neg: int, agree_min: float) -> bool:
    """A prompt's annotators agree when its majority holds at least ``agree_min`` of its votes
    (one annotator alone agrees with itself; ``agree_min > 0.5``, so a tie never agrees). The
    Lua script of the feedback store makes the same comparison."""
    m = n_pos + n_neg
    return m > 0 and max(n_pos, n_neg) >= agree_min * m


def pairwise_agreement(n_pos: int, n_neg: int) -> float:
    """Share of a prompt's ordered annotator pairs that agree (1 for a single vote)."""
    m = n_pos + n_neg
    if m <= 1:
        return 1.0
    return (n_pos * (n_pos - 1) + n_neg * (n_neg - 1)) / (m * (m - 1))


def mode_votes(n_pos: int, n_neg: int, mode: Mode, agree_min: float) -> tuple[float, float]:
    """What one prompt adds to its cluster's (positive, negative) counts in ``mode``:

    - ``all``: every vote;
    - ``agreed``: 1 for the majority class when the annotators agree, else nothing;
    - ``weighted``: every vote times the prompt's pairwise agreement."""
    if mode == "all":
        return float(n_pos), float(n_neg)
    if mode == "agreed":
        if not is_agreed(n_pos, n_neg, agree_min):
            return 0.0, 0.0
        return (1.0, 0.0) if n_pos > n_neg else (0.0, 1.0)
    w = pairwise_agreement(n_pos, n_neg)
    return w * n_pos, w * n_neg


@dataclass(frozen=True)
class Coincidences:
    """Krippendorff's coincidence counts of the two classes (``o_pn`` is one off-diagonal cell)."""

    pp: float = 0.0
    nn: float = 0.0
    pn: float = 0.0

    @classmethod
    def of(cls, tallies: Mapping[Tally, int]) -> Coincidences:
        """From ``{(n_pos, n_neg): prompts with that tally}``; prompts with one vote add nothing."""
        pp = nn = pn = 0.0
        for (p, n), items in tallies.items():
            m = p + n
            if m < 2 or items <= 0:
                continue
            pp += items * p * (p - 1) / (m - 1)
            nn += items * n * (n - 1) / (m - 1)
            pn += items * p * n / (m - 1)
        return cls(pp, nn, pn)

    @property
    def pairable(self) -> float:
        """``n``: the votes that have a co-annotator."""
        return self.pp + self.nn + 2 * self.pn

    @property
    def alpha(self) -> float | None:
        """Krippendorff's alpha (nominal); ``None`` when undefined (fewer than two pairable
        votes, or one class only: no disagreement is expected, so none can be measured)."""
        n_p, n_n = self.pp + self.pn, self.nn + self.pn
        n = n_p + n_n
        if n <= 1 or n_p * n_n == 0:
            return None
        return 1.0 - (n - 1) * self.pn / (n_p * n_n)

    @property
    def positive_share(self) -> float | None:
        """The pooled positive share of the pairable votes (the chance term of kappa)."""
        n = self.pairable
        return None if n == 0 else (self.pp + self.pn) / n


def kappa(observed: float, positive_share: float | None) -> float | None:
    """Chance-corrected agreement: ``(p_o - p_e) / (1 - p_e)`` with Fleiss' chance term
    ``p_e = p^2 + (1 - p)^2`` of the pooled positive share ``p``; ``None`` when ``p_e = 1``."""
    if positive_share is None:
        return None
    pe = positive_share**2 + (1 - positive_share) ** 2
    if pe >= 1.0:
        return None
    return (observed - pe) / (1.0 - pe)


def mode_counts(tallies: Mapping[Tally, int], mode: Mode, agree_min: float) -> tuple[float, float]:
    """A cluster's (positive, negative) counts in ``mode`` from its tally histogram."""
    pos = neg = 0.0
    for (p, n), items in tallies.items():
        dp, dn = mode_votes(p, n, mode, agree_min)
        pos += items * dp
        neg += items * dn
    return pos, neg


def parse_histogram(raw: Mapping[bytes | str, bytes | str]) -> dict[str, Counter[Tally]]:
    """``<ns>:fb:hist`` -> ``{group: {(n_pos, n_neg): prompts}}`` (group = cluster or ``all``)."""
    out: dict[str, Counter[Tally]] = {}
    for k, v in raw.items():
        group, p, n = text(k).rsplit(":", 2)
        out.setdefault(group, Counter())[(int(p), int(n))] += int(v)
    return out


def histogram(tallies: Iterable[tuple[int | str, Tally]]) -> dict[str, Counter[Tally]]:
    """The histogram of ``(cluster, tally)`` pairs, with the ``all`` group (brute force and
    bench: what the store maintains incrementally)."""
    out: dict[str, Counter[Tally]] = {ALL: Counter()}
    for cluster, tally in tallies:
        if sum(tally) == 0:
            continue
        out.setdefault(str(cluster), Counter())[tally] += 1
        out[ALL][tally] += 1
    return out


@dataclass(frozen=True)
class AnnotatorTally:
    votes: int = 0
    pairs: int = 0  # co-annotator pairs over the annotator's prompts
    agreements: int = 0  # of them, pairs where the co-annotator voted the same class


def parse_annotators(raw: Mapping[bytes | str, bytes | str]) -> dict[str, AnnotatorTally]:
    """``<ns>:fb:annotators`` (fields ``votes:<a>``, ``pairs:<a>``, ``agree:<a>``)."""
    acc: dict[str, dict[str, int]] = {}
    for k, v in raw.items():
        kind, _, who = text(k).partition(":")
        acc.setdefault(who, {})[kind] = int(v)
    return {
        who: AnnotatorTally(d.get("votes", 0), d.get("pairs", 0), d.get("agree", 0))
        for who, d in acc.items()
    }


def annotator_stats(
    tallies: Mapping[str, AnnotatorTally], positive_share: float | None
) -> dict[str, dict[str, float | int | None]]:
    out: dict[str, dict[str, float | int | None]] = {}
    for who, t in sorted(tallies.items()):
        observed = t.agreements / t.pairs if t.pairs else None
        out[who] = {
            "votes": t.votes,
            "pairs": t.pairs,
            "agreements": t.agreements,
            "agreement": None if observed is None else round(observed, 4),
            "kappa": None if observed is None else _round(kappa(observed, positive_share)),
        }
    return out


async def agreement_report(redis: aioredis.Redis, namespace: str) -> dict:
    """Agreement of the namespace's annotators, for the ops read model and the metrics.

    ``{"measure", "mode", "agree_min", "max_rounds", "alpha": {"global", "clusters": {c: a}},
    "clusters": {c: {"alpha", "prompts", "paired_prompts", "votes": {mode: {"pos", "neg"}}}},
    "chance_agreement", "annotators": {a: {"votes", "pairs", "agreements", "agreement",
    "kappa"}}, "items": {"voted", "agreed", "open", "unresolved", "sent_back"}}``; alpha and
    kappa are ``None`` where undefined. Reads four hashes: O(clusters x tallies + annotators)."""
    keys = Keys(namespace)
    async with redis.pipeline(transaction=False) as pipe:
        pipe.hgetall(keys.fb_hist)
        pipe.hgetall(keys.fb_annotators)
        pipe.hgetall(keys.fb_agreement)
        hist_raw, ann_raw, state_raw = await pipe.execute()
    state = {text(k): text(v) for k, v in state_raw.items()}
    mode = state.get("mode", "agreed")
    agree_min = float(state.get("agree_min", 0.66))
    hist = parse_histogram(hist_raw)
    glob = Coincidences.of(hist.get(ALL, {}))
    clusters: dict[int, dict] = {}
    for group, tallies in sorted(hist.items()):
        if group == ALL:
            continue
        co = Coincidences.of(tallies)
        votes = {}
        for m in MODES:
            pos, neg = mode_counts(tallies, m, agree_min)
            votes[m] = {"pos": round(pos, 4), "neg": round(neg, 4)}
        clusters[int(group)] = {
            "alpha": _round(co.alpha),
            "prompts": sum(tallies.values()),
            "paired_prompts": sum(k for (p, n), k in tallies.items() if p + n >= 2),
            "votes": votes,
        }
    share = glob.positive_share
    chance = None if share is None else share**2 + (1 - share) ** 2
    items = {s: int(state.get(f"items:{s}", 0)) for s in ITEM_STATES}
    return {
        "measure": "krippendorff_alpha_nominal",
        "mode": mode,
        "agree_min": agree_min,
        "max_rounds": int(state.get("max_rounds", 1)),
        "alpha": {
            "global": _round(glob.alpha),
            "clusters": {c: v["alpha"] for c, v in clusters.items()},
        },
        "clusters": clusters,
        "chance_agreement": _round(chance),
        "annotators": annotator_stats(parse_annotators(ann_raw), share),
        "items": {
            "voted": sum(items.values()),
            "agreed": items["agreed"],
            "open": items["review"],
            "unresolved": items["unresolved"],
            "sent_back": int(state.get("review_requests", 0)),
        },
    }


def bias_field(tag: str, cluster: int, synthetic: bool) -> str:
    """Prefix of the ``<ns>:fb:bias`` fields of one prompt (``:pos`` / ``:neg`` follow)."""
    return f"t:{tag or 'v1'}:{cluster}:{'syn' if synthetic else 'real'}"


async def annotator_bias(redis: aioredis.Redis, namespace: str, tag: str) -> dict[int, dict]:
    """Annotators' classes per topic cluster of model ``tag`` (``""`` or ``"v1"``: the v1
    centroids) and origin: ``{cluster: {"real": {"pos", "neg"}, "synthetic": {"pos", "neg"}}}``.
    A prompt's votes count under the model that was current at its first vote."""
    prefix = f"t:{tag or 'v1'}:"
    out: dict[int, dict] = {}
    for k, v in (await redis.hgetall(Keys(namespace).fb_bias)).items():
        name = text(k)
        if not name.startswith(prefix):
            continue
        cluster, origin, cls = name[len(prefix) :].split(":")
        row = out.setdefault(
            int(cluster), {"real": {POS: 0, NEG: 0}, "synthetic": {POS: 0, NEG: 0}}
        )
        row["synthetic" if origin == "syn" else "real"][cls] = int(v)
    return dict(sorted(out.items()))


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
