"""Fixtures of the integration tests: a client of the session's redis-server, a namespace nobody
else uses, and a real Label Studio (``stack`` and ``fresh`` are in tests/conftest.py)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.dev.devstack import free_port
from tests.integration.harness import ROOT, LabelStudio

LABEL_STUDIO_SCRIPT = ROOT / "scripts" / "label_studio.sh"
LABEL_STUDIO_BIN = ROOT / ".flywheel" / "label-studio" / "venv" / "bin" / "label-studio"
LABEL_STUDIO_START_S = 120


@pytest.fixture
async def redis(stack) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(stack.redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def namespace() -> str:
    """A Redis namespace of this test only (without the topics ``fresh`` also creates)."""
    return f"t{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory) -> Iterator[LabelStudio]:
    """Label Studio (scripts/label_studio.sh: its own virtualenv, SQLite, offline) on a free
    port, with an annotator whose token the client uses; skipped, with the reason, when its
    virtualenv is not installed."""
    if not LABEL_STUDIO_BIN.exists():
        pytest.skip(
            f"Label Studio is not installed ({LABEL_STUDIO_BIN} missing): run "
            "scripts/label_studio.sh"
        )
    data = tmp_path_factory.mktemp("label-studio")
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "LABEL_STUDIO_USERNAME": "annotator@flywheel.test",
        "LABEL_STUDIO_PASSWORD": secrets.token_hex(12),
        "LABEL_STUDIO_USER_TOKEN": token,
        "SSRF_PROTECTION_ENABLED": "false",  # the webhook target is 127.0.0.1
    }
    log = (data / "label-studio.log").open("w")
    proc = subprocess.Popen(
        ["bash", str(LABEL_STUDIO_SCRIPT), "--start", str(port), str(data)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + LABEL_STUDIO_START_S
    try:
        while True:  # readiness: /health answers once migrations ran and the server listens
            if proc.poll() is not None:
                pytest.fail(f"Label Studio exited with {proc.returncode}:\n{_tail(data)}")
            if _get_status(url + "/health") == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Label Studio not ready after {LABEL_STUDIO_START_S} s:\n{_tail(data)}"
                )
            time.sleep(0.25)
        ls = LabelStudio(url, token)
        assert ls.call("GET", "/api/current-user/whoami")["email"] == "annotator@flywheel.test"
        yield ls
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # refused, reset, timeout: not up yet
        return None


def _tail(data: Path) -> str:
    return "\n".join((data / "label-studio.log").read_text(errors="replace").splitlines()[-30:])
