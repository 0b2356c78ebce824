"""One root for Flywheel's errors, and what the runtime does with each kind.

A stage that fails on a micro-batch fails for one of three kinds of cause, and the runtime
(``services.pipeline.runtime``) treats them differently:

- a dependency is unavailable (the broker, Redis): the same batch will succeed later, so it is
  retried whole, with backoff. Third-party exceptions of that kind (``redis.ConnectionError``,
  Kafka timeouts, ``OSError``) are recognised by ``is_transient``;
- ``Fatal``: the worker cannot go on as it is (``ConfigError``: a setting, the model or a topic
  model that does not fit; ``StateLost``: an index that can no longer be rebuilt). Dead-lettering
  the batch would throw good input away, so the worker stops and says why;
- anything else: the error may follow one message. The runtime isolates it by bisecting the
  batch, retries the single message a bounded number of times and then dead-letters it with the
  error, so one bad record never stops a stage.

``Refused`` is a request refused with a reason the caller can act on (an operator override, a
coverage target, a webhook): never a failure of the worker.
"""

from __future__ import annotations

import asyncio
import functools


class FlywheelError(Exception):
    """Root of the errors Flywheel raises on purpose."""


class Fatal(FlywheelError):
    """The worker must stop: going on would lose or misjudge input."""


class ConfigError(Fatal):
    """The worker cannot run as configured (a setting, the model, the topic model)."""


class StateLost(Fatal):
    """State the worker needs is gone and cannot be rebuilt (never guessed)."""


class Refused(FlywheelError, ValueError):
    """A request refused, with the reason as the message."""


@functools.cache
def _transient_types() -> tuple[type[BaseException], ...]:
    import aiokafka.errors as kafka_errors
    import redis.exceptions as redis_errors

    return (
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
        if isinstance(cur, FlywheelError):
            return False
        if isinstance(cur, transient):
            return True
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return False
