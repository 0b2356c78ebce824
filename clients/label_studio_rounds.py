"""Sends prompts whose annotators disagree back to Label Studio for one more annotation.

    LABEL_STUDIO_TOKEN=... python clients/label_studio_rounds.py \\
        --bootstrap localhost:9092 --topic prompts.review \\
        --url http://localhost:8080 --project 1 [--group flywheel-ls-rounds] [--idle-exit 10]

Flywheel's feedback stage publishes a ``ReviewRequest`` (docs/contract.md, JSON, key =
prompt_id) on ``prompts.review`` when a prompt's annotators disagree. For each one this client
finds the Label Studio task whose ``data.prompt_id`` is the request's prompt_id (a Data Manager
filter) and raises the task's ``overlap`` to the number of annotators so far + 1, with
``is_labeled`` false (``PATCH /api/tasks/<id>``; both fields are writable in Label Studio
1.23). The label stream then serves the task again, to an annotator who has not annotated it yet
(it skips tasks the user already annotated), and that annotation reaches Flywheel through the
webhook like any other.

Safe to run twice on the same request: the overlap becomes ``max(overlap, votes + 1)``, so a
redelivered request changes nothing. Offsets are committed after the task is updated; a prompt
that is not in the project is logged and skipped; Label Studio down = the client retries.
Standard library and kafka-python only. The token is Label Studio's legacy API token
(``Authorization: Token``); ``--auth Bearer`` for a personal access token's access token.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

log = logging.getLogger("label_studio_rounds")


class LabelStudioError(RuntimeError):
    pass


class LabelStudio:
    def __init__(self, url: str, token: str, auth: str = "Token", timeout_s: float = 30) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"{auth} {token}", "Content-Type": "application/json"}
        self.timeout_s = timeout_s

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        # the operator's --url (http or https)
        req = urllib.request.Request(self.url + path, data, self.headers, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:  # noqa: S310
                raw = r.read()
        except urllib.error.HTTPError as e:
            raise LabelStudioError(f"{method} {path}: {e.code} {e.read()[:300]!r}") from e
        return json.loads(raw) if raw else None

    def task_of(self, project: int, prompt_id: str) -> dict[str, Any] | None:
        """The project's task holding ``prompt_id`` (the exported ``data.prompt_id``), if any."""
        query = {
            "filters": {
                "conjunction": "and",
                "items": [
                    {
                        "filter": "filter:tasks:data.prompt_id",
                        "operator": "equal",
                        "type": "String",
                        "value": prompt_id,
                    }
                ],
            }
        }
        params = urllib.parse.urlencode(
            {"project": project, "page_size": 10, "query": json.dumps(query)}
        )
        tasks = self.call("GET", f"/api/tasks?{params}")["tasks"]
        # the filter narrows; the exact comparison decides (never re-open another prompt's task)
        found = [t for t in tasks if t.get("data", {}).get("prompt_id") == prompt_id]
        return found[0] if found else None


def annotators_of(task: dict[str, Any]) -> int:
    """Distinct users who completed a (not cancelled) annotation of ``task`` (the task view
    expands ``completed_by`` into the user; lists give its id)."""
    users = set()
    for ann in task.get("annotations", []):
        if ann.get("was_cancelled"):
            continue
        by = ann.get("completed_by")
        users.add(by.get("id") if isinstance(by, dict) else by)
    return len(users)


def reopen(ls: LabelStudio, project: int, request: dict[str, Any]) -> dict[str, Any] | None:
    """Ask Label Studio for one more annotation of the request's prompt; the updated task, or
    None when the project has no task for it."""
    pid = request["prompt_id"]
    found = ls.task_of(project, pid)
    if found is None:
        log.warning("prompt %s is not in project %d: review request skipped", pid, project)
        return None
    task = ls.call("GET", f"/api/tasks/{found['id']}")
    overlap = max(int(task.get("overlap") or 1), len(request.get("votes", {})) + 1)
    labeled = annotators_of(task) >= overlap
    if overlap == task.get("overlap") and labeled == task.get("is_labeled"):
        return task  # applied already
    updated = ls.call(
        "PATCH", f"/api/tasks/{task['id']}", {"overlap": overlap, "is_labeled": labeled}
    )
    log.info(
        "task %s (prompt %s): overlap %s, round %s", task["id"], pid, overlap, request.get("round")
    )
    return updated


def run(args: argparse.Namespace, ls: LabelStudio) -> int:
    """Consume until interrupted (or ``--idle-exit`` seconds without a message); the number of
    requests applied."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        value_deserializer=None,
    )
    applied = 0
    idle_since = time.monotonic()
    try:
        while True:
            batch = consumer.poll(timeout_ms=1000)
            if not batch:
                if not consumer.assignment():  # still joining the group: not idle yet
                    idle_since = time.monotonic()
                elif args.idle_exit and time.monotonic() - idle_since > args.idle_exit:
                    return applied
                continue
            idle_since = time.monotonic()
            for records in batch.values():
                for rec in records:
                    where = f"{rec.topic}[{rec.partition}]@{rec.offset}"
                    try:
                        request = json.loads(rec.value)
                    except (TypeError, ValueError):
                        log.warning("%s: not a review request, skipped", where)
                        continue
                    while True:
                        try:
                            applied += reopen(ls, args.project, request) is not None
                            break
                        except (LabelStudioError, OSError) as exc:
                            log.warning("%s: Label Studio: %s; retrying in 5 s", where, exc)
                            time.sleep(5)
            consumer.commit()
    finally:
        consumer.close()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--bootstrap", default=os.environ.get("FLYWHEEL_KAFKA_BOOTSTRAP", "localhost:9092")
    )
    ap.add_argument("--topic", default=os.environ.get("FLYWHEEL_TOPIC_REVIEW", "prompts.review"))
    ap.add_argument("--group", default="flywheel-label-studio-rounds")
    ap.add_argument("--url", default=os.environ.get("LABEL_STUDIO_URL", "http://localhost:8080"))
    ap.add_argument("--project", type=int, required=True)
    ap.add_argument("--auth", default="Token", choices=["Token", "Bearer"])
    ap.add_argument("--idle-exit", type=float, default=0, help="exit after this many idle seconds")
    args = ap.parse_args(argv)
    token = os.environ.get("LABEL_STUDIO_TOKEN")
    if not token:
        ap.error("set LABEL_STUDIO_TOKEN")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("kafka").setLevel(logging.WARNING)
    n = run(args, LabelStudio(args.url, token, args.auth))
    log.info("%d review requests applied", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
