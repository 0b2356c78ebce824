"""Annotator agreement: Krippendorff's alpha, per-annotator kappa and the three vote modes,
against hand-computed examples and a brute-force reference over random vote sets."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from services.diversity.agreement import (
    Coincidences,
    annotator_stats,
    histogram,
    is_agreed,
    kappa,
    mode_counts,
    mode_votes,
    pairwise_agreement,
    parse_annotators,
    parse_histogram,
)

Votes = dict[str, str]  # annotator -> "pos" / "neg", one prompt


def reference_alpha(units: list[Votes]) -> float | None:
    """Krippendorff's alpha (nominal) from its definition: every ordered pair of values within a
    unit adds 1/(m_u - 1) to the coincidence of its two values."""
    o: Counter[tuple[str, str]] = Counter()
    for unit in units:
        vals = list(unit.values())
        m = len(vals)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            o[(vals[i], vals[j])] += 1 / (m - 1)
    n_c = Counter[str]()
    for (c, _), v in o.items():
        n_c[c] += v
    n = sum(n_c.values())
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if n <= 1 or expected == 0:
        return None
    observed = sum(v for (c, k), v in o.items() if c != k)
    return 1 - (n - 1) * observed / expected


def reference_annotators(units: list[Votes]) -> dict[str, tuple[int, int, int]]:
    """annotator -> (votes, co-annotator pairs, agreeing pairs), by enumeration."""
    out: dict[str, list[int]] = {}
    for unit in units:
        for a, va in unit.items():
            row = out.setdefault(a, [0, 0, 0])
            row[0] += 1
            for b, vb in unit.items():
                if a != b:
                    row[1] += 1
                    row[2] += va == vb
    return {a: (v, p, g) for a, (v, p, g) in out.items()}


def tally(unit: Votes) -> tuple[int, int]:
    pos = sum(v == "pos" for v in unit.values())
    return pos, len(unit) - pos


def random_units(rng: random.Random, n: int, annotators: int = 5) -> list[Votes]:
    names = [f"a{i}" for i in range(annotators)]
    return [
        {a: rng.choice(("pos", "neg")) for a in rng.sample(names, rng.randint(1, annotators))}
        for _ in range(n)
    ]


def test_alpha_by_hand():
    # (2 pos), (1 pos 1 neg), (2 pos 1 neg): o_pp = 2 + 1, o_pn = 1 + 1, o_nn = 0
    co = Coincidences.of({(2, 0): 1, (1, 1): 1, (2, 1): 1})
    assert (co.pp, co.nn, co.pn) == pytest.approx((3.0, 0.0, 2.0))
    # n_p = 5, n_n = 2, n = 7: alpha = 1 - 6 * 2 / (5 * 2)
    assert co.alpha == pytest.approx(-0.2)
    assert Coincidences.of({(2, 0): 3, (0, 2): 2}).alpha == pytest.approx(1.0)
    assert Coincidences.of({(1, 1): 4}).alpha == pytest.approx(1 - 7 * 4 / 16)
    assert Coincidences.of({(3, 0): 5}).alpha is None  # one class only: undefined
    assert Coincidences.of({(1, 0): 9, (0, 1): 9}).alpha is None  # nothing pairable


@pytest.mark.parametrize("seed", range(20))
def test_alpha_matches_the_definition_on_random_votes(seed):
    rng = random.Random(seed)
    units = random_units(rng, rng.randint(1, 40))
    co = Coincidences.of(Counter(tally(u) for u in units))
    want = reference_alpha(units)
    if want is None:
        assert co.alpha is None
    else:
        assert co.alpha == pytest.approx(want)


def test_alpha_is_one_formula_for_a_cluster_and_all():
    rng = random.Random(7)
    units = random_units(rng, 60)
    clusters = [rng.randrange(3) for _ in units]
    hist = histogram((c, tally(u)) for c, u in zip(clusters, units, strict=True))
    for c in range(3):
        mine = [u for u, k in zip(units, clusters, strict=True) if k == c]
        assert Coincidences.of(hist[str(c)]).alpha == pytest.approx(reference_alpha(mine))
    assert Coincidences.of(hist["all"]).alpha == pytest.approx(reference_alpha(units))


def test_kappa_by_hand():
    assert kappa(0.75, 0.5) == pytest.approx(0.5)  # p_e = 0.5
    assert kappa(1.0, 0.8) == pytest.approx(1.0)
    assert kappa(0.68, 0.8) == pytest.approx(0.0)  # p_e = 0.64 + 0.04 = 0.68: chance level
    assert kappa(0.5, 1.0) is None and kappa(0.5, None) is None


@pytest.mark.parametrize("seed", range(10))
def test_annotator_stats_match_enumeration(seed):
    rng = random.Random(seed)
    units = random_units(rng, 30)
    ref = reference_annotators(units)
    raw = {}
    for a, (v, p, g) in ref.items():
        raw.update({f"votes:{a}": str(v), f"pairs:{a}": str(p), f"agree:{a}": str(g)})
    co = Coincidences.of(Counter(tally(u) for u in units))
    stats = annotator_stats(parse_annotators(raw), co.positive_share)
    for a, (v, p, g) in ref.items():
        assert (stats[a]["votes"], stats[a]["pairs"], stats[a]["agreements"]) == (v, p, g)
        if p:
            assert stats[a]["agreement"] == pytest.approx(g / p, abs=1e-4)
            share = co.positive_share
            assert share is not None
            pe = share**2 + (1 - share) ** 2
            assert stats[a]["kappa"] == pytest.approx((g / p - pe) / (1 - pe), abs=1e-4)
        else:
            assert stats[a]["agreement"] is None and stats[a]["kappa"] is None


def test_annotator_names_may_hold_colons():
    got = parse_annotators({b"votes:a:b": b"2", b"pairs:a:b": b"1", b"agree:a:b": b"1"})
    assert got["a:b"].votes == 2 and got["a:b"].agreements == 1


def test_modes_per_prompt():
    assert is_agreed(1, 0, 0.66) and is_agreed(2, 1, 0.66) and not is_agreed(1, 1, 0.66)
    assert not is_agreed(2, 1, 0.75) and is_agreed(3, 1, 0.75) and not is_agreed(0, 0, 0.66)
    assert mode_votes(2, 1, "all", 0.66) == (2, 1)
    assert mode_votes(2, 1, "agreed", 0.66) == (1, 0)
    assert mode_votes(1, 2, "agreed", 0.66) == (0, 1)
    assert mode_votes(1, 1, "agreed", 0.66) == (0, 0)
    assert mode_votes(0, 1, "agreed", 0.66) == (0, 1)  # one annotator alone agrees
    assert pairwise_agreement(2, 1) == pytest.approx(1 / 3)
    assert pairwise_agreement(1, 0) == 1.0 and pairwise_agreement(2, 0) == 1.0
    assert mode_votes(2, 1, "weighted", 0.66) == pytest.approx((2 / 3, 1 / 3))
    assert mode_votes(1, 1, "weighted", 0.66) == (0, 0)


@pytest.mark.parametrize("mode", ["all", "agreed", "weighted"])
def test_mode_counts_sum_the_prompts(mode):
    rng = random.Random(3)
    units = random_units(rng, 50)
    hist = Counter(tally(u) for u in units)
    want = [mode_votes(*tally(u), mode, 0.66) for u in units]  # type: ignore[arg-type]
    pos, neg = mode_counts(hist, mode, 0.66)  # type: ignore[arg-type]
    assert pos == pytest.approx(sum(w[0] for w in want))
    assert neg == pytest.approx(sum(w[1] for w in want))


def test_histogram_fields_round_trip():
    raw = {b"3:2:1": b"4", b"all:2:1": b"4", b"-1:0:1": b"2", b"all:0:1": b"2"}
    hist = parse_histogram(raw)
    assert hist == {"3": {(2, 1): 4}, "all": {(2, 1): 4, (0, 1): 2}, "-1": {(0, 1): 2}}
