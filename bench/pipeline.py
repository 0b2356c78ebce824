"""End-to-end throughput and latency of the pipeline against the raw embedding ceiling.

    .venv/bin/python bench/pipeline.py [--n 2000] [--backend onnx] [--stream public|ood]
                                       [--rate EVENTS_PER_S]

One run, on the embedded stack (Tansu + redis-server started for the run): a worker process is
started and warmed up, then N distinct prompts are produced to chat.events as fast as possible.
Reported: events/s from the first produce to the last output, p50/p99 latency (produce ->
output record), the worker's peak RSS, and the raw embedding throughput of the same model and
backend on the same prompts (``Embedder.encode`` in batches of the worker's size) measured in the
same run, and the ratio of the two.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.baseline import naive_rate  # noqa: E402
from bench.common import machine, public_prompts, stamp  # noqa: E402
from services.clean.chain import Cleaned, Cleaner  # noqa: E402
from services.dev.accounting import read_outputs  # noqa: E402
from services.dev.devstack import DevStack, free_port  # noqa: E402
from services.embed.embedder import Embedder  # noqa: E402
from services.kafka.offsets import end_offsets_sync  # noqa: E402
from services.kafka.topics import ensure_topics  # noqa: E402
from services.keys import Keys  # noqa: E402
from services.settings import Settings  # noqa: E402
from streams.demo import percentile, start_worker, stop_worker  # noqa: E402
from streams.replay import produce  # noqa: E402


def events(texts: list[str], prefix: str) -> list[bytes]:
    return [
        json.dumps({"event_id": f"{prefix}-{i}", "prompt": t, "user_id": f"{prefix}-u{i}"}).encode()
        for i, t in enumerate(texts)
    ]


def passing(s: Settings, texts: list[str]) -> list[str]:
    """Only prompts that the filters pass and that are distinct after cleaning: every one of
    them reaches the embedding, so pipeline and ceiling embed the same prompts."""
    cleaner = Cleaner(s)
    out, seen = [], set()
    for i, text in enumerate(texts):
        raw = json.dumps({"event_id": str(i), "prompt": text}).encode()
        cand = cleaner.screen(raw)
        if isinstance(cand, Cleaned) and cand.pid not in seen:
            seen.add(cand.pid)
            out.append(text)
    return out


def output_count(consumer, tps) -> int:
    """Records on the output topics: the sum of their end offsets (cheap, unlike reading them
    back, which would take the worker's CPU on a small machine and slow what it measures)."""
    return sum(end_offsets_sync(consumer, tps).values())


def wait_total(s: Settings, n: int, proc, timeout_s: float) -> None:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=s.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    deadline = time.monotonic() + timeout_s
    try:
        topics = [s.topic_annotation, s.topic_rejected, s.topic_dlq]
        tps = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        while output_count(consumer, tps) < n:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker did not keep up: {read_outputs(s).total}/{n}")
            time.sleep(0.2)
    finally:
        consumer.close()
    while read_outputs(s).total < n:  # the end offsets agree with the records on a healthy run
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"worker did not keep up: {read_outputs(s).total}/{n}")
        time.sleep(0.5)


def start_profile(path: str, pid: int) -> subprocess.Popen:
    spy = subprocess.Popen(
        [
            shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--rate",
            "250",
            "--format",
            "raw",
        ]
        + ["--nonblocking", "--output", path],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # attached before the clock starts
    return spy


def cpu_seconds(pid: int, task: int | None = None) -> float:
    """User + system CPU seconds of a process (and its reaped children) so far; ``task``: of
    that one thread only."""
    path = f"/proc/{pid}/stat" if task is None else f"/proc/{pid}/task/{task}/stat"
    fields = Path(path).read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def cpu_split(pids: dict[str, list[int]], main: int) -> dict[str, float]:
    """CPU seconds per process kind, the worker's event-loop thread apart from its other
    threads (the thread pool that cleans, embeds and searches; the libraries' own threads)."""
    out = {k: sum(cpu_seconds(p) for p in v) for k, v in pids.items()}
    out["worker: event-loop thread"] = cpu_seconds(main, main)
    out["worker: other threads"] = out["worker"] - out["worker: event-loop thread"]
    return out


def raw_ceiling(emb: Embedder, texts: list[str], chunk: int) -> tuple[float, str]:
    """The faster of: all prompts in one encode call (globally length-sorted), and encode calls
    of one micro-batch each, as the pipeline makes them. Nothing else runs meanwhile."""
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


def embed_counters(s: Settings) -> tuple[int, float]:
    """Prompts embedded and seconds spent in the model, summed over the workers' stats."""
    import redis

    client = redis.Redis.from_url(s.redis_url.get_secret_value())
    keys = list(client.scan_iter(Keys(s.namespace).stats_pattern))
    snaps = [json.loads(v) for v in client.mget(keys) if v] if keys else []
    return sum(x.get("embedded", 0) for x in snaps), sum(x.get("embed_seconds", 0.0) for x in snaps)


def wait_assigned(s: Settings, n: int, timeout_s: float = 120) -> None:
    """Wait until the group has settled with ``n`` members (each publishes stats once it runs)."""
    import redis

    client = redis.Redis.from_url(s.redis_url.get_secret_value())
    deadline = time.monotonic() + timeout_s
    while (
        len(list(client.scan_iter(Keys(s.namespace).stats_pattern))) < n
        and time.monotonic() < deadline
    ):
        time.sleep(1)
    time.sleep(5)  # the last rebalance settles


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument(
        "--backend",
        default=None,
        help="torch | onnx | onnx-int8 | openvino | static | cascade (default: settings)",
    )
    ap.add_argument(
        "--stream",
        choices=["public", "ood"],
        default="public",
        help="public: distinct public prompts (--lang); ood: bench/ood_streams.py's mixed stream "
        "(a shared tool preamble, long notes, code behind a shared header, signed tickets; most "
        "prompts are near duplicates of an earlier one)",
    )
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument(
        "--lang", choices=["en", "mixed"], default="en", help="prompt set (bench/common.py)"
    )
    ap.add_argument(
        "--ops",
        choices=["on", "off"],
        default="on",
        help="on: worker metrics and stats, and the ops API sampling lag every 2 s; off: none",
    )
    ap.add_argument(
        "--rate",
        type=float,
        default=0,
        help="produce at this many events/s (0: all at once); latency at a given load",
    )
    ap.add_argument("--baseline", action="store_true", help="also run the naive baseline")
    ap.add_argument("--workers", type=int, default=1, help="worker processes in the group")
    ap.add_argument("--json", default=None, help="append the figures to this JSON-lines file")
    ap.add_argument(
        "--profile",
        default=None,
        help="sample the worker with py-spy (pip install py-spy) during the timed part and write "
        "its collapsed stacks here (one worker only)",
    )
    args = ap.parse_args()

    if args.stream == "ood":
        from services.dev.ood_streams import stream

        texts, origin = [t for t, _ in stream("mixed", 2 * args.n + 400)], "ood_streams mixed"
    else:
        texts, origin = public_prompts(2 * args.n + 400, args.lang)
    texts = passing(Settings(), texts)[: args.n + 200]
    warm, texts = texts[:200], texts[200:]
    state = Path(tempfile.mkdtemp(prefix="flywheel-bench-"))
    dev = DevStack(state)
    stack = dev.up()
    run = uuid.uuid4().hex[:6]
    overrides: dict = {"embedding_backend": args.backend} if args.backend else {}
    overrides["metrics_enabled"] = args.ops == "on"
    overrides["ops_port"] = free_port()
    overrides["metrics_port"] = 0  # several workers on one host would fight over one port
    s = Settings(
        kafka_bootstrap=stack.bootstrap,
        redis_url=stack.redis_url,
        app_id=f"bench-{run}",
        namespace=f"bench{run}",
        state_dir=ROOT / ".flywheel",
        partitions=args.partitions,
        **overrides,
    )
    ensure_topics(s)
    env = {**os.environ, **s.to_env(), "HF_HUB_OFFLINE": "1"}
    procs = [start_worker(env, state / f"worker-{i}.log") for i in range(args.workers)]
    proc = procs[0]
    ops = None
    if args.ops == "on":
        ops = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "ops"],
            env=env,
            stdout=open(state / "ops.log", "wb"),
            stderr=subprocess.STDOUT,
        )
    try:
        produce(s, events(warm, "warm"))  # model load, group join, first batches
        wait_total(s, len(warm), proc, 300)
        if args.workers > 1:  # every worker must own partitions before the clock starts
            wait_assigned(s, args.workers)
        before = embed_counters(s)
        pids = {
            "worker": [p.pid for p in procs],
            "broker": [stack.broker_pid],
            "redis": [stack.redis_pid],
            "ops API": [ops.pid] if ops is not None else [],
            "bench (produce, count)": [os.getpid()],
        }
        spy = start_profile(args.profile, proc.pid) if args.profile else None
        cpu0 = cpu_split(pids, proc.pid)
        t0 = time.time()
        produce(s, events(texts, "ev"), rate=args.rate)
        wait_total(s, len(warm) + len(texts), proc, 600)
        cpu1 = cpu_split(pids, proc.pid)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(60)
        out = read_outputs(s)
        time.sleep(2.5)  # one more stats publication
        after = embed_counters(s)
        rss = max(peak_rss_mb(p.pid) for p in procs)
        for p in procs:
            stop_worker(p)
        emb = Embedder(
            s.embedding_model, s.embedding_backend, s.state_dir / "models", s.embed_batch_size
        )
        emb.setup()
        emb.encode(warm)
        naive = naive_rate(s, emb, events(texts, "naive"), "bench.naive") if args.baseline else None
    finally:
        for p in procs:
            stop_worker(p)
        if ops is not None:
            ops.terminate()
            try:
                ops.wait(10)
            except subprocess.TimeoutExpired:  # the figures matter more than a clean exit
                ops.kill()
                ops.wait(10)
        dev.down()

    lat = out.latencies_since(t0 * 1000)
    eps = len(texts) / (out.last_output_ms / 1000 - t0)
    ceiling, how = raw_ceiling(emb, texts, s.batch_max)

    print(f"# {stamp()} | {machine()}")
    print(
        f"# {len(texts)} distinct prompts from {origin}; backend {s.embedding_backend}; "
        f"{args.partitions} partitions; micro-batch {s.batch_max}, encoder batch {s.embed_batch_size}; "
        f"metrics and ops API {args.ops}; {args.workers} worker process(es)"
    )
    print("| measure | value |\n|---|---|")
    print(f"| pipeline events/s (first produce -> last output) | {eps:.1f} |")
    print(f"| raw embedding prompts/s (same backend, same prompts; {how}) | {ceiling:.1f} |")
    print(f"| ratio pipeline / raw embedding | {eps / ceiling:.2f} |")
    print(f"| latency p50 / p99 (ms) | {percentile(lat, 50):.0f} / {percentile(lat, 99):.0f} |")
    print(
        f"| accepted / rejected / dlq | {len(out.accepted)} / {len(out.rejected)} / {len(out.dlq)} |"
    )
    reasons = Counter(r["reason"] for r in out.rejected)
    print(f"| rejected by reason | {', '.join(f'{k} {v}' for k, v in reasons.most_common())} |")
    print(f"| worker peak RSS (MB) | {rss:.0f} |")
    cpu_ms = {k: (cpu1[k] - cpu0[k]) * 1000 / len(texts) for k in cpu0}
    for name, ms in cpu_ms.items():
        print(f"| CPU ms per event: {name} | {ms:.3f} |")
    n_emb, secs_emb = after[0] - before[0], after[1] - before[1]
    wall = out.last_output_ms / 1000 - t0
    if secs_emb > 0:
        print(
            f"| embedding inside the worker: prompts/s while embedding | {n_emb / secs_emb:.1f} |"
        )
        print(
            f"| share of the run the embedding stage was busy | {secs_emb / wall / args.workers:.0%} |"
        )
    if naive is not None:
        print(
            f"| naive baseline events/s (one at a time: encode, flat search, produce) | {naive:.1f} |"
        )
        print(f"| ratio pipeline / naive baseline | {eps / naive:.2f} |")
    if args.json:
        result = {
            "date": stamp(),
            "machine": machine(),
            "prompts": len(texts),
            "origin": origin,
            "backend": s.embedding_backend,
            "stream": args.stream,
            "look_ahead": s.look_ahead,
            **(
                {"cascade_floor": s.cascade_floor, "cascade_k": s.cascade_k}
                if s.embedding_backend == "cascade"
                else {}
            ),
            "rejected": dict(reasons),
            "rate": args.rate,
            "pipeline_eps": eps,
            "ceiling": ceiling,
            "ceiling_how": how,
            "p50_ms": percentile(lat, 50),
            "p99_ms": percentile(lat, 99),
            "rss_mb": rss,
            "workers": args.workers,
            "naive_eps": naive,
            "cpu_ms_per_event": cpu_ms,
        }
        with open(args.json, "a") as fh:
            fh.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
