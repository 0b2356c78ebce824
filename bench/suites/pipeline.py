"""End-to-end throughput and latency of the worker against the raw embedding ceiling.

One run on a fresh embedded stack: worker processes are started and warmed up with 200
prompts, then ``--n`` distinct prompts are produced to chat.events (all at once, or at ``--rate``
events/s). Reported: events/s from the first produce to the last output, p50/p99 latency
(produce -> output record), the workers' peak RSS, CPU ms per event by process, and the raw
embedding throughput of the same model and backend on the same prompts, measured in the same run
(``Embedder.encode``, the faster of one call and calls of one micro-batch). ``--baseline`` also
runs the naive loop (one event at a time: encode, flat search, produce and wait).
``--plot DST`` draws the recorded runs (bench/results/pipeline.jsonl) instead of running.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bench.harness import (
    Recorder,
    embedded_stack,
    embedder,
    events,
    percentile,
    public_prompts,
    results,
    start_workers,
    stop_workers,
    warm_up,
)
from services.clean.chain import Cleaned, Cleaner
from services.clean.text import normalize
from services.dev.accounting import read_outputs
from services.dev.devstack import free_port
from services.dev.ood_streams import stream
from services.dev.workers import isolated_settings, wait_outputs
from services.embed.embedder import Embedder
from services.kafka.offsets import end_offsets_sync
from services.kafka.topics import ensure_topics
from services.keys import Keys
from services.settings import Settings
from streams.replay import produce


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--backend", default=None, help="embedding backend (default: settings)")
    ap.add_argument(
        "--stream",
        choices=["public", "ood"],
        default="public",
        help="public: distinct public prompts (--lang); ood: the mixed stream of "
        "services/dev/ood_streams.py (most prompts near duplicates of an earlier one)",
    )
    ap.add_argument("--lang", choices=["en", "mixed"], default="en")
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--workers", type=int, default=1, help="worker processes in the group")
    ap.add_argument("--rate", type=float, default=0, help="events/s (0: all at once)")
    ap.add_argument("--ops", choices=["on", "off"], default="on", help="run the ops API too")
    ap.add_argument("--baseline", action="store_true", help="also run the naive baseline")
    ap.add_argument("--profile", default=None, help="py-spy collapsed stacks of the worker here")
    ap.add_argument("--plot", default=None, help="draw the recorded runs into this PNG and stop")


def passing(s: Settings, texts: list[str]) -> list[str]:
    """Prompts the filters pass, distinct after cleaning: all of them reach the embedding, so
    the pipeline and the ceiling embed the same prompts."""
    cleaner = Cleaner(s)
    out, seen = [], set()
    for i, text in enumerate(texts):
        cand = cleaner.screen(json.dumps({"event_id": str(i), "prompt": text}).encode())
        if isinstance(cand, Cleaned) and cand.pid not in seen:
            seen.add(cand.pid)
            out.append(text)
    return out


def wait_total(s: Settings, n: int, proc, timeout_s: float) -> None:
    """The sum of the output topics' end offsets (cheap: reading the records back would take the
    worker's CPU on a small machine), then the records themselves once."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, group_id=None)
    deadline = time.monotonic() + timeout_s
    try:
        topics = [s.topic_annotation, s.topic_rejected, s.topic_dlq]
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        while sum(end_offsets_sync(consumer, tps).values()) < n:
            if not proc.alive() or time.monotonic() > deadline:
                raise SystemExit(f"worker did not keep up: {read_outputs(s).total}/{n}")
            time.sleep(0.2)
    finally:
        consumer.close()
    wait_outputs(s, n, proc, max(deadline - time.monotonic(), 1), poll_s=0.5)


def cpu_seconds(pid: int, task: int | None = None) -> float:
    """User + system CPU seconds of a process (and its reaped children); ``task``: one thread."""
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_split(pids: dict[str, list[int]], main: int) -> dict[str, float]:
    """CPU seconds per process kind; the worker's event-loop thread apart from its others."""
    out = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
    out["worker: event-loop thread"] = cpu_seconds(main, main)
    out["worker: other threads"] = out["worker"] - out["worker: event-loop thread"]
    return out


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def embed_counters(s: Settings) -> tuple[int, float]:
    """Prompts embedded and seconds spent in the model, summed over the workers' stats."""
    import redis

    client = redis.Redis.from_url(s.redis_url.get_secret_value())
    k = Keys(s.namespace)
    keys = [k.stats(w.decode()) for w in client.zrange(k.workers, 0, -1)]
    snaps = [json.loads(v) for v in client.mget(keys) if v] if keys else []
    return sum(x.get("embedded", 0) for x in snaps), sum(x.get("embed_seconds", 0.0) for x in snaps)


def raw_ceiling(emb: Embedder, texts: list[str], chunk: int) -> tuple[float, str]:
    """The faster of one encode call (globally length-sorted) and calls of one micro-batch."""
    rates = {}
    t = time.perf_counter()
    emb.encode(texts)
    rates["one call"] = len(texts) / (time.perf_counter() - t)
    t = time.perf_counter()
    for i in range(0, len(texts), chunk):
        emb.encode(texts[i : i + chunk])
    rates[f"calls of {chunk}"] = len(texts) / (time.perf_counter() - t)
    how = max(rates, key=rates.__getitem__)
    return rates[how], how


def naive_rate(s: Settings, emb: Embedder, raw_events: list[bytes]) -> float:
    """Events/s of the naive loop: parse, encode, flat search, produce and wait, one by one."""
    import faiss
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=s.kafka_bootstrap, acks="all", linger_ms=0)
    index = faiss.IndexFlatIP(emb.dim)
    try:
        t0 = time.perf_counter()
        for raw in raw_events:
            event = json.loads(raw)
            vec = emb.encode([normalize(event["prompt"])])
            accept = index.ntotal == 0 or index.search(vec, 1)[0][0][0] < s.near_dup_threshold
            if accept:
                index.add(vec)
            record = {"event_id": event["event_id"], "accepted": bool(accept)}
            producer.send("bench.naive", json.dumps(record).encode()).get(timeout=30)
        return len(raw_events) / (time.perf_counter() - t0)
    finally:
        producer.close()


def start_profile(path: str, pid: int) -> subprocess.Popen:
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    cmd = [spy, "record", "--pid", str(pid), "--rate", "250", "--format", "raw"]
    proc = subprocess.Popen(
        [*cmd, "--nonblocking", "--output", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached before the clock starts
    return proc


def run(args: argparse.Namespace, rec: Recorder) -> int:
    if args.plot:
        plot(args.plot)
        return 0
    if args.stream == "ood":
        texts, origin = [t for t, _ in stream("mixed", 2 * args.n + 400)], "ood_streams mixed"
    else:
        texts, origin = public_prompts(2 * args.n + 400, args.lang)
    texts = passing(Settings(), texts)[: args.n + 200]
    warm, texts = texts[:200], texts[200:]
    overrides = {"embedding_backend": args.backend} if args.backend else {}
    with embedded_stack("pipeline") as (stack, logs):
        s = isolated_settings(
            stack, "bench", partitions=args.partitions, ops_port=free_port(), **overrides
        )
        ensure_topics(s)
        workers = start_workers(s, args.workers, logs)
        ops = None
        if args.ops == "on":
            env = {**os.environ, **s.to_env(), "HF_HUB_OFFLINE": "1"}
            ops = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "ops"],
                env=env,
                stdout=open(logs / "ops.log", "wb"),  # the child process owns it
                stderr=subprocess.STDOUT,
            )
        try:
            warm_up(s, workers, warm)
            before = embed_counters(s)
            main = workers[0].pid
            pids = {
                "worker": [w.pid for w in workers],
                "broker": [stack.broker_pid],
                "redis": [stack.redis_pid],
                "ops API": [ops.pid] if ops is not None else [],
                "bench (produce, count)": [os.getpid()],
            }
            spy = start_profile(args.profile, main) if args.profile else None
            cpu0 = cpu_split(pids, main)
            t0 = time.time()
            produce(s, events(texts, "ev"), rate=args.rate)
            wait_total(s, len(warm) + len(texts), workers[0], 600)
            cpu1 = cpu_split(pids, main)
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(60)
            out = read_outputs(s)
            time.sleep(2.5)  # one more stats publication
            after = embed_counters(s)
            rss = max(peak_rss_mb(w.pid) for w in workers)
            stop_workers(workers)
            emb = embedder(s=s)
            emb.encode(warm)
            naive = naive_rate(s, emb, events(texts, "naive")) if args.baseline else None
        finally:
            stop_workers(workers)
            if ops is not None:
                ops.terminate()
                try:
                    ops.wait(10)
                except subprocess.TimeoutExpired:  # the figures matter more than a clean exit
                    ops.kill()
                    ops.wait(10)

    lat = out.latencies_since(t0 * 1000)
    wall = out.last_output_ms / 1000 - t0
    eps = len(texts) / wall
    ceiling, how = raw_ceiling(emb, texts, s.batch_max)
    reasons = Counter(r["reason"] for r in out.rejected)
    cpu_ms = {k: (cpu1[k] - cpu0[k]) * 1000 / len(texts) for k in cpu0}
    n_emb, secs_emb = after[0] - before[0], after[1] - before[1]
    rec.header(
        f"{len(texts)} distinct prompts from {origin}; backend {s.embedding_backend}; "
        f"{args.partitions} partitions; micro-batch {s.batch_max}, encoder batch "
        f"{s.embed_batch_size}; ops API {args.ops}; {args.workers} worker process(es)"
    )
    rows = {
        "pipeline events/s (first produce -> last output)": f"{eps:.1f}",
        f"raw embedding prompts/s (same backend, same prompts; {how})": f"{ceiling:.1f}",
        "ratio pipeline / raw embedding": f"{eps / ceiling:.2f}",
        "latency p50 / p99 (ms)": f"{percentile(lat, 50):.0f} / {percentile(lat, 99):.0f}",
        "accepted / rejected / dlq": f"{len(out.accepted)} / {len(out.rejected)} / {len(out.dlq)}",
        "rejected by reason": ", ".join(f"{k} {v}" for k, v in reasons.most_common()),
        "worker peak RSS (MB)": f"{rss:.0f}",
        **{f"CPU ms per event: {k}": f"{ms:.3f}" for k, ms in cpu_ms.items()},
    }
    if secs_emb > 0:
        rows["embedding inside the worker: prompts/s while embedding"] = f"{n_emb / secs_emb:.1f}"
        rows["share of the run the embedding stage was busy"] = (
            f"{secs_emb / wall / args.workers:.0%}"
        )
    if naive is not None:
        rows["naive baseline events/s (one at a time)"] = f"{naive:.1f}"
        rows["ratio pipeline / naive baseline"] = f"{eps / naive:.2f}"
    print("| measure | value |\n|---|---|")
    for name, value in rows.items():
        print(f"| {name} | {value} |")
    cascade = s.embedding_backend == "cascade"
    rec.add(
        {
            "pipeline_eps": eps,
            "ceiling": ceiling,
            "ceiling_how": how,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "rss_mb": rss,
            "naive_eps": naive,
            "rejected": dict(reasons),
            "cpu_ms_per_event": cpu_ms,
        },
        prompts=len(texts),
        origin=origin,
        backend=s.embedding_backend,
        **({"cascade_floor": s.cascade_floor, "cascade_k": s.cascade_k} if cascade else {}),
    )
    return 0


def plot(dst: str) -> None:
    """Naive baseline, pipeline and ceiling of every recorded run, as bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = results("pipeline")
    series = {
        "naive baseline": [r["metrics"].get("naive_eps") or 0 for r in runs],
        "pipeline": [r["metrics"]["pipeline_eps"] for r in runs],
        "raw embedding ceiling": [r["metrics"]["ceiling"] for r in runs],
    }
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.8 / len(series)
    for k, (name, values) in enumerate(series.items()):
        bars = ax.bar([i + (k - 1) * width for i in range(len(runs))], values, width, label=name)
        ax.bar_label(bars, fmt="%.0f", fontsize=8)
    ax.set_xticks(range(len(runs)), [f"run {i + 1}" for i in range(len(runs))])
    ax.set_ylabel("events (prompts) per second")
    r0 = runs[0]
    ax.set_title(
        f"Flywheel on {r0['machine'].split(',')[1].strip()}: {r0['params']['prompts']} distinct "
        f"prompts, backend {r0['params']['backend']}",
        fontsize=10,
    )
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(dst, dpi=110)
