"""Helpers of the integration tests (fixtures are in conftest.py): the accounting invariant and
the greedy outcomes a worker run must reach, events the model cannot read, an ops server in the
test's event loop, Chromium's flags, and a client of Label Studio's REST API."""

from __future__ import annotations

import asyncio
import json
import secrets
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
from aiohttp import web

from services.clean.chain import Cleaned, Cleaner
from services.dev.accounting import Outputs, topic_end_offsets
from services.embed.embedder import Embedder
from services.settings import Settings
from tests.oracles import greedy_reference

ROOT = Path(__file__).resolve().parents[2]
BORDERLINE = 1e-4  # float noise between batched and unbatched encoding


def check_invariant(s: Settings, out: Outputs) -> None:
    ends = topic_end_offsets(s.kafka_bootstrap, s.topic_events)
    assert out.missing(s.topic_events, ends) == []
    assert out.duplicated_srcs() == []
    assert out.total == sum(ends.values()), (
        out.total,
        ends,
        len(out.srcs),
        [k for k in out.srcs if not k.startswith(s.topic_events)][:5],
    )
    assert out.duplicated_prompt_ids() == []


def screened(s: Settings, raw_events: list[bytes], reached: set[str]) -> list[tuple[str, str, str]]:
    """(event id, cleaned text, language) of the events in ``reached``, from the ingest stage's
    own screening."""
    cleaner = Cleaner(s)
    cands = []
    for raw in raw_events:
        cand = cleaner.screen(raw)
        if isinstance(cand, Cleaned) and cand.event.event_id in reached:
            cands.append((cand.event.event_id, cand.text, cand.lang))
    return cands


def greedy_outcomes(s: Settings, raw_events: list[bytes], reached: set[str]):
    """Expected accepted and near-duplicate event ids, plus the ones to ignore: borderline
    cosines, and texts the model cannot read (they take the lexical path, tested elsewhere).

    ``reached``: the events the pipeline sent through the semantic check (accepted or
    near_duplicate); the stages before it are other tests' business. Their cleaned text comes
    from the ingest stage's own screening."""
    cands = screened(s, raw_events, reached)
    emb = Embedder.from_settings(s).setup()
    ratios = emb.unknown_token_ratio([t for _, t, _ in cands])
    readable = [c for c, r in zip(cands, ratios, strict=True) if r <= s.max_unknown_token_ratio]
    accepted: set[str] = set()
    near: set[str] = set()
    borderline = {c[0] for c, r in zip(cands, ratios, strict=True) if r > s.max_unknown_token_ratio}
    lexical = len(borderline)
    for lang in {lang for _, _, lang in readable}:
        group = [c for c in readable if c[2] == lang]
        vecs = emb.encode([t for _, t, _ in group])
        keep = greedy_reference(vecs, s.near_dup_threshold)
        kept_rows: list[int] = []
        for i, ((eid, _, _), k) in enumerate(zip(group, keep, strict=True)):
            if kept_rows:
                best = float(np.max(vecs[kept_rows] @ vecs[i]))
                if abs(best - s.near_dup_threshold) < BORDERLINE:
                    borderline.add(eid)
            (accepted if k else near).add(eid)
            if k:
                kept_rows.append(i)
    return accepted, near, borderline, lexical


# all-MiniLM's vocabulary maps most of these characters to [UNK] (share > 0.3)
UNREADABLE = [
    "我想知道怎么把两个分支合并起来",
    "请帮我写一封给房东的邮件",
    "这个周末去哪里爬山比较好",
]


def unreadable_events() -> list[bytes]:
    return [
        json.dumps({"event_id": f"un-{i}", "prompt": t, "user_id": f"u-un-{i}"}).encode()
        for i, t in enumerate(UNREADABLE * 2)  # the repeat is an exact duplicate
    ]


async def serve(app: web.Application, port: int) -> web.AppRunner:
    """``app`` listening on 127.0.0.1:``port`` in the running loop; the caller cleans it up."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def until(check, timeout_s: float, what: str):
    """Await ``check()`` every half second until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = await check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.5)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def chromium(url: str, *args: str, budget_ms: int = 6000) -> str:
    """Headless Chromium on ``url`` with a fresh profile and ``budget_ms`` of virtual time for
    the page's scripts; its standard output (``--dump-dom`` among ``args``: the DOM)."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                CHROMIUM or "chromium",
                *CHROME_FLAGS,
                f"--user-data-dir={profile}",
                f"--virtual-time-budget={budget_ms}",
                *args,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=90,
            check=True,
        ).stdout


LABEL_STUDIO_CONFIG = ROOT / "deploy" / "label-studio" / "config.xml"


class LabelStudio:
    """The REST API with the legacy token (``Authorization: Token <token>``)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(
        self, method: str, path: str, body: Any = None, ok: int = 200, upload: Path | None = None
    ) -> Any:
        """JSON in and out; ``upload`` sends that file as multipart ``file`` instead (the UI's
        import dialog does the same)."""
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode("utf-8")
        if upload is not None:
            boundary = secrets.token_hex(16)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            data = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{upload.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                + upload.read_bytes()
                + f"\r\n--{boundary}--\r\n".encode()
            )
        req = urllib.request.Request(self.url + path, method=method, data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        assert status == ok, f"{method} {path}: {status} {raw[:500]!r}"
        return json.loads(raw) if raw else None
