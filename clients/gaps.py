"""Turns Flywheel's coverage gaps into synthetic prompts: an example generator loop.

    python -m clients.gaps --bootstrap localhost:9092 [--topic flywheel.gaps] \\
        [--events-topic chat.events] [--group flywheel-gaps-client] \\
        (--once | --follow) [--template [--seed 7] | --generator "CMD ARGS"] \\
        [--top 3] [--max-per-gap 20] [--max-age-s 900]

The loop. Curation keeps a window of accepted prompts; per topic cluster the ops server compares
the window's share with a target (uniform unless an operator set one) and publishes a
``GapRecord`` (docs/contract.md, JSON, key ``<topics_version>:<cluster>``) on ``flywheel.gaps``
for every cluster that lacks prompts: its characteristic words, a few example prompt ids, the
deficit and ``synthetic_room``, how many synthetic prompts the mix rules still admit there. This
client reads those records (its own consumer group) and turns each into a *generation request*::

    {"gap_id", "cluster", "topics_version", "words", "examples", "deficit",
     "n": min(deficit, synthetic_room, --max-per-gap), "prompt": <instructions for an LLM>}

- by default the requests are printed as JSON lines (nothing is published): pipe them to your
  own generator;
- ``--generator CMD``: each request is written as one JSON line to CMD's stdin (CMD runs once per
  request) and CMD's stdout lines are the generated prompts (at most ``n`` are kept);
- ``--template``: a built-in generator without a model: word-problem and question frames filled
  with the cluster's words, names and numbers (deterministic for ``--seed`` and the gap), varied
  enough that they are not near duplicates of one another.

Generated prompts go back to the events topic as ordinary ``ChatEvent``s with
``source: "synthetic"`` (``meta`` names the gap), so they are cleaned, de-duplicated and
admitted by the same worker as real traffic: the mix rules (``mix``, ``mix_cluster``) and the
near-duplicate check have the last word, and the next gap records show what landed.

Robustness. A record that is not JSON, lacks a field, or carries a schema of another major
version (newer than this client knows) is skipped with one log line. A gap already handled
(same ``gap_id``) is skipped; of several rounds of one cluster read together only the newest is
acted on; records older than ``--max-age-s`` are skipped (the window has moved since). Event ids
are derived from the gap id, so a redelivered gap produces the same events and the worker
rejects the repeats as ``duplicate_event``. Offsets are committed after the events are sent; a
broker that is down is retried with a growing delay (this is a separate process: curation never
waits on it). Standard library and kafka-python only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("gaps")

SCHEMA_MAJOR = 1  # GapRecord schema major version this client reads
LLM_PROMPT = (
    "Write {n} distinct, self-contained user prompts for a chat assistant about {topic}. "
    "Vary the wording, the people, the numbers and the situation; every prompt must be "
    "answerable on its own. Return one prompt per line, nothing else."
)

# fields a request needs, with their types; other fields are optional (minor schema additions)
_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "gap_id": str,
    "cluster": int,
    "topics_version": str,
    "words": list,
    "deficit": int,
    "synthetic_room": int,
}


class SkipGap(ValueError):
    """A gap record this client does not act on; the message says why."""


def parse_gap(raw: bytes | str | None) -> dict[str, Any]:
    """A gap record as a dict, or ``SkipGap`` with the reason (not JSON, an unknown major
    schema version, a missing or mistyped field)."""
    try:
        gap = json.loads(raw) if raw is not None else None
    except (TypeError, ValueError, UnicodeDecodeError):
        raise SkipGap("not JSON") from None
    if not isinstance(gap, dict):
        raise SkipGap("not a JSON object")
    version = gap.get("schema_version")
    major = str(version).split(".", 1)[0] if isinstance(version, str) else ""
    if not major.isdigit() or int(major) != SCHEMA_MAJOR:
        raise SkipGap(f"schema_version {version!r}: this client reads {SCHEMA_MAJOR}.x")
    for name, kind in _REQUIRED.items():
        value = gap.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            raise SkipGap(f"field {name!r} missing or not a {getattr(kind, '__name__', kind)}")
    if not all(isinstance(w, str) for w in gap["words"]):
        raise SkipGap("field 'words' is not a list of strings")
    examples = gap.get("examples", [])
    gap["examples"] = (
        [e for e in examples if isinstance(e, str)] if isinstance(examples, list) else []
    )
    return gap


def gap_round(gap: dict[str, Any]) -> int:
    """The publication round of a gap id ``<topics_version>:<cluster>:<round>`` (0 if none)."""
    tail = gap["gap_id"].rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def gap_age_s(gap: dict[str, Any], now: float | None = None) -> float:
    """Seconds since the gap was measured (0 when ``ts`` is absent or unreadable)."""
    ts = gap.get("ts")
    if not isinstance(ts, str):
        return 0.0
    try:
        at = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(0.0, (time.time() if now is None else now) - at.timestamp())


def topic_of(words: list[str]) -> str:
    return ", ".join(words) if words else "any everyday subject"


def request_of(gap: dict[str, Any], max_per_gap: int = 0) -> dict[str, Any]:
    """The generation request for one gap: never more prompts than ``synthetic_room`` (what the
    mix rules still admit), nor than the deficit, nor than ``max_per_gap`` (0 = no cap)."""
    n = max(0, min(gap["deficit"], gap["synthetic_room"]))
    if max_per_gap > 0:
        n = min(n, max_per_gap)
    return {
        "gap_id": gap["gap_id"],
        "cluster": gap["cluster"],
        "topics_version": gap["topics_version"],
        "words": list(gap["words"]),
        "examples": list(gap["examples"]),
        "deficit": gap["deficit"],
        "synthetic_room": gap["synthetic_room"],
        "n": n,
        "prompt": LLM_PROMPT.format(n=n, topic=topic_of(gap["words"])),
    }


# --- the built-in template generator ------------------------------------------------------

NAMES = [
    "Maria", "James", "Aiko", "Omar", "Lena", "Carlos", "Priya", "Tom", "Zara", "Ivan", "Nia",
    "Felix", "Grace", "Mateo", "Hana", "Leo", "Amara", "Noah", "Sofia", "Ravi", "Elena", "Kwame",
]  # fmt: skip
PLACES = [
    "shop", "school fair", "market", "club", "farm", "bakery", "library", "camp", "workshop",
    "community center", "festival", "warehouse",
]  # fmt: skip
FRAMES = [
    "{name} has {a} {w0} and gets {b} more {w1} from a friend. How many {w0} and {w1} does "
    "{name} have now?",
    "{name} and {name2} share {c} {w0}. {name2} takes {b} fewer {w0} than {name}. How many "
    "{w0} does each of them end up with?",
    "A {place} had {c} {w0} and {a} {w1}. It gave away {pct}% of the {w0}. How many {w0} "
    "and {w1} are left?",
    "{name} needs {c} {w0} for the {place}. {name} already has {a} {w0} and each pack of "
    "{w1} holds {b}. How many packs should {name} buy?",
    "In a {place}, the ratio of {w0} to {w1} is {r1}:{r2}. If there are {c} {w0} and {w1} in "
    "total, how many {w0} are there?",
    "Last year the {place} had {a} {w0}; this year it has {pct}% more {w0} and {b} {w1}. How "
    "many {w0} and {w1} does it have this year?",
    "{name} sorts {c} {w0} into {b} equal groups and adds {a} {w1} to each group. How many "
    "{w0} and {w1} are in one group?",
    "{name} counts {w0}: {a} on the first day, twice as many on the second, and {b} {w1} on "
    "the third. What is the total of {w0} and {w1}?",
    "A question about {w0}, {w1} and {w2}: {name} starts with {a} {w0}, trades {b} of them "
    "for {w1}, then finds {c} {w2}. How many {w0} remain?",
    "{name2} says {name} has {b} times as many {w0} as {w1}. If {name} has {a} {w1}, how "
    "many {w0} and {w1} does {name} have altogether?",
]
INSTRUCTION_FRAMES = [
    "Write a short {kind} about {w0} and {w1} for {reader}, in about {a} sentences.",
    "{Verb} {w0} in simple terms, with one example about {w1} and one about {w2}.",
    "Give me {b} ideas for a {kind} on {w0}, each connected to {w1}.",
    "{name} asks: how would you {verb} {w0} to {reader} who knows nothing about {w1}?",
    "Read the following {kind} about {w0} and {w1} and list its {b} main points.",
    "Compare {w0} and {w1} in a table with {b} rows, then {verb} the biggest difference.",
]
INSTRUCTION_CUES = {
    "explain", "describe", "create", "generate", "design", "write", "sentence", "following",
    "given", "story", "article", "list", "summarize", "code", "python", "name", "character",
}  # fmt: skip
KINDS = ["paragraph", "story", "summary", "article", "poem", "list", "guide", "dialogue"]
READERS = ["a child", "a new colleague", "a beginner", "my grandmother", "a student", "a tourist"]
VERBS = ["explain", "describe", "summarize", "illustrate"]
_MIN_FILL = ["things", "items", "units"]  # when a cluster has fewer than three words


class TemplateGenerator:
    """Prompts built from frames, the cluster's words, names and numbers. Word-problem frames,
    or instruction frames when the words say the cluster holds instructions (explain, write,
    story...). Deterministic for a ``seed`` and a gap id; a request uses every (frame, word
    order) pair once before any repeats, frames first, so no two of its prompts differ by
    their numbers only until they are exhausted."""

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed

    def __call__(self, request: dict[str, Any]) -> list[str]:
        digest = hashlib.sha256(f"{self.seed}:{request['gap_id']}".encode()).digest()
        rng = random.Random(int.from_bytes(digest[:8], "big"))  # noqa: S311  # seeded on purpose
        words = [w for w in request["words"] if w]
        words = (words + _MIN_FILL)[: max(3, len(words))]
        frames = INSTRUCTION_FRAMES if INSTRUCTION_CUES & set(words) else FRAMES
        orders = [words[i:] + words[:i] for i in range(len(words))]
        orders += [[o[1], o[0], *o[2:]] for o in orders]
        out: list[str] = []
        cycle: list[int] = []
        for i in range(request["n"]):
            if not cycle:
                cycle = list(range(len(frames)))
                rng.shuffle(cycle)
            frame = frames[cycle.pop()]
            ws = orders[(i // len(frames)) % len(orders)]
            name, name2 = rng.sample(NAMES, 2)
            verb = rng.choice(VERBS)
            out.append(
                frame.format(
                    name=name,
                    name2=name2,
                    place=rng.choice(PLACES),
                    kind=rng.choice(KINDS),
                    reader=rng.choice(READERS),
                    verb=verb,
                    Verb=verb.capitalize(),
                    w0=ws[0],
                    w1=ws[1],
                    w2=ws[2],
                    a=rng.randint(3, 40),
                    b=rng.randint(2, 9),
                    c=rng.randint(50, 400),
                    pct=rng.choice([10, 15, 20, 25, 30, 40, 50, 60, 75]),
                    r1=rng.randint(1, 5),
                    r2=rng.randint(2, 9),
                )
            )
        return out


class CommandGenerator:
    """Runs ``cmd`` once per request: the request as one JSON line on stdin, the prompts one
    per line on stdout (blank lines ignored, at most ``n`` kept)."""

    def __init__(self, cmd: str, timeout_s: float = 600) -> None:
        self.argv = shlex.split(cmd)
        self.timeout_s = timeout_s

    def __call__(self, request: dict[str, Any]) -> list[str]:
        done = subprocess.run(  # noqa: S603  # the operator's own command, no shell
            self.argv,
            input=json.dumps(request, ensure_ascii=False) + "\n",
            capture_output=True,
            text=True,
            timeout=self.timeout_s,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"generator exited {done.returncode}: {done.stderr[-300:]!r}")
        lines = [line.strip() for line in done.stdout.splitlines()]
        return [line for line in lines if line][: request["n"]]


Generator = Callable[[dict[str, Any]], list[str]]


def synthetic_events(request: dict[str, Any], prompts: Iterable[str]) -> list[bytes]:
    """ChatEvents (source synthetic) for the generated prompts; the event ids derive from the
    gap id, so a redelivered gap gives the same ids (the worker rejects them as repeats)."""
    ts = datetime.now(tz=UTC).isoformat()
    out = []
    for i, text in enumerate(prompts):
        event = {
            "event_id": f"gap-{request['gap_id']}-{i}",
            "prompt": text,
            "ts": ts,
            "source": "synthetic",
            "channel": "gaps",
            "meta": {
                "gap_id": request["gap_id"],
                "cluster": request["cluster"],
                "topics_version": request["topics_version"],
            },
        }
        out.append(json.dumps(event, ensure_ascii=False).encode())
    return out


class Selector:
    """Which gaps to act on: not seen before (gap id), not older than ``max_age_s``, the newest
    round of a cluster among those read together, and the ``top`` largest of a round."""

    def __init__(self, top: int = 0, max_age_s: float = 0) -> None:
        self.top = top
        self.max_age_s = max_age_s
        self.handled: set[str] = set()
        self.latest: dict[tuple[str, int], int] = {}  # (topics_version, cluster) -> round
        self.taken: dict[tuple[str, int], int] = {}  # (topics_version, round) -> gaps taken

    def select(self, gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        newest: dict[tuple[str, int], int] = {}
        for g in gaps:
            key = (g["topics_version"], g["cluster"])
            newest[key] = max(newest.get(key, 0), gap_round(g))
        out = []
        for g in gaps:
            key, rnd = (g["topics_version"], g["cluster"]), gap_round(g)
            if g["gap_id"] in self.handled:
                log.info("gap %s: handled already, skipped", g["gap_id"])
                continue
            if rnd < newest[key] or rnd < self.latest.get(key, 0):
                log.info("gap %s: a newer round of the cluster exists, skipped", g["gap_id"])
                continue
            if self.max_age_s and (age := gap_age_s(g)) > self.max_age_s:
                log.info("gap %s: measured %.0f s ago, skipped", g["gap_id"], age)
                continue
            taken = self.taken.get((g["topics_version"], rnd), 0)
            if self.top and taken >= self.top:
                continue  # records of a round come largest deficit first
            self.taken[(g["topics_version"], rnd)] = taken + 1
            self.handled.add(g["gap_id"])
            self.latest[key] = rnd
            out.append(g)
        return out


def backoff(attempt: int, cap_s: float = 30.0) -> float:
    return min(cap_s, 0.5 * 2**attempt)


def retrying(what: str, fn: Callable[[], Any], stop: Callable[[], bool] = lambda: False) -> Any:
    """``fn()`` until it succeeds, sleeping longer after each failure (broker down)."""
    from kafka.errors import KafkaConfigurationError, KafkaError

    attempt = 0
    while True:
        try:
            return fn()
        except KafkaConfigurationError:
            raise  # a mistake, not an outage
        except (KafkaError, OSError) as exc:
            if stop():
                raise
            delay = backoff(attempt)
            log.warning("%s: %s; retrying in %.1f s", what, type(exc).__name__, delay)
            time.sleep(delay)
            attempt += 1


def run(
    args: argparse.Namespace,
    generate: Generator | None,
    emit: Callable[[str], None] = print,
) -> dict[str, int]:
    """Consume gap records until interrupted (``--follow``) or caught up and idle for
    ``--idle-s`` (``--once``). Counts: gaps read, skipped, acted on, prompts published."""
    from kafka import KafkaConsumer, KafkaProducer

    counts = {"read": 0, "skipped": 0, "requests": 0, "published": 0}
    consumer = retrying(
        "connecting the consumer",
        lambda: KafkaConsumer(
            args.topic,
            bootstrap_servers=args.bootstrap,
            group_id=args.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            value_deserializer=None,
        ),
    )
    producer = None
    if generate is not None:
        producer = retrying(
            "connecting the producer",
            lambda: KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", linger_ms=5),
        )
    selector = Selector(args.top, args.max_age_s)
    idle_since = time.monotonic()
    try:
        while True:
            batch = retrying("polling", lambda: consumer.poll(timeout_ms=1000))
            if not batch:
                if not consumer.assignment():  # still joining the group: not idle yet
                    idle_since = time.monotonic()
                elif args.once and time.monotonic() - idle_since > args.idle_s:
                    return counts
                continue
            idle_since = time.monotonic()
            gaps = []
            for records in batch.values():
                for rec in records:
                    counts["read"] += 1
                    try:
                        gaps.append(parse_gap(rec.value))
                    except SkipGap as exc:
                        counts["skipped"] += 1
                        where = f"{rec.topic}[{rec.partition}]@{rec.offset}"
                        log.warning("%s: not a gap this client reads (%s), skipped", where, exc)
            for gap in selector.select(gaps):
                request = request_of(gap, args.max_per_gap)
                if request["n"] == 0:
                    log.info("gap %s: no synthetic room, nothing requested", gap["gap_id"])
                    continue
                counts["requests"] += 1
                if generate is None or producer is None:
                    emit(json.dumps(request, ensure_ascii=False))
                    continue
                try:
                    prompts = generate(request)
                except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
                    log.warning("gap %s: generator failed (%s), skipped", gap["gap_id"], exc)
                    continue
                events = synthetic_events(request, prompts[: request["n"]])
                _send(producer, args.events_topic, events)
                counts["published"] += len(events)
                log.info(
                    "gap %s (cluster %d, deficit %d, room %d): %d synthetic prompts",
                    gap["gap_id"], gap["cluster"], gap["deficit"], gap["synthetic_room"],
                    len(events),
                )  # fmt: skip
            retrying("committing", consumer.commit)
    finally:
        consumer.close()
        if producer is not None:
            producer.close()


def _send(producer: Any, topic: str, events: list[bytes]) -> None:
    """All of ``events`` acknowledged by the broker (retried as a whole: ids are stable, so a
    repeat is only a duplicate_event)."""

    def attempt() -> None:
        futures = [producer.send(topic, value=e) for e in events]
        producer.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)

    retrying(f"producing to {topic}", attempt)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    env = os.environ.get
    ap.add_argument("--bootstrap", default=env("FLYWHEEL_KAFKA_BOOTSTRAP", "localhost:9092"))
    ap.add_argument("--topic", default=env("FLYWHEEL_TOPIC_GAPS", "flywheel.gaps"))
    ap.add_argument("--events-topic", default=env("FLYWHEEL_TOPIC_EVENTS", "chat.events"))
    ap.add_argument("--group", default="flywheel-gaps-client")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--once", action="store_true", help="exit once caught up and idle")
    mode.add_argument("--follow", action="store_true", help="run until interrupted (default)")
    ap.add_argument("--idle-s", type=float, default=5.0, help="--once: idle seconds before exit")
    gen = ap.add_mutually_exclusive_group()
    gen.add_argument("--template", action="store_true", help="built-in template generator")
    gen.add_argument("--generator", default=None, metavar="CMD", help="external generator")
    ap.add_argument("--seed", type=int, default=7, help="--template: seed")
    ap.add_argument("--top", type=int, default=0, help="act on the N largest gaps of a round")
    ap.add_argument("--max-per-gap", type=int, default=0, help="cap prompts per gap (0 = none)")
    ap.add_argument(
        "--max-age-s", type=float, default=900, help="skip older gap records (0 = no limit)"
    )
    args = ap.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logging.getLogger("kafka").setLevel(logging.ERROR)
    generate: Generator | None = None
    if args.template:
        generate = TemplateGenerator(args.seed)
    elif args.generator:
        generate = CommandGenerator(args.generator)
    counts = run(args, generate, emit=lambda line: print(line, flush=True))
    log.info("%s", " ".join(f"{k}={v}" for k, v in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
