"""``flywheel demo``: the main job end to end on the embedded stack, with a summary table."""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from services.dev.accounting import Outputs, read_outputs, topic_end_offsets
from services.dev.devstack import DevStack
from services.dev.generator import ChatLogGenerator
from services.dev.workers import start_worker, stop_worker
from services.diversity.quota import entropy_bits
from services.kafka.topics import ensure_topics
from services.keys import Keys
from services.settings import Settings
from streams.replay import produce


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def wait_ready(s: Settings, worker: subprocess.Popen, timeout_s: float = 180) -> None:
    """A worker is ready once its runtime is set up: it then publishes stats to Redis."""
    import redis

    client = redis.Redis.from_url(s.redis_url.get_secret_value())
    deadline = time.monotonic() + timeout_s
    while not client.zcard(Keys(s.namespace).workers):
        if worker.poll() is not None or time.monotonic() > deadline:
            return  # the follow loop reports what happens next
        time.sleep(0.5)
    time.sleep(2)  # group join completes


def run_demo(n: int, seed: int, keep: bool) -> int:
    console = Console()
    base = Settings()
    dev = DevStack(base.state_dir)
    dev.down()  # a fresh, empty stack: the demo's figures are then reproducible
    stack = dev.up()
    env = {**os.environ, **stack.env(), "HF_HUB_OFFLINE": "1"}
    s = Settings(kafka_bootstrap=stack.bootstrap, redis_url=stack.redis_url)
    console.print(f"[bold]embedded stack[/]: broker {stack.bootstrap}, redis {stack.redis_url}")
    ensure_topics(s)
    log_path = s.state_dir / "dev" / "worker.log"
    worker = start_worker(env, log_path)
    console.print(f"worker pid {worker.pid}, log {log_path}")
    try:
        messages = [raw for raw, _ in ChatLogGenerator(seed=seed, bad_rate=0.01).events(n)]
        with console.status("worker starting (model, consumer group)…"):
            wait_ready(s, worker)
        out = _replay_and_follow(console, s, messages, worker)
        stop_worker(worker)
        return _summary(console, s, n, out)
    finally:
        stop_worker(worker)
        if not keep:
            dev.down()


def _replay_and_follow(
    console: Console, s: Settings, messages: list[bytes], worker: subprocess.Popen
) -> Outputs:
    n = len(messages)
    deadline = time.monotonic() + 300 + n / 20
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        produced = bar.add_task("produced to chat.events", total=n)
        done = bar.add_task("accounted for (accepted | rejected | DLQ)", total=n)
        produce(s, messages, on_sent=lambda k: bar.update(produced, completed=k))
        while True:
            out = read_outputs(s)
            bar.update(done, completed=out.total)
            if out.total >= n or time.monotonic() > deadline or worker.poll() is not None:
                return out
            time.sleep(1.0)


def _summary(console: Console, s: Settings, n: int, out: Outputs) -> int:
    ends = topic_end_offsets(s.kafka_bootstrap, s.topic_events)
    missing = out.missing(s.topic_events, ends)
    dup_src, dup_pid = out.duplicated_srcs(), out.duplicated_prompt_ids()
    span_s = max((out.last_output_ms - out.first_input_ms) / 1000, 1e-9)

    table = Table(title="Flywheel demo", show_header=True)
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("events in", str(n))
    table.add_row("accepted (prompts.annotation)", str(len(out.accepted)))
    for reason, count in sorted(out.reasons().items()):
        table.add_row(f"rejected: {reason}", str(count))
    table.add_row("dead-lettered (chat.events.dlq)", str(len(out.dlq)))
    table.add_row("accounted / missing / twice", f"{out.total} / {len(missing)} / {len(dup_src)}")
    table.add_row("duplicate prompt_ids accepted", str(len(dup_pid)))
    clusters = Counter(r["cluster"] for r in out.accepted if r.get("cluster") is not None)
    if clusters:
        top = clusters.most_common(1)[0][1] / sum(clusters.values())
        bits = entropy_bits(clusters.values())
        table.add_row(
            "topic clusters covered / entropy / top share",
            f"{len(clusters)} of 64 / {bits:.2f} bits / {100 * top:.1f} %",
        )
    synthetic = sum(r["source"] == "synthetic" for r in out.accepted)
    table.add_row(
        "synthetic share of accepted", f"{100 * synthetic / max(1, len(out.accepted)):.1f} %"
    )
    table.add_row("throughput (first input -> last output)", f"{n / span_s:.1f} events/s")
    table.add_row(
        "latency p50 / p99 (produce -> output)",
        f"{percentile(out.latencies_ms, 50):.0f} / {percentile(out.latencies_ms, 99):.0f} ms",
    )
    console.print(table)

    sample = Table(title="a few accepted prompts", show_header=True)
    for col in ("prompt_id", "lang", "cluster", "q x d", "novelty", "nearest sim", "text"):
        sample.add_column(col)
    for rec in out.accepted[:: max(1, len(out.accepted) // 8)][:8]:
        near = rec["nearest"]["similarity"] if rec["nearest"] else None
        nov = rec["scores"]["novelty"]
        sample.add_row(
            rec["prompt_id"][:12],
            rec["lang"],
            "-" if rec.get("cluster") is None else str(rec["cluster"]),
            f"{(rec['scores'].get('quality') or 0) * (rec['scores'].get('difficulty') or 0):.2f}",
            "-" if nov is None else f"{nov:.2f}",
            "-" if near is None else f"{near:.2f}",
            rec["text"][:60],
        )
    console.print(sample)
    ok = not missing and not dup_src and not dup_pid and out.total == n
    console.print(
        "[green]accounting invariant holds[/]" if ok else "[red]accounting invariant BROKEN[/]"
    )
    return 0 if ok else 1
