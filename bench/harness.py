"""What every suite shares: one results schema, the prompt sets, and the embedded stack.

A result line (``bench/results/<suite>.jsonl``, appended with ``--record``) is
``{"suite", "date", "commit", "machine", "params", "metrics"}``: ``params`` are the suite's
options plus what a row varies (a backend, a seed), ``metrics`` what was measured.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.clean.text import cjk_ratio
from services.dev.devstack import DevStack, Stack
from services.dev.generator import ChatLogGenerator, unique_prompts
from services.dev.workers import WorkerProcess, wait_outputs
from services.keys import Keys
from services.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / ".flywheel" / "bench"  # embeddings worth keeping between runs
MODELS = ROOT / ".flywheel" / "models"
SHARED = ROOT.parent / "shared" / "data" / "public_prompts.jsonl"


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def commit() -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    done = subprocess.run(
        [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout.strip() or None


class Recorder:
    """One run of a suite: prints its header and appends its result lines (``path`` None: the
    run is printed only)."""

    def __init__(self, suite: str, params: dict[str, Any], path: Path | None) -> None:
        self.suite = suite
        self.params = params
        self.path = path
        self.date = datetime.now(tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
        self.commit = commit()
        self.machine = machine()

    def header(self, *notes: str) -> None:
        print(f"# {self.date} | {self.commit} | {self.machine} | load {os.getloadavg()[0]:.1f}")
        for note in notes:
            print(f"# {note}")

    def add(self, metrics: dict[str, Any], **params: Any) -> None:
        if self.path is None:
            return
        line = {
            "suite": self.suite,
            "date": self.date,
            "commit": self.commit,
            "machine": self.machine,
            "params": self.params | params,
            "metrics": metrics,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(line, ensure_ascii=False, default=str) + "\n")


def results(suite: str) -> list[dict[str, Any]]:
    """Every recorded line of a suite, oldest first."""
    path = RESULTS / f"{suite}.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


# --- prompt sets ---------------------------------------------------------------------------


def public_texts() -> list[str]:
    """Every prompt of ../shared/data/public_prompts.jsonl, in file order (none when absent)."""
    if not SHARED.exists():
        return []
    lines = SHARED.read_text(encoding="utf-8").split("\n")
    return [json.loads(x)["prompt"] for x in lines if x.strip()]


def public_prompts(n: int, lang: str = "en") -> tuple[list[str], str]:
    """``n`` distinct public prompts when the file has them, else generated ones.
    ``lang="en"`` keeps prompts without CJK characters (all of them need an embedding);
    ``"mixed"`` keeps the file's order, English and Chinese."""
    seen: dict[str, None] = {}
    for text in public_texts():
        text = text.strip()
        if text and (lang == "mixed" or cjk_ratio(text) == 0):
            seen.setdefault(text, None)
    texts = list(seen)[:n]
    if len(texts) == n:
        return texts, f"{SHARED.name} (first {n} distinct, {lang})"
    return unique_prompts(n), f"generated unique_prompts({n})"


def prompt_set(which: str, n: int | None = None) -> tuple[list[str], str]:
    """``public``: the public prompts (long, instruction style), or ``chat``: the generator's chat
    log (greetings, typos, junk; seed 3); repeated or cut to ``n`` when given."""
    texts = public_texts() if which == "public" else []
    origin = f"{SHARED.name} ({len(texts):,} prompts)"
    if not texts:
        events = ChatLogGenerator(seed=3).events(n or 5000)
        texts = [json.loads(r)["prompt"] for r, m in events if m["kind"] != "malformed"]
        origin = f"the generator's chat log ({len(texts):,} prompts, seed 3)"
    if n is not None:
        texts = (texts * (n // len(texts) + 1))[:n]
    return texts, origin


def events(texts: list[str], prefix: str, users: int = 0) -> list[bytes]:
    """Contract events for ``chat.events``: one user per prompt, or ``users`` users in turn."""
    return [
        json.dumps(
            {
                "event_id": f"{prefix}-{i}",
                "prompt": t,
                "user_id": f"u{i % users}" if users else f"{prefix}-u{i}",
            }
        ).encode()
        for i, t in enumerate(texts)
    ]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# --- the embedded stack and its workers ------------------------------------------------------


@contextmanager
def embedded_stack(name: str) -> Iterator[tuple[Stack, Path]]:
    """A fresh broker and Redis for one run, stopped afterwards (also on SIGTERM); yields the
    stack and a directory for the run's logs."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the finally below stops the stack
    state = Path(tempfile.mkdtemp(prefix=f"flywheel-{name}-"))
    dev = DevStack(state)
    stack = dev.up()
    try:
        yield stack, state
    finally:
        dev.down()


def start_workers(s: Settings, n: int, logs: Path) -> list[WorkerProcess]:
    return [WorkerProcess(s, logs / f"worker-{s.namespace}-{i}.log").start() for i in range(n)]


def stop_workers(workers: list[WorkerProcess]) -> None:
    for w in workers:
        w.kill(signal.SIGTERM)


def warm_up(s: Settings, workers: list[WorkerProcess], texts: list[str]) -> None:
    """Model load, group join and first batches before the clock starts; with several workers,
    until every one owns partitions (each publishes stats once it runs)."""
    from streams.replay import produce

    produce(s, events(texts, "warm"))
    wait_outputs(s, len(texts), workers[0], 300)
    if len(workers) > 1:
        wait_stats(s, len(workers))


def wait_stats(s: Settings, n: int, timeout_s: float = 120) -> None:
    import redis

    client = redis.Redis.from_url(s.redis_url.get_secret_value())
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if client.zcard(Keys(s.namespace).workers) >= n:
            break
        time.sleep(1)
    time.sleep(5)  # the last rebalance settles


def public_vectors(backend: str = "onnx") -> tuple[list[str], Any]:
    """The distinct (normalized) public prompts the model can read and their vectors, cached in
    .flywheel/bench for the model's fingerprint."""
    import numpy as np

    from services.clean.text import normalize
    from services.embed.centroids import encode_by_length, readable

    emb = embedder(backend, 16)
    cache = CACHE / f"public_vectors-{backend}.npz"
    if cache.exists():
        data = np.load(cache, allow_pickle=False)
        if str(data["model"]) == emb.fingerprint:
            return [str(t) for t in data["texts"]], data["vectors"]
    texts = readable(emb, list(dict.fromkeys(t for t in map(normalize, public_texts()) if t)))
    vecs = encode_by_length(emb, texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=np.array(texts), vectors=vecs, model=np.array(emb.fingerprint))
    return texts, vecs


@contextmanager
def redis_server() -> Iterator[int]:
    """A redis-server of the run's own (free port, temporary directory, no persistence); yields
    its port."""
    import redis

    from services.dev.devstack import free_port, redis_server_bin

    workdir = Path(tempfile.mkdtemp(prefix="flywheel-redis-"))
    port = free_port()
    cmd = [redis_server_bin(), "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    proc = subprocess.Popen(
        [*cmd, "--appendonly", "no", "--dir", str(workdir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        client = redis.Redis(port=port)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        client.close()
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        shutil.rmtree(workdir, ignore_errors=True)


def embedder(backend: str | None = None, batch: int = 0, s: Settings | None = None) -> Any:
    """The embedder of the settings ``s`` (default: the environment's), or of ``backend``,
    loaded from the repository's model cache; ``batch``: another encoder batch size."""
    from services.embed.embedder import Embedder

    s = (s or Settings()).model_copy(update={"state_dir": ROOT / ".flywheel"})
    emb = Embedder.from_settings(s, backend)
    emb.batch_size = batch or emb.batch_size
    return emb.setup()
