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
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from services.dev.devstack import free_port
from streams.ops_http import STATIC
from tests.integration.test_ops import CHROME_FLAGS, CHROMIUM

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


def stats_payload(call: int) -> dict[str, Any]:
    accepted = 1379
    clusters = [
        {"cluster": c, "label": words, "accepted": max(3, 136 - 8 * k - k * k // 3), "weight": None}
        for k, (c, words) in enumerate(zip(CLUSTER_IDS, CLUSTER_WORDS, strict=True))
    ]
    window = sum(x["accepted"] for x in clusters)
    sizes = {"en:0": 512, "en:1": 431, "en:2": 297, "zh:0": 88, "zh:1": 51}
    return {
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
            "topics_version": "learned-3f9a1c07be42",
            "topics_learned": True,
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
        return web.json_response(stats_payload(calls["stats"]))

    async def recent(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {READ_TOKEN}":
            return web.json_response({"error": "read token required"}, status=401)
        return web.json_response(RECENT)

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/api/lag", lag)
    app.router.add_get("/api/stats", stats)
    app.router.add_get("/api/recent", recent)
    return app


def chromium(url: str, *args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                CHROMIUM or "chromium",
                *CHROME_FLAGS,
                f"--user-data-dir={profile}",
                "--virtual-time-budget=6000",
                *args,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        ).stdout


def probe(base: str, width: int, fragment: str = "") -> tuple[dict[str, Any], str]:
    dom = chromium(f"{base}/?probe=1{fragment}", f"--window-size={width},1200", "--dump-dom")
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


async def test_dashboard_labels_are_whole_apart_and_inside_their_charts(tmp_path):
    port = free_port()
    runner = web.AppRunner(stand_in_app())
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    loop = asyncio.get_running_loop()
    try:
        wide, dom = await loop.run_in_executor(None, probe, base, 1400, f"#token={READ_TOKEN}")
        narrow, locked = await loop.run_in_executor(None, probe, base, 1000)
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

    for layout in (wide, narrow):
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

    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    if os.environ.get("FLYWHEEL_REFRESH_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
