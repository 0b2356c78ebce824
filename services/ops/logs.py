"""The worker's log records: one record per event, as text or JSON lines, repeats collapsed.

``logging_config`` is the ``logging.config.dictConfig`` document the worker runs with (Faust
applies it when it sets logging up; ``streams/app.py``). Every record goes through one handler
on the process's real standard output:

- ``text``: ``[time] [pid] [LEVEL] logger: message``, a traceback below it;
- ``json``: one JSON object per line with ``time``, ``level``, ``logger``, ``message``, the
  input coordinate (``topic``, ``partition``, ``offset``) when the call gave one
  (``extra=``), and for an exception its type (``error``) and traceback (``traceback``) as
  fields, so a traceback never spans lines.

``RepeatFilter`` keeps a dependency outage from flooding the log: the same message from the same
logger at the same level passes once per ``REPEAT_WINDOW_S``; the next one that passes says how
many were held back (``suppressed``). ``LineLog`` takes what libraries write to
``sys.stdout``/``sys.stderr`` a whole line at a time into records (Faust's own redirection logs
every ``write`` call, so one printed traceback became a record per token).

Records carry what their callers put in them: log calls name ``topic[partition]@offset`` and
error types, never prompt text (docs/architecture.md, "Personal data").
"""

from __future__ import annotations

import io
import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

LogFormat = Literal["text", "json"]

REPEAT_WINDOW_S = 60.0  # one line per minute per repeated message during an outage
REPEAT_KEYS_MAX = 1024  # distinct messages remembered before old ones are forgotten
TEXT_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
COORDINATE = ("topic", "partition", "offset")


class RepeatFilter(logging.Filter):
    """Passes a message (logger, level, text) once per ``window_s``; the next record of it that
    passes carries ``suppressed``, the number held back meanwhile. Thread-safe (Kafka clients
    log from their own threads)."""

    def __init__(
        self, window_s: float = REPEAT_WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.window_s = window_s
        self.clock = clock
        self._seen: dict[tuple[str, int, str], list[float]] = {}  # key -> [since, held back]
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, _message(record))
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.window_s:
                seen[1] += 1
                return False
            if seen is not None and seen[1]:
                record.suppressed = int(seen[1])
            if len(self._seen) >= REPEAT_KEYS_MAX:
                self._forget(now)
            self._seen[key] = [now, 0]
        return True

    def _forget(self, now: float) -> None:
        """Drop messages whose window is over (their held-back count is lost), or the oldest
        half when all are recent."""
        old = [k for k, (since, _) in self._seen.items() if now - since >= self.window_s]
        if len(old) < len(self._seen) // 2:
            old = sorted(self._seen, key=lambda k: self._seen[k][0])[: len(self._seen) // 2]
        for k in old:
            del self._seen[k]


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        suppressed = getattr(record, "suppressed", 0)
        if suppressed:
            line += f" ({suppressed} more like it in the last {REPEAT_WINDOW_S:.0f} s)"
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _message(record),
        }
        for name in COORDINATE:
            value = getattr(record, name, None)
            if value is not None:
                body[name] = value
        suppressed = getattr(record, "suppressed", 0)
        if suppressed:
            body["suppressed"] = suppressed
        if record.exc_info and record.exc_info[0] is not None:
            body["error"] = record.exc_info[0].__name__
            body["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            body["traceback"] = record.exc_text
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return json.dumps(body, ensure_ascii=False, default=str)


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:  # arguments that do not fit the format: the template, not a crash
        return str(record.msg)


def logging_config(log_format: LogFormat, level: str) -> dict[str, Any]:
    """The ``dictConfig`` document of a worker: one handler on the real standard output,
    ``log_format`` lines, repeats collapsed, the root logger at ``level`` (debug .. error)."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    return {
        "version": 1,
        "disable_existing_loggers": False,  # the libraries' loggers exist before this runs
        "filters": {"repeats": {"()": RepeatFilter}},
        "formatters": {"flywheel": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.__stdout__",  # not a LineLog: that would log its own lines
                "formatter": "flywheel",
                "filters": ["repeats"],
            }
        },
        "root": {"level": level.upper().replace("WARN", "WARNING"), "handlers": ["default"]},
    }


class LineLog(io.TextIOBase):
    """A text stream that logs each complete line it is given as one record of ``logger`` (a
    line left unfinished waits for the rest, or for ``flush``)."""

    def __init__(self, logger: logging.Logger, level: int, fileno: int) -> None:
        super().__init__()
        self.logger = logger
        self.level = level
        self._fileno = fileno
        self._partial = ""
        self._lock = threading.Lock()

    def write(self, s: str) -> int:
        with self._lock:
            *lines, self._partial = (self._partial + s).split("\n")
        for line in lines:
            if line.strip():
                self.logger.log(self.level, "%s", line.rstrip())
        return len(s)

    def flush(self) -> None:
        with self._lock:
            line, self._partial = self._partial, ""
        if line.strip():
            self.logger.log(self.level, "%s", line.rstrip())

    def fileno(self) -> int:  # faulthandler and subprocess want a descriptor: the original
        return self._fileno

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def capture_stdio() -> None:
    """Everything a worker would print becomes records: ``warnings`` through logging, uncaught
    exceptions (main and other threads) as one record with their traceback, and what libraries
    write to ``sys.stdout``/``sys.stderr`` a line at a time (``LineLog``)."""
    logging.captureWarnings(True)
    uncaught = logging.getLogger("flywheel.uncaught")

    def excepthook(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        uncaught.error("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))

    def thread_excepthook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        uncaught.error(
            "uncaught %s in thread %s",
            args.exc_type.__name__,
            name,
            exc_info=(args.exc_type, args.exc_value or args.exc_type(), args.exc_traceback),
        )

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
    sys.stdout = LineLog(logging.getLogger("stdout"), logging.INFO, 1)
    sys.stderr = LineLog(logging.getLogger("stderr"), logging.WARNING, 2)
