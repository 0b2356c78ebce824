"""Contamination: copies of evaluation items (verbatim, wrapped, lightly edited) caught, look-alike and ordinary prompts spared, and the check's cost at 100,000 registered items.

Data: bench/data/evalsets/ (manifest.json): 2,000 MMLU and 2,000 CMMLU test questions are
registered; 2,000 other test questions of each and their dev (few-shot) splits are the
look-alikes (same benchmark, same style, not registered); the ordinary prompts are the public
prompts (bench.harness). Copies are made here with a fixed seed: ``wrapped`` puts a question in
one of 12 request templates (half with its lettered choices), ``edited`` makes one edit (two
for questions of 12 words or more: a word dropped, replaced, misspelt, two swapped; for Chinese,
characters) and wraps half of them. Look-alikes are wrapped the same way.

Modes:

- ``sweep``: the matcher in-process with the worker's model over every text, its best n-gram
  coverage and best cosine per text, and the rates each (n, coverage, cosine, shortest item)
  would give: how the defaults were chosen.
- ``worker`` (the headline): the sets registered as ``flywheel evalsets add`` does, every event
  through a real ``flywheel worker`` on the embedded stack, outcomes read back from the topics.
- ``cost``: the worker's CPU per event on ordinary prompts without a set, and the matcher's
  CPU per event with 100,000 items (the 4,000 real ones and 96,000 fillers: real items with
  their words shuffled, random unit vectors; the search costs the same whatever the values).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import time
from collections import Counter
from typing import Any

import numpy as np

from bench.harness import CACHE, ROOT, Recorder, embedded_stack, embedder, public_texts
from services.clean.pii import redact
from services.clean.text import cjk_ratio, normalize
from services.dedup.evalsets import EvalItem, EvalMatcher
from services.settings import Settings

DATA = ROOT / "bench" / "data" / "evalsets"
SETS = ("mmlu", "cmmlu")

WRAP_EN = [
    "Can you solve this for me? {q}",
    "{q}",
    "Please answer the following question and explain your reasoning.\n\n{q}",
    "I'm stuck on my homework: {q} Thanks!",
    "Question: {q}\nAnswer:",
    "Help me with this one, I have an exam tomorrow. {q}",
    "{q} Which one is right and why?",
    'My teacher asked us this: "{q}" what do you think?',
]
WRAP_ZH = [
    "帮我解答一下这道题：{q}",
    "{q} 请给出答案并解释原因。",
    "老师布置的作业，{q}",
    "请问：{q}",
]
FILLER_WORDS = "the a of to and which most following best is not be it this that what".split()
FILLER_ZH = (
    "的一是了不在有人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说"
)


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--mode", choices=["sweep", "worker", "cost"], default="worker")
    ap.add_argument("--per-set", type=int, default=300, help="registered items copied, per set")
    ap.add_argument("--ordinary", type=int, default=2000, help="public prompts")
    ap.add_argument("--items", type=int, default=100_000, help="registered items (cost)")
    ap.add_argument("--set", nargs="*", default=[], help="settings, e.g. contamination_ngram=8")


# --- data -----------------------------------------------------------------------------------


def load(part: str) -> list[dict[str, Any]]:
    """One frozen file (``<set>-<part>.jsonl`` for both sets), checked against the manifest."""
    manifest = json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))
    rows = []
    for name in SETS:
        path = DATA / f"{name}-{part}.jsonl"
        raw = path.read_bytes()
        if hashlib.sha256(raw).hexdigest() != manifest["files"][path.name]["sha256"]:
            raise SystemExit(f"{path.name} differs from its manifest: refusing to measure")
        rows += [json.loads(x) | {"set": name} for x in raw.decode().splitlines() if x.strip()]
    return rows


def lettered(row: dict[str, Any]) -> str:
    return "\n".join(f"{'ABCD'[i]}. {c}" for i, c in enumerate(row["choices"]))


def wrap(row: dict[str, Any], question: str, rng: random.Random) -> str:
    zh = row["set"] == "cmmlu"
    q = question + ("\n" + lettered(row) if rng.random() < 0.5 else "")
    return rng.choice(WRAP_ZH if zh else WRAP_EN).format(q=q)


def edit(question: str, zh: bool, rng: random.Random) -> str:
    """One light edit, two for questions of 12 words (Chinese: 24 characters) or more."""
    if zh:
        chars = list(question)
        for _ in range(1 if len(chars) < 24 else 2):
            at = [i for i, c in enumerate(chars) if cjk_ratio(c) == 1]
            if len(at) < 3:
                break
            i = rng.choice(at[:-1])
            op = rng.randrange(3)
            if op == 0:
                del chars[i]
            elif op == 1:
                chars[i] = rng.choice(FILLER_ZH)
            else:
                chars[i], chars[i + 1] = chars[i + 1], chars[i]
        return "".join(chars)
    ws = question.split(" ")
    for _ in range(1 if len(ws) < 12 else 2):
        if len(ws) < 3:
            break
        i = rng.randrange(len(ws) - 1)
        op = rng.randrange(4)
        if op == 0:
            del ws[i]
        elif op == 1:
            ws[i] = rng.choice(FILLER_WORDS)
        elif op == 2 and len(ws[i]) >= 4:
            w = ws[i]
            j = rng.randrange(1, len(w) - 2)
            ws[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
        else:
            ws[i], ws[i + 1] = ws[i + 1], ws[i]
    return " ".join(ws)


def streams(per_set: int, ordinary: int | None) -> dict[str, list[tuple[str, str]]]:
    """``kind -> [(item id or '', prompt)]``: copies of registered items, look-alikes wrapped
    like the copies, ordinary public prompts."""
    rng = random.Random(29)
    registered = load("registered")
    picked = [r for name in SETS for r in [x for x in registered if x["set"] == name][:per_set]]
    out: dict[str, list[tuple[str, str]]] = {"verbatim": [], "wrapped": [], "edited": []}
    for row in picked:
        q = row["question"]
        out["verbatim"].append((row["id"], q))
        out["wrapped"].append((row["id"], wrap(row, q, rng)))
        e = edit(q, row["set"] == "cmmlu", rng)
        out["edited"].append((row["id"], wrap(row, e, rng) if rng.random() < 0.5 else e))
    look = load("unregistered") + load("dev")
    out["lookalike"] = [("", wrap(r, r["question"], rng)) for r in look]
    texts = list(dict.fromkeys(t.strip() for t in public_texts() if t.strip()))
    out["ordinary"] = [("", t) for t in texts[:ordinary]]
    return out


def registered_items() -> list[EvalItem]:
    return [
        EvalItem(r["set"], r["id"], redact(normalize(r["question"]))[0]) for r in load("registered")
    ]


def evalset_file(name: str) -> bytes:
    """A set's registered items as ``flywheel evalsets add`` reads them: JSON lines."""
    rows = (DATA / f"{name}-registered.jsonl").read_text(encoding="utf-8").splitlines()
    return "\n".join(
        json.dumps({"id": json.loads(x)["id"], "question": json.loads(x)["question"]}) for x in rows
    ).encode()


def vectors(emb: Any, s: Settings, texts: list[str]) -> np.ndarray:
    """``embed_items`` of ``texts``, kept in the bench cache by model and texts (the model
    reads 15 to 50 texts a second on a shared 2-core machine)."""
    from services.pipeline.contamination import embed_items

    key = hashlib.sha256("\n\x00".join([emb.fingerprint, *texts]).encode()).hexdigest()[:20]
    path = CACHE / f"contamination-{key}.npy"
    if path.exists():
        return np.load(path)
    vecs = embed_items(emb, s.max_unknown_token_ratio, texts)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, vecs)
    return vecs


# --- sweep ----------------------------------------------------------------------------------


def run_sweep(args: argparse.Namespace, s: Settings, rec: Recorder) -> int:
    emb = embedder(batch=64, s=s)
    data = streams(args.per_set, args.ordinary)
    items = registered_items()
    t0 = time.monotonic()
    item_vecs = vectors(emb, s, [i.text for i in items])
    kinds = list(data)
    texts = {k: [redact(normalize(t))[0] for _, t in data[k]] for k in kinds}
    vecs = {k: vectors(emb, s, texts[k]) for k in kinds}
    print(f"# embedded in {time.monotonic() - t0:.0f} s", flush=True)
    print(
        "\n| n | shortest item | boilerplate after | coverage | cosine | verbatim | wrapped | "
        "edited | look-alikes | ordinary |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = {k: [v if np.abs(v).sum() > 0 else None for v in vecs[k]] for k in kinds}
    for n in (5, 6, 8, 13):
        for min_words in (5, 8):
            for common in (1, 2, 3, 10**9):
                m = EvalMatcher(items, item_vecs, n, 1.0, 0.5, min_words, common)
                best = {}
                for k in kinds:
                    ng = [m.ngram_best(t) for t in texts[k]]
                    em = m.embedding_best(rows[k])
                    best[k] = (
                        np.array([x.score if x else 0.0 for x in ng]),
                        np.array([x.score if x else 0.0 for x in em]),
                    )
                for cov in (0.4, 0.5, 0.6, 0.7):
                    for cos in (0.88, 0.9, 0.92, 0.95, 1.01):
                        rates = {}
                        for k in kinds:
                            g, c = best[k]
                            rates[k] = float(((g >= cov) | (c >= cos)).mean())
                        print(
                            f"| {n} | {min_words} | {common if common < 10**9 else '-'} | {cov} "
                            f"| {cos if cos <= 1 else 'off'} | "
                            + " | ".join(f"{rates[k]:.2%}" for k in kinds)
                            + " |"
                        )
                        rec.add(
                            rates, mode="sweep", n=n, min_words=min_words,
                            boilerplate=common, coverage=cov, cosine=cos,
                        )  # fmt: skip
    return 0


# --- through the worker ---------------------------------------------------------------------


def run_worker(args: argparse.Namespace, s: Settings, rec: Recorder) -> int:
    import asyncio

    import redis.asyncio as aioredis

    from bench.suites.conversations import cpu_seconds
    from services.dev.workers import WorkerProcess, isolated_settings, wait_outputs
    from services.kafka.topics import ensure_topics
    from services.state.evalsets import RedisEvalsets, parse_evalset
    from streams.replay import produce

    data = streams(args.per_set, args.ordinary)
    over = dict(kv.split("=", 1) for kv in args.set)
    with embedded_stack("contamination") as (stack, logs):
        ws = isolated_settings(stack, "ctm", quota_max_share=1.0, mix_max_synthetic=1.0, **over)
        ensure_topics(ws)

        items = registered_items()
        item_vecs = vectors(embedder(batch=64, s=ws), ws, [i.text for i in items])
        fingerprint = embedder(s=ws).fingerprint

        async def register() -> None:  # as flywheel evalsets add does, vectors included
            client = aioredis.from_url(ws.redis_url.get_secret_value())
            store = RedisEvalsets(client, ws.namespace)
            for name in SETS:
                raw = evalset_file(name)
                rows = [i for i, item in enumerate(items) if item.evalset == name]
                block = (fingerprint, item_vecs[rows[0] : rows[-1] + 1])
                await store.add(parse_evalset(name, raw), len(raw), "", block)
            await client.aclose()

        asyncio.run(register())
        events, kinds = [], {}
        for kind, rows in data.items():
            for i, (item, text) in enumerate(rows):
                eid = f"{ws.namespace}-{kind}-{i}"
                kinds[eid] = (kind, item)
                events.append(
                    json.dumps({"event_id": eid, "prompt": text, "user_id": eid}).encode()
                )
        random.Random(7).shuffle(events)
        with WorkerProcess(ws, logs / f"worker-{ws.namespace}.log") as worker:
            warm = json.dumps({"event_id": f"{ws.namespace}-warm", "prompt": "hi"}).encode()
            t_load = time.monotonic()
            produce(ws, [warm])
            wait_outputs(ws, 1, worker, 600, poll_s=0.5)
            load_s = time.monotonic() - t_load
            cpu0, t0 = cpu_seconds(worker.pid), time.monotonic()
            produce(ws, events)
            out = wait_outputs(ws, len(events) + 1, worker, 1800, poll_s=1.0)
            seconds, cpu = time.monotonic() - t0, cpu_seconds(worker.pid) - cpu0
    caught: Counter[str] = Counter()
    right: Counter[str] = Counter()
    methods: Counter[str] = Counter()
    for r in out.rejected:
        if r["reason"] != "contaminated" or r["event_id"] not in kinds:
            continue
        kind, item = kinds[r["event_id"]]
        by = r["contaminated_by"]
        caught[kind] += 1
        right[kind] += by["item_id"] == item
        methods[f"{kind}:{by['method']}"] += 1
    totals = Counter(k for k, _ in kinds.values())
    other = Counter(
        kinds[r["event_id"]][0] + ":" + r["reason"]
        for r in out.rejected
        if r["reason"] != "contaminated" and r["event_id"] in kinds
    )
    rec.header(
        f"worker, {len(events)} events, settings {args.set or 'defaults'}, "
        f"sets loaded and embedded by the worker in {load_s:.0f} s (first batch)"
    )
    print("\n| stream | events | rejected contaminated | of them naming the copied item | by n-gram "
          "| by embedding |\n|---|---|---|---|---|---|")  # fmt: skip
    metrics: dict[str, Any] = {}
    for kind in data:
        n = totals[kind]
        share = caught[kind] / max(n, 1)
        print(
            f"| {kind} | {n} | {caught[kind]} ({share:.2%}) | "
            f"{right[kind] if kind in ('verbatim', 'wrapped', 'edited') else '-'} | "
            f"{methods[kind + ':ngram']} | {methods[kind + ':embedding']} |"
        )
        metrics[kind] = {"events": n, "contaminated": caught[kind], "share": share,
                         "right_item": right[kind], "ngram": methods[kind + ":ngram"],
                         "embedding": methods[kind + ":embedding"]}  # fmt: skip
    cpu_ms = 1000 * cpu / len(events)
    print(f"\nother rejections: {dict(other.most_common(8))}")
    print(f"{len(events) / seconds:.0f} events/s, worker CPU {cpu_ms:.2f} ms/event")
    metrics |= {"events_per_s": len(events) / seconds, "cpu_ms_per_event": cpu_ms,
                "load_s": load_s, "other": dict(other)}  # fmt: skip
    rec.add(metrics, mode="worker", per_set=args.per_set, ordinary=args.ordinary, set=args.set)
    return 0


# --- cost -----------------------------------------------------------------------------------


def fillers(items: list[EvalItem], n: int, rng: random.Random) -> list[EvalItem]:
    out = []
    for i in range(n):
        src = items[i % len(items)].text
        toks = list(src) if cjk_ratio(src) > 0.3 else src.split()
        rng.shuffle(toks)
        out.append(EvalItem("filler", str(i), ("" if cjk_ratio(src) > 0.3 else " ").join(toks)))
    return out


def run_cost(args: argparse.Namespace, s: Settings, rec: Recorder) -> int:
    from bench.suites.conversations import cpu_seconds
    from services.dev.workers import WorkerProcess, isolated_settings, wait_outputs
    from services.kafka.topics import ensure_topics
    from streams.replay import produce

    emb = embedder(batch=64, s=s)
    rng = random.Random(29)
    items = registered_items()
    vecs = vectors(emb, s, [i.text for i in items])
    extra = args.items - len(items)
    noise = np.random.default_rng(29).standard_normal((extra, vecs.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    t0 = time.process_time()
    matcher = EvalMatcher(
        items + fillers(items, extra, rng),
        np.concatenate([vecs, noise]),
        s.contamination_ngram,
        s.contamination_coverage,
        s.contamination_similarity,
        s.contamination_min_words,
    )
    build_s = time.process_time() - t0
    texts = [redact(normalize(t))[0] for _, t in streams(50, 3000)["ordinary"]]
    qv = vectors(emb, s, texts)
    rows = [v if np.abs(v).sum() > 0 else None for v in qv]
    t0 = time.process_time()
    for i in range(0, len(texts), 128):
        matcher.match(texts[i : i + 128], rows[i : i + 128])
    check_ms = 1000 * (time.process_time() - t0) / len(texts)
    with embedded_stack("contamination") as (stack, logs):
        ws = isolated_settings(stack, "ctmc", quota_max_share=1.0, mix_max_synthetic=1.0)
        ensure_topics(ws)
        events = [
            json.dumps({"event_id": f"{ws.namespace}-{i}", "prompt": t, "user_id": str(i)}).encode()
            for i, t in enumerate(texts)
        ]
        with WorkerProcess(ws, logs / f"worker-{ws.namespace}.log") as worker:
            produce(ws, [json.dumps({"event_id": f"{ws.namespace}-w", "prompt": "hi"}).encode()])
            wait_outputs(ws, 1, worker, 600, poll_s=0.5)
            cpu0 = cpu_seconds(worker.pid)
            produce(ws, events)
            wait_outputs(ws, len(events) + 1, worker, 1200, poll_s=1.0)
            worker_ms = 1000 * (cpu_seconds(worker.pid) - cpu0) / len(events)
    rec.header(f"cost, {len(matcher):,} items matched of {args.items:,}, {len(texts)} prompts")
    share = check_ms / worker_ms
    print(f"matcher built in {build_s:.1f} s CPU; check {check_ms:.3f} ms CPU/event; worker "
          f"without sets {worker_ms:.2f} ms CPU/event; the check adds {share:.1%}")  # fmt: skip
    rec.add({"items": len(matcher), "build_s": build_s, "check_ms_per_event": check_ms,
             "worker_ms_per_event": worker_ms, "share": share}, mode="cost")  # fmt: skip
    return 0


def run(args: argparse.Namespace, rec: Recorder) -> int:
    over: dict[str, Any] = dict(kv.split("=", 1) for kv in args.set)
    s = Settings(**over)
    if args.mode == "sweep":
        rec.header(f"sweep, {args.per_set} copied items per set")
        return run_sweep(args, s, rec)
    if args.mode == "cost":
        return run_cost(args, s, rec)
    return run_worker(args, s, rec)
