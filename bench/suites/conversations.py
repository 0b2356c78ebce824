"""Conversations: contexts and follow-ups through the real worker, prompt strings against messages.

Streams (bench/data/conversations/, described in manifest.json, read only after their sha256
matches): ``tool``, Berkeley Function Calling Leaderboard questions under eight tool sets, some
asked of several, with repeats and light rewordings; ``multi``, questions to four assistants
with their own system prompts, some shared, and two-turn conversations with follow-ups ("make
it shorter" after different first requests). Each event is labelled with its context and its
request group (the same request: original, repeats, rewordings) and stored in two shapes:
``prompt``, the one string a 1.4 user had to send (tool specification or system prompt as a
preamble, then the turn; no earlier turns), and ``messages`` (and ``tools``), contract 1.5.

The embedded stack (Tansu + redis-server) is started for the run; each stream and shape gets its
own topics, consumer group, Redis namespace and ``flywheel worker`` (quotas and mix off: this
measures duplicates). From the output topics and the labels: the near-duplicate rejections whose
kept prompt is in another context, or in another request group that the reference model
(the transformer on the ONNX backend, reading the two requests alone) calls clearly different
(cosine < 0.7), and their share of all near-duplicate rejections; the share of accepted prompts
that keep a same-context near duplicate (another accepted prompt of its context at cosine >= 0.87
on the requests alone); needs_context rejections; accepted counts; CPU seconds per event of the
worker's process group and events per second, from the produce to the last output (the worker
warmed up first). Requests the model cannot read (mostly [UNK] word pieces: Chinese) are left out
of the reference judgements and counted as unjudged.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.harness import ROOT, Recorder, embedded_stack, embedder
from services.clean.text import normalize
from services.dev.devstack import Stack
from services.dev.workers import WorkerProcess, isolated_settings, wait_outputs
from services.kafka.topics import ensure_topics
from services.settings import Settings
from streams.replay import produce

DATA = ROOT / "bench" / "data" / "conversations"
STREAMS = ("tool", "multi")
SHAPES = ("prompt", "messages")
CLEARLY_DIFFERENT = 0.7  # reference cosine below which two requests are different requests
NEAR = 0.87  # reference cosine at or above which two accepted requests are near duplicates


@dataclass(frozen=True)
class Event:
    id: str
    context: str
    group: str
    kind: str
    request: str
    raw: dict[str, Any]


def load(name: str) -> list[Event]:
    """The stream's events, refused when its bytes differ from the manifest's sha256."""
    meta = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))["files"][name]
    data = (DATA / meta["file"]).read_bytes()
    if hashlib.sha256(data).hexdigest() != meta["sha256"]:
        raise SystemExit(f"{meta['file']} differs from the sha256 in manifest.json: refused")
    rows = [json.loads(x) for x in gzip.decompress(data).decode("utf-8").splitlines()]
    assert len(rows) == meta["count"]
    return [
        Event(r["id"], r["context"], r["request_group"], r["kind"], r["request"], r) for r in rows
    ]


def wire(e: Event, shape: str, prefix: str) -> bytes:
    """The event as the product sends it: a prompt string, or messages and tools."""
    body: dict[str, Any] = {"event_id": f"{prefix}-{e.id}", "user_id": f"{prefix}-u-{e.id}"}
    if shape == "prompt":
        body["prompt"] = e.raw["prompt"]
    else:
        body["messages"] = e.raw["messages"]
        if e.raw.get("tools"):
            body["tools"] = e.raw["tools"]
    return json.dumps(body, ensure_ascii=False).encode()


def cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in the group (the worker and any children)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:  # field 5 of stat: the process group
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


def run_one(stack: Stack, logs: Path, events: list[Event], shape: str, **over: Any) -> dict:
    s = isolated_settings(stack, "conv", quota_max_share=1.0, mix_max_synthetic=1.0, **over)
    ensure_topics(s)
    with WorkerProcess(s, logs / f"worker-{s.namespace}.log") as worker:
        warm = json.dumps({"event_id": f"{s.namespace}-warm", "prompt": "hi"}).encode()
        produce(s, [warm])
        wait_outputs(s, 1, worker, 300, poll_s=0.5)
        cpu0, t0 = cpu_seconds(worker.pid), time.monotonic()
        produce(s, [wire(e, shape, s.namespace) for e in events])
        out = wait_outputs(s, len(events) + 1, worker, 1200, poll_s=0.5)
        seconds, cpu = time.monotonic() - t0, cpu_seconds(worker.pid) - cpu0
    prefix = len(s.namespace) + 1
    by_id = {e.id: e for e in events}
    accepted = [
        (by_id[a["event_id"][prefix:]], a) for a in out.accepted if a["event_id"][prefix:] in by_id
    ]
    rejected = [
        (by_id[r["event_id"][prefix:]], r) for r in out.rejected if r["event_id"][prefix:] in by_id
    ]
    return {"accepted": accepted, "rejected": rejected, "seconds": seconds, "cpu": cpu,
            "dlq": len(out.dlq)}  # fmt: skip


class Reference:
    """The reference model's unit vectors of requests (normalized), computed once per text."""

    def __init__(self) -> None:
        self.emb = embedder("onnx", 32)
        self.vecs: dict[str, np.ndarray | None] = {}

    def add(self, texts: list[str]) -> None:
        new = sorted({normalize(t) for t in texts} - self.vecs.keys())
        if not new:
            return
        readable = [
            r <= Settings().max_unknown_token_ratio for r in self.emb.unknown_token_ratio(new)
        ]
        vecs = self.emb.encode([t for t, ok in zip(new, readable, strict=True) if ok])
        it = iter(vecs)
        for t, ok in zip(new, readable, strict=True):
            self.vecs[t] = next(it) if ok else None

    def get(self, text: str) -> np.ndarray | None:
        return self.vecs[normalize(text)]


def judge(r: dict, ref: Reference) -> dict[str, Any]:
    """The run's figures from its outputs and the events' labels."""
    kept: dict[str, list[Event]] = defaultdict(list)  # prompt_id -> the accepted events
    for e, a in r["accepted"]:
        kept[a["prompt_id"]].append(e)
    near = [(e, x) for e, x in r["rejected"] if x["reason"] == "near_duplicate"]
    exact = [(e, x) for e, x in r["rejected"] if x["reason"] == "exact_duplicate"]
    ref.add([e.request for e, _ in r["accepted"]] + [e.request for e, _ in near])
    cross = joined = unjudged = unknown = 0
    for e, x in near:
        candidates = kept.get(x.get("duplicate_of") or "", [])
        if not candidates:
            unknown += 1  # kept by an event outside the stream (none expected)
            continue
        same = [k for k in candidates if k.context == e.context]
        k = same[0] if same else candidates[0]
        if k.context != e.context:
            cross += 1
            continue
        if k.group == e.group:
            continue
        a, b = ref.get(e.request), ref.get(k.request)
        if a is None or b is None:
            unjudged += 1
        elif float(a @ b) < CLEARLY_DIFFERENT:
            joined += 1
    exact_cross = 0
    for e, x in exact:
        candidates = kept.get(x.get("duplicate_of") or "", [])
        if candidates and all(k.context != e.context for k in candidates):
            exact_cross += 1
    # accepted prompts that keep a same-context near duplicate (reference model, requests alone)
    leak = judged = 0
    by_ctx: dict[str, list[np.ndarray]] = defaultdict(list)
    for e, _ in r["accepted"]:
        v = ref.get(e.request)
        if v is not None:
            by_ctx[e.context].append(v)
    for vecs in by_ctx.values():
        m = np.stack(vecs)
        sims = m @ m.T
        np.fill_diagonal(sims, -1.0)
        leak += int((sims.max(axis=1) >= NEAR).sum()) if len(vecs) > 1 else 0
        judged += len(vecs)
    reasons = Counter(x["reason"] for _, x in r["rejected"])
    n = len(r["accepted"]) + len(r["rejected"]) + r["dlq"]
    bad = cross + joined
    return {
        "events": n,
        "accepted": len(r["accepted"]),
        "near_duplicate": len(near),
        "near_cross_context": cross,
        "near_joined_different": joined,
        "near_bad_share": round(bad / len(near), 4) if near else 0.0,
        "near_unjudged": unjudged,
        "near_kept_unknown": unknown,
        "exact_duplicate": len(exact),
        "exact_cross_context": exact_cross,
        "accepted_judged": judged,
        "accepted_with_same_context_near_dup": leak,
        "leak_share": round(leak / judged, 4) if judged else 0.0,
        "needs_context": reasons["needs_context"],
        "follow_ups_accepted": sum(e.kind == "followup" for e, _ in r["accepted"]),
        "reasons": dict(reasons),
        "dlq": r["dlq"],
        "seconds": round(r["seconds"], 1),
        "events_per_s": round(n / r["seconds"], 1),
        "cpu_ms_per_event": round(1000 * r["cpu"] / n, 2),
    }


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--streams", nargs="+", default=list(STREAMS), choices=STREAMS)
    ap.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    ap.add_argument(
        "--n",
        type=int,
        default=1500,
        help="the first N events of each stream (keeps a run near 10 minutes); 0 = all",
    )
    ap.add_argument(
        "--set",
        nargs="*",
        default=[],
        help="settings for every run, e.g. dedup_across_contexts=true",
    )


def run(args: argparse.Namespace, rec: Recorder) -> int:
    over: dict[str, Any] = dict(kv.split("=", 1) for kv in args.set)
    s0 = Settings(**over)
    streams = {name: load(name) for name in args.streams}
    if args.n:
        streams = {name: evs[: args.n] for name, evs in streams.items()}
    rec.header(
        f"backend {s0.embedding_backend}, threshold {s0.near_dup_threshold}, preambles after "
        f"{s0.preamble_min_count} prompts, across contexts {s0.dedup_across_contexts}, "
        f"settings {args.set or 'defaults'}; "
        + ", ".join(f"{k} {len(v)} events" for k, v in streams.items()),
        f"reference: transformer (onnx), clearly different < {CLEARLY_DIFFERENT}, "
        f"near duplicate >= {NEAR}, on the requests alone",
    )
    runs = []
    with embedded_stack("conversations") as (stack, logs):
        for name, events in streams.items():
            for shape in args.shapes:
                runs.append((name, shape, run_one(stack, logs, events, shape, **over)))
    ref = Reference()  # after the workers: the timed runs have the cores to themselves
    print(
        "\n| stream | shape | accepted | near-dup rejections | cross context | join clearly "
        "different | bad share | accepted keeping a same-context near dup | needs_context | "
        "exact dup cross context | events/s | CPU ms/event |\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )  # fmt: skip
    measured = [(name, shape, judge(r, ref)) for name, shape, r in runs]
    for name, shape, m in measured:
        print(
            f"| {name} | {shape} | {m['accepted']} | {m['near_duplicate']} | "
            f"{m['near_cross_context']} | {m['near_joined_different']} | {m['near_bad_share']:.1%} | "
            f"{m['accepted_with_same_context_near_dup']} ({m['leak_share']:.1%}) | "
            f"{m['needs_context']} | {m['exact_cross_context']} | {m['events_per_s']} | "
            f"{m['cpu_ms_per_event']} |",
            flush=True,
        )  # fmt: skip
        rec.add(m, stream=name, shape=shape)
    for name, shape, m in measured:
        print(f"\n{name}/{shape}: reasons {m['reasons']}, dlq {m['dlq']}, unjudged "
              f"{m['near_unjudged']}, kept unknown {m['near_kept_unknown']}, follow-ups accepted "
              f"{m['follow_ups_accepted']}, {m['seconds']} s")  # fmt: skip
    return 0
