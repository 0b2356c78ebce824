"""The ``flywheel`` command line.

An operator's mistake (a bad or misspelt ``FLYWHEEL_*`` variable, no broker, a missing file) is
reported in one line on stderr and a non-zero exit, not a traceback: docs/operations.md,
"Command-line errors".
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import IO, Any, get_args

from services.settings import BACKEND_DEFAULTS, EmbeddingBackend, Settings
from services.settings_load import SettingsError, load_settings, unknown_variables

CONNECT_TIMEOUT_S = 10.0  # how long a command waits for the broker before giving up


class CliError(Exception):
    """A problem the operator can fix; main prints it as one line and exits 1."""


def settings() -> Settings:
    """Settings from the environment; without FLYWHEEL_KAFKA_BOOTSTRAP / FLYWHEEL_REDIS_URL the
    running dev stack (``flywheel dev up``) supplies them."""
    from services.dev.devstack import DevStack

    base = load_settings()
    stack = DevStack(base.state_dir).status()
    if stack is None:
        return base
    overrides: dict[str, Any] = {
        k.removeprefix("FLYWHEEL_").lower(): v
        for k, v in stack.env().items()
        if k not in os.environ
    }
    return load_settings(**overrides) if overrides else base


def broker_settings(args: argparse.Namespace) -> Settings:
    """``settings()`` once the broker accepts connections: commands that need it fail in one
    line, after ``--connect-timeout`` seconds, instead of a client's traceback."""
    s = settings()
    wait_for_broker(s.kafka_bootstrap, args.connect_timeout)
    return s


def wait_for_broker(bootstrap: str, timeout_s: float) -> None:
    """Return once one of the ``host:port[,...]`` addresses accepts a TCP connection; raise
    ``CliError`` naming them after ``timeout_s``."""
    addresses = []
    for item in bootstrap.split(","):
        host, _, port = item.strip().rpartition(":")
        if host and port.isdigit():
            addresses.append((host.strip("[]"), int(port)))
    if not addresses:
        raise CliError(f"FLYWHEEL_KAFKA_BOOTSTRAP={bootstrap}: expected host:port[,host:port]")
    deadline = time.monotonic() + timeout_s
    while True:
        for address in addresses:
            try:
                with socket.create_connection(address, timeout=min(1.0, max(timeout_s, 0.1))):
                    return
            except OSError:
                pass
        if time.monotonic() >= deadline:
            raise CliError(
                f"cannot reach the Kafka broker at {bootstrap} (FLYWHEEL_KAFKA_BOOTSTRAP) within "
                f"{timeout_s:g} s; start the local stack with `flywheel dev up`"
            )
        time.sleep(0.2)


def _writable_file(path: Path) -> None:
    """Refuse an output path that cannot be written before any work is done."""
    if path.is_dir():
        raise CliError(f"cannot write {path}: it is a directory")
    parent = path.parent
    if not parent.is_dir():
        raise CliError(f"cannot write {path}: directory {parent} does not exist")
    if not os.access(path if path.exists() else parent, os.W_OK):
        raise CliError(f"cannot write {path}: permission denied")


def _open_out(path: str, mode: str) -> IO[Any]:
    """``open`` with an OSError (a full disk, a read-only file system) as one line."""
    try:
        return open(path, mode, encoding=None if "b" in mode else "utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {path}: {exc.strerror or exc}") from None


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative: expected a count >= 0")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:  # also refuses nan
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


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


def cmd_generate(args: argparse.Namespace) -> int:
    from services.dev.generator import ChatLogGenerator

    gen = ChatLogGenerator(seed=args.seed, bad_rate=args.bad_rate)
    out = sys.stdout.buffer if args.out == "-" else _open_out(args.out, "wb")
    with out:
        for raw, _ in gen.events(args.n, prefix=args.prefix):
            out.write(raw + b"\n")  # JSON escapes newlines: one message per line
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.replay import replay_file

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"no such file: {path}")
    n = replay_file(broker_settings(args), path, rate=args.rate, progress=not args.quiet)
    print(json.dumps({"produced": n}))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from streams.demo import run_demo

    return run_demo(n=args.events, seed=args.seed, keep=args.keep)


def cmd_model(args: argparse.Namespace) -> int:
    """Load (and on first use export, or distil for ``static``) the embedding model of every
    backend asked for."""
    from services.embed.embedder import Embedder

    s = Settings()
    for backend in args.backend or [s.embedding_backend]:
        emb = Embedder(
            s.embedding_model,
            backend,
            s.state_dir / "models",
            verifier_backend=s.cascade_verifier,
        ).setup()
        print(
            json.dumps(
                {
                    "backend": backend,
                    "model": emb.model_name,
                    "dim": emb.dim,
                    "fingerprint": emb.fingerprint,
                }
            )
        )
    return 0


def reindex_target(
    source: Settings, namespace: str, backend: str | None, model: str | None
) -> Settings:
    """The settings of the workers that will take over: the source's, with the new namespace,
    backend and model."""
    overrides: dict[str, Any] = {n: getattr(source, n) for n in source.model_fields_set}
    overrides["namespace"] = namespace
    if backend and backend != source.embedding_backend:
        overrides["embedding_backend"] = backend
        # a backend default the source spelt out (FLYWHEEL_TOPICS_PATH="" from a worker's full
        # environment) is the old backend's, not a choice: the new backend's applies
        was = BACKEND_DEFAULTS.get(source.embedding_backend, {})
        now = BACKEND_DEFAULTS.get(backend, {})
        for name in now.keys() | was.keys():
            default = Settings.model_fields[name].default
            if overrides.get(name, was.get(name, default)) == was.get(name, default):
                overrides[name] = now.get(name, default)  # wins over the environment too
    if model is not None:
        overrides["embedding_model"] = model
    return load_settings(**overrides)


def cmd_reindex(args: argparse.Namespace) -> int:
    """Re-embed the accepted set (``prompts.annotation``) into a new namespace with the target
    backend/model (services/pipeline/reindex.py); progress on stderr, a one-line summary."""
    import asyncio

    import redis.asyncio as aioredis

    from services.embed.clusters import TopicModel
    from services.embed.embedder import Embedder
    from services.embed.fingerprint import ModelMismatch
    from services.pipeline.reindex import reindex

    source = broker_settings(args)
    if args.to_namespace == source.namespace:
        raise CliError(
            f"--to-namespace {args.to_namespace} is the namespace being read "
            "(FLYWHEEL_NAMESPACE): reindex into a new one"
        )
    target = reindex_target(source, args.to_namespace, args.backend, args.model)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    def say(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    async def run() -> str:
        emb = Embedder(
            target.embedding_model,
            target.embedding_backend,
            target.state_dir / "models",
            target.embed_batch_size,
            verifier_backend=target.cascade_verifier,
        )
        await asyncio.to_thread(emb.setup)
        topics = await asyncio.to_thread(TopicModel.load, target.topics_path or None)
        say(
            f"reindex: {target.topic_annotation} -> namespace {target.namespace} "
            f"(backend {target.embedding_backend}, model {emb.fingerprint})"
        )
        redis = aioredis.from_url(target.redis_url.get_secret_value())
        try:
            summary = await reindex(redis, target, emb, topics, source.namespace, progress=say)
        finally:
            await redis.aclose()
        return summary.line(target.namespace, emb.fingerprint)

    try:
        print(asyncio.run(run()))
    except (ModelMismatch, LookupError, TimeoutError) as exc:
        raise CliError(str(exc)) from None
    return 0


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


def _filters(args: argparse.Namespace):
    from services.downstream.subscriber import Filters

    return Filters(set(args.lang or []), set(args.source or []), set(args.cluster or []))


def cmd_tail(args: argparse.Namespace) -> int:
    """Follow the curated prompts as JSON lines (validated; filters by language, source, cluster)."""
    from services.downstream.subscriber import Subscriber

    sub = Subscriber(broker_settings(args), group=args.group, filters=_filters(args))
    records = sub.snapshot() if args.once else sub.follow()
    for rec in records:
        print(rec.model_dump_json(), flush=True)
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from services.downstream.subscriber import FORMATS, Subscriber

    _writable_file(Path(args.out))
    sub = Subscriber(broker_settings(args), filters=_filters(args))
    render = FORMATS[args.format]
    n = 0
    with _open_out(args.out, "w") as fh:
        if args.array:  # one JSON array: what Label Studio's import accepts (docs/label-studio.md)
            fh.write("[\n")
        for rec in sub.snapshot():
            sep = ",\n" if args.array and n else ""
            fh.write(
                sep + json.dumps(render(rec), ensure_ascii=False) + ("" if args.array else "\n")
            )
            n += 1
        if args.array:
            fh.write("\n]\n")
    print(
        json.dumps({"exported": n, "format": args.format, "out": args.out, "invalid": sub.invalid})
    )
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from services.contract.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="flywheel", description=__doc__)
    parser.add_argument(
        "--connect-timeout",
        type=float,
        default=CONNECT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"how long to wait for the Kafka broker (default {CONNECT_TIMEOUT_S:g})",
    )
    sub = parser.add_subparsers(dest="cmd", required=True)

    p = sub.add_parser("dev", help="start/stop the embedded broker and Redis")
    p.add_argument(
        "action", choices=["up", "down", "status"], help="start, stop, or show the stack"
    )
    p.set_defaults(fn=cmd_dev)

    sub.add_parser("topics", help="create the contract topics").set_defaults(fn=cmd_topics)
    sub.add_parser("worker", help="run the Faust worker").set_defaults(fn=cmd_worker)

    p = sub.add_parser("generate", help="write a synthetic chat log (JSON lines)")
    p.add_argument("-n", type=_count, default=5000, help="number of messages (>= 0)")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same log)")
    p.add_argument(
        "--bad-rate", type=_share, default=0.01, help="share of malformed messages (0 to 1)"
    )
    p.add_argument("--prefix", default="ev", help="event_id prefix")
    p.add_argument("--out", default="-", help="output file (- = standard output)")
    p.set_defaults(fn=cmd_generate)

    p = sub.add_parser("replay", help="produce a chat log file to the input topic")
    p.add_argument("file", help="chat log, one JSON message per line (flywheel generate)")
    p.add_argument("--rate", type=float, default=0, help="events/s (0 = as fast as possible)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=cmd_replay)

    p = sub.add_parser("demo", help="the main job end to end on the embedded stack")
    p.add_argument("--events", type=_count, default=3000, help="synthetic events to replay")
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

    for name, fn, text in (
        ("tail", cmd_tail, "follow curated prompts"),
        ("export", cmd_export, "export curated prompts to a file"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--lang", action="append", help="keep this language (repeatable)")
        p.add_argument(
            "--source",
            action="append",
            choices=["real", "synthetic"],
            help="keep this source (repeatable)",
        )
        p.add_argument(
            "--cluster", action="append", type=int, help="keep this topic cluster (repeatable)"
        )
        if name == "tail":
            p.add_argument("--group", default=None, help="consumer group (default: none)")
            p.add_argument("--once", action="store_true", help="print what is there now and exit")
        else:
            p.add_argument(
                "--format",
                choices=["jsonl", "label-studio", "argilla"],
                default="jsonl",
                help="records as they are, or tasks/records for an annotation tool",
            )
            p.add_argument("--out", required=True, help="file to write")
            p.add_argument(
                "--array",
                action="store_true",
                help="write one JSON array instead of JSON lines (Label Studio imports arrays)",
            )
        p.set_defaults(fn=fn)

    p = sub.add_parser(
        "model", help="prepare the embedding model (ONNX export or static distillation, cached)"
    )
    p.add_argument(
        "--backend",
        action="append",
        choices=list(get_args(EmbeddingBackend)),
        help="backend to prepare (repeatable; default FLYWHEEL_EMBEDDING_BACKEND)",
    )
    p.set_defaults(fn=cmd_model)

    p = sub.add_parser(
        "reindex",
        help="re-embed the accepted prompts into a new namespace (switching backend or model)",
    )
    p.add_argument(
        "--to-namespace", required=True, metavar="NS", help="Redis namespace to write (new)"
    )
    p.add_argument(
        "--backend",
        choices=list(get_args(EmbeddingBackend)),
        help="backend of the new workers (default FLYWHEEL_EMBEDDING_BACKEND)",
    )
    p.add_argument(
        "--model", default=None, help="model of the new workers (default FLYWHEEL_EMBEDDING_MODEL)"
    )
    p.add_argument(
        "--from-beginning",
        action="store_true",
        help="read prompts.annotation from its earliest retained offset (always done; prompts "
        "already in the target are skipped, so a re-run only adds what is new)",
    )
    p.set_defaults(fn=cmd_reindex)

    p = sub.add_parser("schemas", help="write JSON Schemas of the contract")
    p.add_argument("--out", default="docs/schemas", help="directory to write the schemas to")
    p.set_defaults(fn=cmd_schemas)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        for warning in unknown_variables():
            print(f"flywheel: {warning}", file=sys.stderr)
        load_settings()  # every command: a bad variable is reported before anything runs
        return int(args.fn(args) or 0)
    except SettingsError as exc:
        for line in str(exc).splitlines():
            print(f"flywheel: {line}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"flywheel {args.cmd}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
