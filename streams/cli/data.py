"""Commands that move data in and out: a synthetic chat log, replaying a log to the input
topic, following and exporting the curated prompts, the contract's JSON Schemas."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from streams.cli.base import (
    CliError,
    broker_settings,
    count,
    existing_file,
    open_out,
    share,
    writable_file,
)


def cmd_generate(args: argparse.Namespace) -> int:
    from services.dev.generator import ChatLogGenerator

    gen = ChatLogGenerator(seed=args.seed, bad_rate=args.bad_rate)
    out = sys.stdout.buffer if args.out == "-" else open_out(args.out, "wb")
    with out:
        for raw, _ in gen.events(args.n, prefix=args.prefix):
            out.write(raw + b"\n")  # JSON escapes newlines: one message per line
    return 0


MAX_PROBLEMS_SHOWN = 20  # lines a gateway log could not give, listed on stderr; all are counted


def cmd_replay(args: argparse.Namespace) -> int:
    from streams.replay import read_lines, replay

    path = existing_file(Path(args.file))
    if args.format == "events":
        if args.requests:
            raise CliError("--requests is for --format openai")
        n = replay(broker_settings(args), read_lines(path), args.rate, not args.quiet)
        print(json.dumps({"produced": n}))
        return 0
    from services.contract.gateway_logs import convert

    requests = existing_file(Path(args.requests)).read_bytes() if args.requests else None
    done = convert(path.read_bytes().split(b"\n"), requests.split(b"\n") if requests else None)
    for problem in done.problems[:MAX_PROBLEMS_SHOWN]:
        print(f"flywheel replay: {problem}", file=sys.stderr)
    if len(done.problems) > MAX_PROBLEMS_SHOWN:
        more = len(done.problems) - MAX_PROBLEMS_SHOWN
        print(f"flywheel replay: ... and {more} more lines not converted", file=sys.stderr)
    n = replay(broker_settings(args), done.events, args.rate, not args.quiet) if done.events else 0
    print(json.dumps({"produced": n, "lines": done.lines, "not_converted": len(done.problems)}))
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
    from services.downstream.exports import renderer
    from services.downstream.subscriber import Subscriber

    try:
        render = renderer(args.format, with_response=args.with_response)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    writable_file(Path(args.out))
    sub = Subscriber(broker_settings(args), filters=_filters(args))
    n = left_out = 0
    with open_out(args.out, "w") as fh:
        if args.array:  # one JSON array: what Label Studio imports (docs/annotation-tools.md)
            fh.write("[\n")
        for rec in sub.snapshot():
            row = render(rec)
            if row is None:  # chat --with-response: the record kept no answer
                left_out += 1
                continue
            sep = ",\n" if args.array and n else ""
            fh.write(sep + json.dumps(row, ensure_ascii=False) + ("" if args.array else "\n"))
            n += 1
        if args.array:
            fh.write("\n]\n")
    summary = {"exported": n, "format": args.format, "out": args.out, "invalid": sub.invalid}
    if args.with_response:
        summary["without_response"] = left_out
    print(json.dumps(summary))
    return 0


def cmd_schemas(args: argparse.Namespace) -> int:
    from services.contract.schemas import write_schemas

    for path in write_schemas(Path(args.out)):
        print(path)
    return 0


def add_commands(sub: Any) -> None:
    """generate, replay, tail, export, schemas."""
    p = sub.add_parser("generate", help="write a synthetic chat log (JSON lines)")
    p.add_argument("-n", type=count, default=5000, help="number of messages (>= 0)")
    p.add_argument("--seed", type=int, default=7, help="random seed (same seed, same log)")
    p.add_argument(
        "--bad-rate", type=share, default=0.01, help="share of malformed messages (0 to 1)"
    )
    p.add_argument("--prefix", default="ev", help="event_id prefix")
    p.add_argument("--out", default="-", help="output file (- = standard output)")
    p.set_defaults(fn=cmd_generate)

    p = sub.add_parser("replay", help="produce a chat log file to the input topic")
    p.add_argument(
        "file",
        help="chat log, one JSON message per line (flywheel generate), or with --format openai "
        "an LLM gateway's request/response log",
    )
    p.add_argument(
        "--format",
        choices=["events", "openai"],
        default="events",
        help="events: lines are chat events as they are; openai: each line holds a "
        "chat.completions request and response, turned into a chat event",
    )
    p.add_argument(
        "--requests",
        help="openai: the OpenAI batch input file whose custom_ids the log's lines answer",
    )
    p.add_argument("--rate", type=float, default=0, help="events/s (0 = as fast as possible)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(fn=cmd_replay)

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
                choices=["jsonl", "chat", "label-studio", "argilla"],
                default="jsonl",
                help="records as they are, chat messages for fine-tuning, or tasks/records "
                "for an annotation tool",
            )
            p.add_argument(
                "--with-response",
                action="store_true",
                help="chat: end each conversation in the product's answer (records without "
                "one are left out); without it, conversations end in the user turn",
            )
            p.add_argument("--out", required=True, help="file to write")
            p.add_argument(
                "--array",
                action="store_true",
                help="write one JSON array instead of JSON lines (Label Studio imports arrays)",
            )
        p.set_defaults(fn=fn)

    p = sub.add_parser("schemas", help="write JSON Schemas of the contract")
    p.add_argument("--out", default="docs/schemas", help="directory to write the schemas to")
    p.set_defaults(fn=cmd_schemas)
