"""The dashboard's layout in headless Chromium, with realistic data served by a stand-in ops API.

Every text element of every chart is measured in the browser (``getBoundingClientRect``, written
into the DOM by a probe script and read back with ``--dump-dom``): no two may overlap and none may
leave its SVG. The live page against a real worker is covered by ``test_ops.py``.

``FLYWHEEL_REFRESH_SCREENSHOT=1`` also writes ``docs/dashboard.png`` from the same data.
"""

from __future__ import annotations

import asyncio
import html
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from services.dev.devstack import free_port
from streams.ops_http import STATIC
from tests.integration.harness import CHROMIUM, chromium

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium"),
]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "dashboard.png"
READ_TOKEN = "r3ad"
NOW = 1_795_000_000.0  # the samples' clock; the page shows times relative to the newest

# Written into the DOM once the page has refreshed twice: per SVG, its box and every text's box.
PROBE = """<script>
(() => {
  const timer = setInterval(() => {
    if (Number(document.body.dataset.refreshed || 0) < 2) return;
    clearInterval(timer);
    const box = r => ({x: r.left, y: r.top, w: r.width, h: r.height});
    const charts = [...document.querySelectorAll("svg")].map(svg => ({
      id: svg.id,
      box: box(svg.getBoundingClientRect()),
      texts: [...svg.querySelectorAll("text")].map(t => ({
        text: t.firstChild ? t.firstChild.nodeValue : "",
        tooltip: t.querySelector("title") ? t.querySelector("title").textContent : null,
        box: box(t.getBoundingClientRect()),
      })),
    }));
    const out = document.createElement("pre");
    out.id = "layout-probe";
    out.textContent = JSON.stringify({charts, title: document.title,
                                      height: document.documentElement.scrollHeight});
    document.body.appendChild(out);
  }, 100);
})();
</script>"""

REASONS = {
    "exact_duplicate": 1393,
    "near_duplicate": 309,
    "too_short": 136,
    "low_information": 79,
    "custom_policy_internal_hostname_mentioned": 61,
    "quota": 54,
    "user_flood": 35,
    "special_characters": 29,
    "gibberish": 27,
    "rate_limited": 19,
    "duplicate_event": 14,
    "url_only": 12,
    "language": 12,
    "blocklisted": 2,
    "mix": 0,
}
CLUSTER_WORDS = [
    "recipe dinner chicken vegetarian",
    "python error traceback pandas",
    "email draft polite manager",
    "story bedtime dragon children",
    "translate chinese english sentence",
    "resume interview cover letter",
    "workout plan beginner weekly",
    "sql query join postgres",
    "poem haiku autumn rain",
    "itinerary kyoto days budget",
    "explain quantum physics simply",
    "javascript react component state",
    "tax deduction freelance invoice",
    "garden tomato soil watering",
    "marketing slogan coffee brand",
    "summarize article bullet points",
    "chess opening beginner strategy",
    "linux bash script cron",
]

CLUSTER_IDS = (51, 3, 56, 12, 40, 22, 7, 33, 19, 5, 61, 28, 44, 9, 14, 38, 47, 0)
WEIGHTS = {"56": 0.5556, "42": 0.9091, "38": 0.9767, "0": 1.0374, "51": 1.0641}
WEIGHTS |= {c: 1.0204 for c in ("5", "34", "44", "47", "49")} | {"22": 1.0374, "57": 1.0374}
WEIGHTS |= {"8": 1.1, "17": 1.12}


# Clusters short of the target: the learned model's clusters above, and some the window misses
# altogether (two long labels, one cluster labelled by its number only).
GAP_WORDS = {
    **dict(zip(CLUSTER_IDS, CLUSTER_WORDS, strict=True)),
    25: "kubernetes deployment helm chart rollback",
    31: "wedding speech best man funny",
    62: "cluster 62",
}
GAP_DEFICITS = {25: 52, 31: 49, 62: 47, 0: 44, 47: 41, 38: 37, 14: 35, 9: 31, 44: 28}
GAP_DEFICITS |= {28: 24, 61: 19, 5: 15, 19: 12, 33: 8, 7: 5, 22: 3, 40: 1}
BALANCE_CLUSTERS = (0, 3, 5, 7, 9, 12, 14, 19, 22, 28, 33, 38, 40, 44, 51, 56)
# Krippendorff's alpha per cold-start cluster: one below chance, one not yet defined
ALPHAS = {3: 0.912, 7: 0.81, 12: 0.734, 19: 0.52, 22: -0.231, 33: None, 40: 0.688, 51: 0.95}


WAITING = "waiting for the first topic model learned from the accepted stream"


def gaps_payload(window: dict[int, int]) -> dict[str, Any]:
    """The gaps against a target set for the clusters short of it (``window``: accepted counts)."""
    clusters, total = [], sum(window.values())
    for c, deficit in GAP_DEFICITS.items():
        have = window.get(c, c % 3)
        words = [] if GAP_WORDS[c].startswith("cluster ") else GAP_WORDS[c].split()
        clusters.append(
            {
                "cluster": c,
                "label": GAP_WORDS[c],
                "words": words,
                "target_share": round((have + deficit) / max(total, 1), 4),
                "share": round(have / max(total, 1), 4),
                "deficit": deficit,
                "real": have - have // 5,
                "synthetic": have // 5,
                "synthetic_room": min(deficit, 12),
            }
        )
    return {
        "topics_version": "learned-3f9a1c07be42",
        "target": "set",
        "shares": {str(x["cluster"]): x["target_share"] for x in clusters},
        "total": total,
        "distance": 0.2317,
        "entropy_bits": 3.9448,
        "max_entropy_bits": 6.0,
        "min_window": 200,
        "interval_s": 300.0,
        "last_published": {"round": 3, "at": time.time() - 150, "gaps": len(clusters)},
        "clusters": clusters,
    }


def origin(decided: int, duplicates: int, pos: int, neg: int, accepted: int) -> dict[str, Any]:
    return {
        "accepted": accepted,
        "decided": decided,
        "duplicates": duplicates,
        "duplicate_rate": round(duplicates / decided, 4) if decided else None,
        "votes_pos": pos,
        "votes_neg": neg,
        "acceptance": round(pos / (pos + neg), 4) if pos + neg else None,
    }


def balance_payload(window: dict[int, int]) -> list[dict[str, Any]]:
    """Per cluster, synthetic beside real (``window``: accepted counts)."""
    rows = []
    for k, c in enumerate(BALANCE_CLUSTERS):
        syn = window[c] // 6
        real = origin(180 - 9 * k, 14 + k % 5, 21 - k, 3 + k % 4, window[c] - syn)
        if k == 4:  # synthetic prompts voted on but none decided in the window
            synthetic = origin(0, 0, 30, 9, syn)
        elif k == 6:  # decided, not voted on yet
            synthetic = origin(34, 5, 0, 0, syn)
        else:  # a generator repeating itself in some clusters
            synthetic = origin(40 - 2 * k, 2 + (k * 7) % 11, 6 + k % 5, 2 + k % 6, syn)
        rows.append({"cluster": c, "label": GAP_WORDS[c], "real": real, "synthetic": synthetic})
    return rows


def agreement_payload() -> dict[str, Any]:
    return {
        "measure": "krippendorff_alpha_nominal",
        "mode": "agreed",
        "agree_min": 0.66,
        "max_rounds": 2,
        "alpha": 0.7134,
        "chance_agreement": 0.5812,
        "clusters": [
            {
                "cluster": c,
                "label": GAP_WORDS[c],
                "alpha": alpha,
                "prompts": 40 - 3 * k,
                "paired_prompts": 1 if alpha is None else 31 - 3 * k,
            }
            for k, (c, alpha) in enumerate(sorted(ALPHAS.items()))
        ],
        "items": {"voted": 412, "agreed": 351, "open": 38, "unresolved": 9, "sent_back": 47},
        "annotators": 7,
        "annotator_agreement": {"min": 0.4615, "median": 0.8333},
    }


def lag_payload() -> dict[str, Any]:
    names = [f"chat.events[{p}]" for p in range(4)] + [f"flywheel.curate[{p}]" for p in range(4)]
    history = []
    for i in range(150):  # 5 minutes, one sample every 2 s: a backlog that drains with bursts
        t = NOW - 2 * (149 - i)
        row = {}
        for j, name in enumerate(names):
            if name.startswith("chat"):
                backlog = max(0.0, 420 - 40 * j - 4.2 * max(0, i - 60))
                m = int(backlog + 30 * abs(math.sin(i / 5 + j)) * (i > 60) * (backlog > 0))
            else:
                m = int(25 * max(0.0, math.sin(i / 7 + j)) ** 3) if i > 60 else 0
            row[name] = [m, round(m / 14.0, 1)]
        history.append({"t": t, "partitions": row})
    partitions = [
        {
            "topic": name.split("[")[0],
            "partition": int(name[-2]),
            "end": 620 + 13 * k,
            "committed": 620 + 13 * k,
            "lag": 0,
            "lag_s": 0.0,
            "lag_s_exact": True,
            "stuck_s": 0.0,
            "status": "OK",
        }
        for k, name in enumerate(names)
    ]
    return {
        "group": "flywheel",
        "status": "OK",
        "error": None,
        "polled_at": NOW,
        "partitions": partitions,
        "history": history,
    }


def stats_payload(call: int, variant: str = "learned") -> dict[str, Any]:
    """``learned``: a learned topic model; ``cold``: the cold-start model (the agreement panel
    then names clusters by their words); ``old``: a server from before gaps, the synthetic
    balance and agreement; ``empty``: those three with nothing in them yet."""
    accepted = 1379
    clusters = [
        {"cluster": c, "label": words, "accepted": max(3, 136 - 8 * k - k * k // 3), "weight": None}
        for k, (c, words) in enumerate(zip(CLUSTER_IDS, CLUSTER_WORDS, strict=True))
    ]
    window = sum(x["accepted"] for x in clusters)
    sizes = {"en:0": 512, "en:1": 431, "en:2": 297, "zh:0": 88, "zh:1": 51}
    learned = variant != "cold"
    stats = {
        "workers": ["worker-0", "worker-1"],
        "inputs": {},
        "outputs": {},
        "accepted": accepted,
        "rejected": REASONS,
        "dlq": 3,
        "index_sizes": sizes,
        "coverage": {"indexes": 5, "entropy_bits": 2.0411, "max_entropy_bits": 2.3219},
        "throughput": round(35 + 6 * math.sin(call), 2),
        "diversity": {
            "topics_version": "learned-3f9a1c07be42" if learned else "v1",
            "topics_learned": learned,
            "window_s": 3600,
            "accepted": window,
            "synthetic_share": 0.153,
            "clusters_covered": len(clusters),
            "clusters_total": 64,
            "entropy_bits": 3.9448,
            "max_entropy_bits": 6.0,
            "clusters": clusters,
            "weights": WEIGHTS,
            "votes": {"positive": 49, "negative": 11},
            "blocklist_vectors": 2,
        },
    }
    counts = {x["cluster"]: x["accepted"] for x in clusters}
    if variant in ("learned", "cold"):
        stats["diversity"] |= {
            "gaps": gaps_payload(counts) | {"waiting": None if learned else WAITING},
            "synthetic_balance": balance_payload(counts),
            "agreement": agreement_payload(),
        }
    elif variant == "empty":
        gaps = gaps_payload({}) | {"clusters": [], "distance": 0.0, "last_published": None}
        gaps |= {"entropy_bits": 0.0}
        agreement = agreement_payload() | {"alpha": None, "chance_agreement": None}
        agreement |= {"clusters": [], "annotators": 0}
        agreement["annotator_agreement"] = {"min": None, "median": None}
        agreement["items"] = dict.fromkeys(agreement["items"], 0)
        stats["diversity"] |= {"gaps": gaps, "synthetic_balance": [], "agreement": agreement}
    return stats


RECENT = [
    {"text": "<img src=x id=injected onerror=alert(1)>", "lang": "en"},
    {
        "text": "Plan a three-day itinerary in Kyoto on a budget, with temples and food",
        "lang": "en",
    },
    {
        "text": "Why does pandas raise SettingWithCopyWarning when I filter and assign?",
        "lang": "en",
    },
    {"text": "¿Cómo preparo una tortilla de patatas jugosa sin que se rompa?", "lang": "es"},
    {"text": "Write a bedtime story about a shy dragon who learns to share", "lang": "en"},
    {"text": "A vegetarian dinner recipe with chickpeas that takes 30 minutes", "lang": "en"},
]


def stand_in_app() -> web.Application:
    page = (STATIC / "dashboard.html").read_text()
    calls = {"stats": 0}

    async def index(request: web.Request) -> web.Response:
        body = page.replace("</body>", PROBE + "</body>") if "probe" in request.query else page
        return web.Response(text=body, content_type="text/html")

    async def lag(request: web.Request) -> web.Response:
        return web.json_response(lag_payload())

    async def stats(request: web.Request) -> web.Response:
        calls["stats"] += 1
        variant = request.match_info.get("variant", "learned")
        return web.json_response(stats_payload(calls["stats"], variant))

    async def recent(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {READ_TOKEN}":
            return web.json_response({"error": "read token required"}, status=401)
        return web.json_response(RECENT)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/api/lag", lag)
    app.router.add_get("/api/stats", stats)
    app.router.add_get("/api/recent", recent)
    for variant in ("cold", "old", "empty"):  # the page's relative URLs stay under its path
        app.router.add_get(f"/{{variant:{variant}}}/", index)
        app.router.add_get(f"/{{variant:{variant}}}/api/lag", lag)
        app.router.add_get(f"/{{variant:{variant}}}/api/stats", stats)
        app.router.add_get(f"/{{variant:{variant}}}/api/recent", recent)
    return app


def probe(base: str, width: int, fragment: str = "", path: str = "/") -> tuple[dict[str, Any], str]:
    dom = chromium(f"{base}{path}?probe=1{fragment}", f"--window-size={width},1200", "--dump-dom")
    m = re.search(r'<pre id="layout-probe">(.*?)</pre>', dom, re.S)
    assert m, dom[:3000]
    return json.loads(html.unescape(m.group(1))), dom


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    dx = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    dy = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    return dx > 0.5 and dy > 0.5


def layout_problems(layout: dict[str, Any]) -> list[str]:
    problems = []
    for chart in layout["charts"]:
        s, texts = chart["box"], [t for t in chart["texts"] if t["text"]]
        for t in texts:
            b = t["box"]
            inside = (
                b["x"] >= s["x"] - 0.5
                and b["y"] >= s["y"] - 0.5
                and b["x"] + b["w"] <= s["x"] + s["w"] + 0.5
                and b["y"] + b["h"] <= s["y"] + s["h"] + 0.5
            )
            if not inside:
                problems.append(f"{chart['id']}: {t['text']!r} {b} leaves the chart {s}")
        for i, t in enumerate(texts):
            for u in texts[i + 1 :]:
                if overlap(t["box"], u["box"]):
                    problems.append(f"{chart['id']}: {t['text']!r} overlaps {u['text']!r}")
    return problems


def texts(layout: dict[str, Any], chart: str) -> list[str]:
    (found,) = [c for c in layout["charts"] if c["id"] == chart]
    return [t["text"] for t in found["texts"]]


def bars(dom: str, chart: str) -> list[str]:
    """The ``data-label`` of every bar of a chart, in order."""
    m = re.search(rf'<svg id="{chart}" data-points="(\d+)"[^>]*>(.*?)</svg>', dom, re.S)
    assert m, chart
    return [html.unescape(x) for x in re.findall(r'<rect [^>]*data-label="([^"]*)"', m.group(2))]


def note(dom: str, element: str) -> str:
    m = re.search(rf'id="{element}"[^>]*>(.*?)</', dom, re.S)
    assert m, element
    return html.unescape(m.group(1))


def drawing_errors(dom: str) -> list[str]:
    """The notes of panels that failed to draw (shown instead of their note)."""
    notes = [note(dom, f"{x}-note") for x in ("gaps", "balance", "agreement")]
    return [n for n in notes if n.startswith("could not draw")]


def points(dom: str, chart: str) -> int:
    m = re.search(rf'<svg id="{chart}" data-points="(\d+)"', dom)
    assert m, chart
    return int(m.group(1))


async def test_dashboard_labels_are_whole_apart_and_inside_their_charts(tmp_path):
    port = free_port()
    runner = web.AppRunner(stand_in_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    try:
        wide, dom = await loop.run_in_executor(None, probe, base, 1400, f"#token={READ_TOKEN}")
        narrow, locked = await loop.run_in_executor(None, probe, base, 1000, "", "/cold/")
        old, old_dom = await loop.run_in_executor(None, probe, base, 1400, "", "/old/")
        empty, empty_dom = await loop.run_in_executor(None, probe, base, 1000, "", "/empty/")
        height = wide["height"] + 20
        shot = tmp_path / "dashboard.png"
        await loop.run_in_executor(
            None,
            lambda: chromium(
                f"{base}/#token={READ_TOKEN}",
                f"--window-size=1400,{height}",
                "--hide-scrollbars",
                f"--screenshot={shot}",
            ),
        )
    finally:
        await runner.cleanup()

    for layout in (wide, narrow, old, empty):
        assert layout_problems(layout) == []
    # the whole labels at full width: every reason, every cluster by its words and number
    outcomes, clusters = texts(wide, "outcomes"), texts(wide, "clusters")
    assert {"accepted", "dead-letter queue", *REASONS} <= set(outcomes)
    assert any(t.startswith("1393 (") and t.endswith(" %)") for t in outcomes)
    assert f"{CLUSTER_WORDS[0]} (#51)" in clusters and f"{CLUSTER_WORDS[14]} (#14)" in clusters
    assert not any(t.startswith(CLUSTER_WORDS[15]) for t in clusters)  # 15 rows, the rest counted
    assert "3 more clusters" in dom
    # time axes with units
    for chart, unit in (
        ("lag-msgs", "messages"),
        ("lag-secs", "seconds"),
        ("throughput", "events/s"),
    ):
        labels = texts(wide, chart)
        assert unit in labels and "now" in labels, (chart, labels)
    assert {"-1 min", "-4 min"} <= set(texts(wide, "lag-msgs"))
    assert wide["title"] == "Flywheel · flywheel · OK"
    # text nodes only, and the prompts only with the read token
    assert 'id="injected"' not in dom and "&lt;img src=x" in dom
    assert 'id="recent" data-items="6"' in dom
    assert 'id="recent" data-items="0"' in locked and "Kyoto on a budget" not in locked

    # coverage gaps: the 15 largest deficits, named by their words, the publication in the note
    gaps = texts(wide, "gaps")
    assert points(dom, "gaps") == 15 and len(bars(dom, "gaps")) == 15
    assert f"{GAP_WORDS[25]} (#25)" in gaps and "cluster #62" in gaps
    assert f"{CLUSTER_WORDS[0]} (#51)" not in gaps  # no deficit
    assert any(t.startswith("52 (") for t in gaps)
    gaps_note = note(dom, "gaps-note")
    assert "17 clusters below target, 2 smaller gaps not shown" in gaps_note
    assert "distance to it 0.232" in gaps_note and "entropy 3.94 of 6.00 bits" in gaps_note
    assert "round 3, 2 min ago (17 gaps); every 300 s." in gaps_note
    assert f"not publishing now: {WAITING}" in note(locked, "gaps-note")  # the cold start
    # synthetic vs real: two bars a cluster (one n/a), 12 of the 16 clusters, in cluster order
    for chart in ("balance-dups", "balance-votes"):
        labels = texts(wide, chart)
        assert points(dom, chart) == 12
        assert labels.count("n/a") == 1 and labels.count(f"{GAP_WORDS[9]} (#9)") == 1
        assert f"{GAP_WORDS[56]} (#56)" not in labels  # the fewest synthetic decided and voted
        assert len(bars(dom, chart)) == 2 * 12 - 1
    assert any(re.fullmatch(r"\d+\.\d % of \d+", t) for t in texts(wide, "balance-dups"))
    assert any(re.fullmatch(r"\d+ % of \d+", t) for t in texts(wide, "balance-votes"))
    balance_note = note(dom, "balance-note")
    assert "16 clusters with synthetic prompts, the 12 with the most" in balance_note
    assert "a generator that repeats itself shows a higher synthetic duplicate rate" in balance_note
    assert ">■ real<" in dom and ">■ synthetic<" in dom
    # agreement: a learned model names cold-start clusters by number, a cold-start one by words
    agreement = texts(wide, "agreement")
    assert (
        points(dom, "agreement") == len(ALPHAS) and len(bars(dom, "agreement")) == len(ALPHAS) - 1
    )
    assert "cold-start cluster #22" in agreement
    assert any(t.startswith("-0.23 (") for t in agreement)
    assert any(t.startswith("n/a (") for t in agreement)
    assert f"{GAP_WORDS[22]} (#22)" in texts(narrow, "agreement")
    agreement_note = note(dom, "agreement-note")
    assert "alpha 0.713 overall, chance agreement 58.1 %" in agreement_note
    assert "Bars from -0.3 to 1" in agreement_note
    assert "412 voted, 351 agreed, 38 open, 9 unresolved, 47 sent back" in agreement_note
    assert "7 annotators" in agreement_note and "min 46 %, median 83 %" in agreement_note
    for page in (dom, locked):
        assert not drawing_errors(page)
    # an older server without those fields, and a new one with nothing in them yet
    for page, what in ((old_dom, "old"), (empty_dom, "empty")):
        assert note(page, "updated").startswith("updated "), what
        assert not drawing_errors(page), what
        assert "3 more clusters" in page, what  # the rest of the page as before
        for chart in ("gaps", "agreement", "balance-dups", "balance-votes"):
            assert points(page, chart) == 0 and bars(page, chart) == [], (what, chart)
    assert "no data yet: this ops server does not report coverage gaps" in old_dom
    assert "no data yet: this ops server does not report the synthetic balance" in old_dom
    assert "no data yet: this ops server does not report annotator agreement" in old_dom
    assert note(empty_dom, "gaps-note").startswith("no data yet: no prompts in the window.")
    assert "not published yet" in note(empty_dom, "gaps-note")
    assert note(empty_dom, "agreement-note").startswith("no data yet: no votes. alpha n/a")
    assert texts(empty, "gaps") == ["no data yet"] and texts(empty, "agreement") == ["no data yet"]
    assert note(empty_dom, "balance-note").startswith("no data yet: no synthetic prompts")

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    if os.environ.get("FLYWHEEL_REFRESH_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
