"""The worker's log records (services/ops/logs.py): JSON lines, repeats collapsed, printed lines
and uncaught exceptions as whole records."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import sys

import pytest

from services.ops.logs import (
    REPEAT_WINDOW_S,
    JsonFormatter,
    LineLog,
    RepeatFilter,
    TextFormatter,
    logging_config,
)


def record(msg: str = "broker down", *args: object, name: str = "aiokafka", **extra: object):
    rec = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)
    rec.__dict__.update(extra)
    return rec


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_repeats_pass_once_per_window_and_the_next_says_how_many_were_held_back():
    clock = Clock()
    f = RepeatFilter(window_s=60, clock=clock)
    assert f.filter(record())
    passed = []
    for _ in range(500):
        clock.now += 0.1
        passed.append(f.filter(record()))
    assert not any(passed)
    clock.now = 61
    again = record()
    assert f.filter(again)
    assert again.suppressed == 500
    clock.now = 62
    assert not f.filter(record())


def test_different_messages_loggers_or_levels_are_not_collapsed():
    f = RepeatFilter(clock=Clock())
    assert f.filter(record("node %d down", 1))
    assert f.filter(record("node %d down", 2))
    assert f.filter(record("node %d down", 1, name="faust"))
    warning = record("node %d down", 1)
    warning.levelno = logging.WARNING
    assert f.filter(warning)
    assert not f.filter(record("node %d down", 1))


def test_a_message_whose_arguments_do_not_fit_is_still_filtered_not_raised():
    f = RepeatFilter(clock=Clock())
    assert f.filter(record("%d of %d", 1))
    assert not f.filter(record("%d of %d", 1))


def test_json_line_has_the_fields_the_coordinate_and_the_traceback_in_one_field():
    try:
        raise ConnectionError("refused")
    except ConnectionError:
        exc_info = sys.exc_info()
    rec = record("%s failed", "ingest", topic="chat.events", partition=3, offset=41, suppressed=7)
    rec.exc_info = exc_info
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    body = json.loads(line)
    assert body["level"] == "ERROR"
    assert body["logger"] == "aiokafka"
    assert body["message"] == "ingest failed"
    assert (body["topic"], body["partition"], body["offset"]) == ("chat.events", 3, 41)
    assert body["suppressed"] == 7
    assert body["error"] == "ConnectionError"
    assert "Traceback" in body["traceback"] and "refused" in body["traceback"]
    assert body["time"].endswith("+00:00")


def test_json_line_without_coordinate_or_error_has_only_the_four_fields():
    body = json.loads(JsonFormatter().format(record("started")))
    assert set(body) == {"time", "level", "logger", "message"}


def test_text_line_reports_the_suppressed_count():
    line = TextFormatter().format(record("broker down", suppressed=12))
    assert "aiokafka: broker down" in line
    assert f"12 more like it in the last {REPEAT_WINDOW_S:.0f} s" in line


@pytest.fixture
def configured(monkeypatch):
    """The worker's logging configuration, its handler writing to a buffer."""
    out = io.StringIO()
    monkeypatch.setattr(sys, "__stdout__", out)
    handlers, level = logging.root.handlers[:], logging.root.level
    logging.config.dictConfig(logging_config("json", "info"))
    yield out
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def test_printed_lines_become_one_record_each_never_a_record_per_write(configured):
    stream = LineLog(logging.getLogger("stderr"), logging.WARNING, 2)
    for token in ("Traceback", " ", "^", "^^^", "\n", "asyncio.", "CancelledError", "\n", "tail"):
        stream.write(token)
    lines = configured.getvalue().splitlines()
    assert [json.loads(x)["message"] for x in lines] == ["Traceback ^^^^", "asyncio.CancelledError"]
    stream.flush()
    assert json.loads(configured.getvalue().splitlines()[-1])["message"] == "tail"


def test_repeats_are_collapsed_by_the_configured_handler(configured):
    log = logging.getLogger("aiokafka")
    for _ in range(300):
        log.error("Unable connect to node with id %d", 1)
    logging.getLogger("services.pipeline.runtime").info("recovered")
    lines = [json.loads(x) for x in configured.getvalue().splitlines()]
    assert [x["message"] for x in lines] == ["Unable connect to node with id 1", "recovered"]
