"""One root for Flywheel's errors, and the line between retrying and dead-lettering.

A stage that fails on a micro-batch fails for one of two kinds of cause, and the runtime
(``services.pipeline.runtime``) treats them differently:

- ``TransientError``: something outside the message is unavailable (the broker, Redis). The
  same batch will succeed later: retry it whole, with backoff. Third-party exceptions of that
  kind (``redis.ConnectionError``, Kafka timeouts, ``OSError``) are classified as transient by
  ``is_transient``.
- anything else, including ``PoisonError``: the error may follow one message. The runtime
  isolates it by bisecting the batch, retries the single message a bounded number of times and
  then dead-letters it with the error, so one bad record never stops a stage.

``ConfigError`` stops a worker at start (a setting, a model or a topic model that does not fit).
"""

from __future__ import annotations

import asyncio
import functools


class FlywheelError(Exception):
    """Root of the errors Flywheel raises on purpose."""


class TransientError(FlywheelError):
    """A dependency is unavailable; the same work will succeed once it is back."""


class PoisonError(FlywheelError):
    """This message can never be processed. ``code`` is the DLQ error code (``fw-error``)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


class ConfigError(FlywheelError):
    """The worker cannot run as configured (a setting, the model, the topic model)."""


@functools.cache
def _transient_types() -> tuple[type[BaseException], ...]:
    import aiokafka.errors as kafka_errors
    import redis.exceptions as redis_errors

    return (
        TransientError,
        redis_errors.ConnectionError,
        redis_errors.TimeoutError,
        redis_errors.BusyLoadingError,
        redis_errors.TryAgainError,
        redis_errors.ClusterDownError,
        kafka_errors.KafkaConnectionError,
        kafka_errors.KafkaTimeoutError,
        kafka_errors.NodeNotReadyError,
        kafka_errors.RequestTimedOutError,
        kafka_errors.NotLeaderForPartitionError,
        kafka_errors.LeaderNotAvailableError,
        ConnectionError,
        TimeoutError,
        asyncio.TimeoutError,
        OSError,
    )


def is_transient(exc: BaseException) -> bool:
    """True when ``exc`` (or what it was raised from) means "a dependency is down"."""
    transient = _transient_types()
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 8:  # a bounded walk of the cause chain
        if isinstance(cur, PoisonError):
            return False
        if isinstance(cur, transient):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False
