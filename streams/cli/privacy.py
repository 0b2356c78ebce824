"""``flywheel forget``: ask the workers to erase a user's, an event's or a prompt's data.

The request goes on ``privacy.erasure`` like any automated one (docs/privacy.md); with
``--wait`` the command follows ``privacy.audit`` until the request's record arrives and prints
it (hashes and counts only). The raw user id is sent to the workers, which hash it at once; it is
never printed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
import uuid
from typing import Any

from streams.cli.base import CliError, broker_settings


def cmd_forget(args: argparse.Namespace) -> int:
    from kafka import KafkaConsumer, TopicPartition

    from services.contract.records import ErasureRequest, now_utc
    from services.kafka.offsets import end_offsets_sync
    from streams.replay import producer

    named = {"user_id": args.user, "prompt_id": args.prompt_id, "event_id": args.event_id}
    request_id = args.request_id or str(uuid.uuid4())
    try:
        req = ErasureRequest(request_id=request_id, requested_at=now_utc(), **named)
    except ValueError as exc:
        raise CliError(str(exc).splitlines()[-1]) from None
    s = broker_settings(args)
    audit = TopicPartition(s.topic_audit, 0)
    consumer = KafkaConsumer(bootstrap_servers=s.kafka_bootstrap, group_id=None)
    try:
        start = end_offsets_sync(consumer, [audit]).get(audit, 0) if args.wait else 0
        prod = producer(s)
        try:
            prod.send(
                s.topic_erasure, key=request_id.encode(), value=req.model_dump_json().encode()
            )
            prod.flush()
        finally:
            prod.close()
        ref = hashlib.sha256(request_id.encode()).hexdigest()
        print(json.dumps({"requested": ref}))
        if not args.wait:
            return 0
        found = _wait_audit(consumer, audit, start, ref, args.wait)
    finally:
        consumer.close()
    if found is None:
        raise CliError(f"no audit record for request {ref} within {args.wait:g} s")
    print(json.dumps(found))
    return 0


def _wait_audit(consumer: Any, tp: Any, start: int, ref: str, wait_s: float) -> dict | None:
    consumer.assign([tp])
    consumer.seek(tp, start)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=1000).values():
            for r in records:
                rec = json.loads(r.value)
                if rec.get("request") == ref:
                    return rec
    return None


def add_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("forget", help="erase a user's, an event's or a prompt's data")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", help="the user_id as chat events carry it")
    who.add_argument("--prompt-id", help="an accepted prompt's prompt_id")
    who.add_argument("--event-id", help="the event_id of the event a prompt came from")
    p.add_argument("--request-id", help="your reference for the request (kept only as a hash)")
    p.add_argument(
        "--wait",
        type=float,
        default=0,
        metavar="SECONDS",
        help="wait this long for the workers to report the request done, and print the report",
    )
    p.set_defaults(fn=cmd_forget)
