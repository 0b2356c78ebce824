"""Worker: micro-batches, retries and health of the stream processors."""

from __future__ import annotations

from pydantic import BaseModel, Field


class WorkerSettings(BaseModel):
    """Worker: micro-batches, stats, retries and readiness (services/pipeline/runtime.py,
    streams/app.py)."""

    batch_max: int = Field(
        128, ge=1, le=4096, description="most messages in one micro-batch (stream.take)"
    )
    batch_within_s: float = Field(
        0.25, gt=0, le=10, description="longest wait to fill a micro-batch (seconds)"
    )
    stats_interval_s: float = Field(2.0, gt=0, description="how often workers publish stats")
    unready_after_s: float = Field(
        60.0,
        gt=0,
        description="a worker whose stage has retried one batch (a dependency down) longer than "
        "this reports not ready (flywheel_worker_ready 0); it exits non-zero after "
        "FLYWHEEL_EXIT_AFTER_S",
    )
    exit_after_s: float = Field(
        600.0,
        gt=0,
        description="a worker that has retried one batch this long exits non-zero, so its "
        "supervisor restarts it and alerts (docs/operations.md)",
    )
    poison_tries: int = Field(
        3,
        ge=1,
        le=20,
        description="tries of a single message whose processing fails (not a dependency "
        "outage) before it is dead-lettered with the error",
    )
