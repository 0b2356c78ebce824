"""``flywheel reindex`` on the real stack: a worker on the default (onnx) backend curates a
stream, the accepted set is re-embedded with the ``static`` backend into a new namespace, and a
``static`` worker on that namespace (and new topics) still knows the earlier acceptances: near
duplicates of them are rejected ``near_duplicate``, exact repeats ``exact_duplicate``, and a
fresh prompt is accepted. A second run adds nothing; a run of another model is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import redis

from services.clean.text import normalize, prompt_id
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, wait_outputs
from services.embed.embedder import Embedder
from services.keys import Keys
from services.settings import Settings
from streams.replay import produce
from tests.integration.harness import ROOT, check_invariant

pytestmark = pytest.mark.integration

FRESH = [
    "Write a haiku about a lighthouse keeper who collects seashells in winter",
    "What torque should I use for the lug nuts on a 1998 mountain bike trailer hitch?",
    "Compose a limerick about a tortoise that opens a bakery on the moon",
]


def run_reindex(s: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **s.to_env(), "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "reindex", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def event(i: int, text: str) -> bytes:
    return json.dumps({"event_id": f"re-{i}", "prompt": text, "user_id": f"u-re-{i}"}).encode()


def test_reindex_into_static_keeps_the_acceptances(fresh, tmp_path):
    common = dict(partitions=2, curate_partitions=2, quota_max_share=1.0, mix_max_synthetic=1.0)
    old = fresh(**common)
    raw = [r for r, _ in ChatLogGenerator(seed=21).events(150)]
    with WorkerProcess(old, tmp_path / "onnx.log") as worker:
        produce(old, raw)
        out = wait_outputs(old, len(raw), worker, timeout_s=300)
    check_invariant(old, out)
    accepted = out.accepted
    assert len(accepted) > 20

    # an annotator blocked one accepted prompt (what the feedback stage writes)
    blocked = next(
        rec for rec in reversed(accepted) if rec["semantic_check"] == "faiss" and not rec["pii"]
    )
    r = redis.Redis.from_url(old.redis_url.get_secret_value())
    r.sadd(Keys(old.namespace).blocked_ids, blocked["prompt_id"])
    r.sadd(Keys(old.namespace).blocklisted, blocked["prompt_id"])

    new = fresh(**common, embedding_backend="static")
    done = run_reindex(old, "--to-namespace", new.namespace, "--backend", "static")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    print(summary)
    assert summary["written"] == len(accepted), summary
    assert summary["present"] == 0 and summary["invalid"] == 0
    assert "/static-" in summary["model"] and "reindex:" in done.stderr
    assert summary["blocked"] == 1
    assert r.sismember(Keys(new.namespace).blocked_ids, blocked["prompt_id"])
    assert r.llen(f"{new.namespace}:vectors:blocklist") == 1
    assert r.get(f"{new.namespace}:vectors:model") == summary["model"].encode()
    vector_logs = [k for k in r.scan_iter(f"{new.namespace}:vectors:*:*") if r.type(k) == b"list"]
    lengths = {k: r.llen(k) for k in vector_logs}
    assert sum(lengths.values()) == summary["vectors"] > 0
    for rec in accepted:
        assert r.exists(f"{new.namespace}:seen:{rec['prompt_id']}")
        assert r.exists(f"{new.namespace}:acc:{rec['prompt_id']}")

    again = run_reindex(old, "--to-namespace", new.namespace, "--backend", "static")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout.strip().splitlines()[-1])
    assert second["written"] == 0 and second["present"] == len(accepted), second
    assert {k: r.llen(k) for k in vector_logs} == lengths

    refused = run_reindex(old, "--to-namespace", new.namespace, "--backend", "onnx")
    assert refused.returncode == 1
    assert "was made by model" in refused.stderr and summary["model"] in refused.stderr

    # near duplicates of accepted prompts under the static model, and fresh prompts
    emb = Embedder.from_settings(new).setup()
    # placeholders of redacted personal data left out: ingest would read them again
    idx = [
        i
        for i, rec in enumerate(accepted)
        if rec["semantic_check"] == "faiss" and not rec["pii"] and rec is not blocked
    ]
    texts = [accepted[i]["text"] for i in idx]
    known = {rec["prompt_id"] for rec in accepted}
    base = emb.encode([rec["text"] for rec in accepted])

    def variant(text: str, vec: np.ndarray) -> str | None:
        """An edit of ``text`` with another prompt_id, well above the static threshold."""
        for edit in (f"please {text}", text.rstrip("?.!") + "!!", f"{text} thanks"):
            if prompt_id(normalize(edit)) in known:
                continue
            if float(emb.encode([edit])[0] @ vec) >= new.near_dup_threshold + 0.03:
                return edit
        return None

    near = [v for v in (variant(t, v) for t, v in zip(texts, base[idx], strict=True)) if v][:8]
    assert len(near) >= 4
    near_blocked = variant(blocked["text"], base[accepted.index(blocked)])
    assert near_blocked is not None
    fresh_text = next(
        t for t in FRESH if float(np.max(base @ emb.encode([t])[0])) < new.near_dup_threshold - 0.05
    )
    exact = texts[0]
    replay = [*near, exact, fresh_text, near_blocked]

    with WorkerProcess(new, tmp_path / "static.log") as worker:
        produce(new, [event(i, t) for i, t in enumerate(replay)])
        out2 = wait_outputs(new, len(replay), worker, timeout_s=300)
    check_invariant(new, out2)
    by_event = {rec["event_id"]: rec for rec in out2.rejected}
    for i, _ in enumerate(near):
        rej = by_event.get(f"re-{i}")
        assert rej is not None and rej["reason"] == "near_duplicate", (replay[i], rej)
        assert rej["duplicate_of"] in known
    assert by_event[f"re-{len(near)}"]["reason"] == "exact_duplicate"
    assert by_event[f"re-{len(near) + 2}"]["reason"] == "blocklisted"
    assert by_event[f"re-{len(near) + 2}"]["duplicate_of"] == blocked["prompt_id"]
    assert [rec["text"] for rec in out2.accepted] == [fresh_text]
