"""Soak: a steady chat stream for a long time, with the worker SIGKILLed now and then.

    .venv/bin/python bench/soak.py --minutes 30 --rate 40 --kill-every 120

On a fresh embedded stack: produces generated events at --rate events/s for --minutes, kills the
worker with SIGKILL at random moments (about every --kill-every seconds) and restarts it, then
drains and checks the accounting invariant (every event in exactly one output) and that no
prompt_id was accepted twice. Prints a line of progress a minute and a summary; exits 1 if
anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from services.dev.accounting import read_outputs, topic_end_offsets  # noqa: E402
from services.dev.devstack import DevStack  # noqa: E402
from services.dev.generator import ChatLogGenerator  # noqa: E402
from services.kafka.topics import ensure_topics  # noqa: E402
from services.settings import Settings  # noqa: E402
from streams.demo import start_worker, stop_worker  # noqa: E402
from streams.replay import producer  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=float, default=40)
    ap.add_argument("--kill-every", type=float, default=120)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    state = Path(tempfile.mkdtemp(prefix="flywheel-soak-"))
    dev = DevStack(state)
    stack = dev.up()
    run = uuid.uuid4().hex[:6]
    s = Settings(
        kafka_bootstrap=stack.bootstrap,
        redis_url=stack.redis_url,
        app_id=f"soak-{run}",
        namespace=f"soak{run}",
        state_dir=ROOT / ".flywheel",
        metrics_port=0,
        session_timeout_s=10,
    )
    ensure_topics(s)
    env = {**os.environ, **s.to_env()}
    gen = ChatLogGenerator(seed=args.seed, bad_rate=0.01).events(10**9, prefix=f"soak{run}")
    prod = producer(s)
    worker = start_worker(env, state / "worker.log")
    kills, sent = 0, 0
    start = time.monotonic()
    end = start + args.minutes * 60
    next_kill = start + rng.expovariate(1 / args.kill_every)
    next_report = start + 60
    try:
        while time.monotonic() < end:
            now = time.monotonic()
            due = int((now - start) * args.rate) - sent
            for _ in range(max(due, 0)):
                prod.send(s.topic_events, value=next(gen)[0])
                sent += 1
            if now >= next_kill:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()
                kills += 1
                worker = start_worker(env, state / "worker.log")
                next_kill = now + rng.expovariate(1 / args.kill_every)
            if now >= next_report:
                out = read_outputs(s)
                print(
                    f"{(now - start) / 60:5.1f} min: sent {sent}, accounted {out.total}, kills {kills}",
                    flush=True,
                )
                next_report += 60
            time.sleep(0.05)
        prod.flush()
        deadline = time.monotonic() + 600
        while read_outputs(s).total < sent and time.monotonic() < deadline:
            time.sleep(2)
        out = read_outputs(s)
        ends = topic_end_offsets(s.kafka_bootstrap, s.topic_events)
        missing, twice = out.missing(s.topic_events, ends), out.duplicated_srcs()
        dup_pids = out.duplicated_prompt_ids()
    finally:
        prod.close()
        stop_worker(worker)
        dev.down()
    ok = not missing and not twice and not dup_pids and out.total == sent
    print(
        f"soak {args.minutes} min at {args.rate}/s: sent {sent}, accounted {out.total} "
        f"(accepted {len(out.accepted)}, rejected {len(out.rejected)}, dlq {len(out.dlq)}), "
        f"kills {kills}, missing {len(missing)}, twice {len(twice)}, duplicate prompt_ids {len(dup_pids)}: "
        f"{'OK' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
