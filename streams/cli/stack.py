"""Commands that run Flywheel: the local stack, the topics, the worker, the demo, and the
operator's views of them (the ops API, lag and throughput in the terminal)."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from services.settings.load import load_settings
from streams.cli.base import broker_settings, count, settings


def cmd_dev(args: argparse.Namespace) -> int:
    from services.dev.devstack import DevStack

    dev = DevStack(load_settings().state_dir)
    if args.action == "up":
        stack = dev.up()
        for key, value in stack.env().items():
            print(f"export {key}={value}")
    elif args.action == "down":
        print("stopped" if dev.down() else "not running")
    else:
        running = dev.status()
        if running is None:
            print("not running")
            return 1
        print(json.dumps(running.__dict__))
    return 0


def cmd_topics(args: argparse.Namespace) -> int:
    from services.kafka.topics import ensure_topics

    created = ensure_topics(broker_settings(args))
    print(json.dumps({"created": created}))
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    import logging

    from faust.worker import Worker

    from services.kafka.topics import ensure_topics
    from streams.app import build_app

    s = broker_settings(args)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    ensure_topics(s)
    if s.metrics_port:
        from services.ops.metrics import serve_worker_http

        serve_worker_http(s.metrics_port)  # /metrics, /readyz (503 while a stage is stuck)
    app = build_app(s)
    worker = Worker(app, loglevel=s.log_level, quiet=True)
    logging.getLogger("services").setLevel(s.log_level.upper().replace("WARN", "WARNING"))
    worker.execute_from_commandline()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(n=args.events, seed=args.seed, keep=args.keep)


def cmd_ops(args: argparse.Namespace) -> int:
    from streams.ops_http import run_ops

    run_ops(settings())
    return 0


def cmd_lag(args: argparse.Namespace) -> int:
    from streams.terminal import watch_lag

    watch_lag(broker_settings(args), interval=args.interval, once=args.once)
    return 0


def cmd_top(args: argparse.Namespace) -> int:
    from streams.terminal import watch_top

    watch_top(broker_settings(args), interval=args.interval, once=args.once)
    return 0


def add_commands(sub: Any) -> None:
    """dev, topics, worker, demo, ops, lag, top."""
    p = sub.add_parser("dev", help="start/stop the embedded broker and Redis")
    p.add_argument(
        "action", choices=["up", "down", "status"], help="start, stop, or show the stack"
    )
    p.set_defaults(fn=cmd_dev)

    sub.add_parser("topics", help="create the contract topics").set_defaults(fn=cmd_topics)
    sub.add_parser("worker", help="run the Faust worker").set_defaults(fn=cmd_worker)

    p = sub.add_parser("demo", help="the main job end to end on the embedded stack")
    p.add_argument("--events", type=count, default=3000, help="synthetic events to replay")
    p.add_argument("--seed", type=int, default=7, help="random seed of the synthetic log")
    p.add_argument("--keep", action="store_true", help="leave the dev stack running")
    p.set_defaults(fn=cmd_demo)

    sub.add_parser("ops", help="serve the ops API and dashboard").set_defaults(fn=cmd_ops)
    for name, fn, text in (
        ("lag", cmd_lag, "consumer lag, refreshing"),
        ("top", cmd_top, "throughput, outcomes and lag, refreshing"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--interval", type=float, default=2.0, help="seconds between refreshes")
        p.add_argument("--once", action="store_true", help="print one table and exit")
        p.set_defaults(fn=fn)
