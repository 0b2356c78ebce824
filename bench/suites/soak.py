"""Soak: a steady chat stream for a long time, the worker SIGKILLed now and then.

On a fresh embedded stack: produces the generator's chat log at ``--rate`` events/s for
``--minutes``, kills the worker with SIGKILL at random moments (about every ``--kill-every``
seconds) and restarts it, then drains and checks the accounting invariant (every event in exactly
one output) and that no prompt_id was accepted twice. A line of progress a minute and a summary;
exits 1 if anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import random
import signal
import time

from bench.harness import Recorder, embedded_stack
from services.dev.accounting import read_outputs, topic_end_offsets
from services.dev.generator import ChatLogGenerator
from services.dev.workers import WorkerProcess, isolated_settings
from services.kafka.topics import ensure_topics
from streams.replay import producer


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--rate", type=float, default=40)
    ap.add_argument("--kill-every", type=float, default=120)
    ap.add_argument("--seed", type=int, default=1)


def run(args: argparse.Namespace, rec: Recorder) -> int:
    rng = random.Random(args.seed)
    with embedded_stack("soak") as (stack, logs):
        s = isolated_settings(stack, "soak", session_timeout_s=10)
        ensure_topics(s)
        gen = ChatLogGenerator(seed=args.seed, bad_rate=0.01).events(10**9, prefix=s.namespace)
        prod = producer(s)
        worker = WorkerProcess(s, logs / "worker.log").start()
        kills, sent = 0, 0
        start = time.monotonic()
        end = start + args.minutes * 60
        next_kill = start + rng.expovariate(1 / args.kill_every)
        next_report = start + 60
        try:
            while time.monotonic() < end:
                now = time.monotonic()
                for _ in range(max(int((now - start) * args.rate) - sent, 0)):
                    prod.send(s.topic_events, value=next(gen)[0])
                    sent += 1
                if now >= next_kill:
                    worker.kill(signal.SIGKILL)
                    kills += 1
                    worker.start()
                    next_kill = now + rng.expovariate(1 / args.kill_every)
                if now >= next_report:
                    out = read_outputs(s)
                    minutes = (now - start) / 60
                    print(f"{minutes:5.1f} min: sent {sent}, accounted {out.total}, kills {kills}")
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
            worker.kill(signal.SIGTERM)
    ok = not missing and not twice and not dup_pids and out.total == sent
    rec.header()
    print(
        f"soak {args.minutes} min at {args.rate}/s: sent {sent}, accounted {out.total} "
        f"(accepted {len(out.accepted)}, rejected {len(out.rejected)}, dlq {len(out.dlq)}), "
        f"kills {kills}, missing {len(missing)}, twice {len(twice)}, duplicate prompt_ids "
        f"{len(dup_pids)}: {'OK' if ok else 'FAILED'}"
    )
    rec.add(
        {
            "sent": sent,
            "accounted": out.total,
            "kills": kills,
            "missing": len(missing),
            "twice": len(twice),
            "duplicate_prompt_ids": len(dup_pids),
            "ok": ok,
        }
    )
    return 0 if ok else 1
