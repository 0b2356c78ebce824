"""Operations: the ops API, metrics, logs and the lag watch."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class OpsSettings(BaseModel):
    """Operations: the ops API and dashboard, metrics, logs, lag (services/ops,
    docs/operations.md)."""

    log_level: Literal["debug", "info", "warn", "error"] = Field(
        "info", description="log level of every Flywheel process"
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="worker log lines: text, or json (one object per line: time, level, logger, "
        "message, topic/partition/offset where there is one, error and traceback; "
        "docs/operations.md)",
    )
    metrics_port: int = Field(
        9464, ge=0, le=65535, description="worker /metrics port; 0 = not served"
    )
    ops_host: str = Field("127.0.0.1", description="ops API bind address")
    ops_port: int = Field(8080, ge=0, le=65535, description="ops API and dashboard port")
    ops_token: SecretStr = Field(
        SecretStr(""),
        description="bearer token for the ops API's write endpoints; empty = writes refused",
    )
    ops_read_token: SecretStr = Field(
        SecretStr(""),
        description="bearer token for ops API reads that serve prompt text (/api/recent); the "
        "write token also grants them; both empty = those reads refused",
    )
    lag_poll_s: float = Field(2.0, gt=0, description="how often the ops API samples lag")
    lag_stall_s: float = Field(
        10.0,
        gt=0,
        description="lag above 0 with the committed offset unmoved this long (seconds) = STALL",
    )
    lag_stop_s: float = Field(
        120.0, gt=0, description="the same for longer than this (seconds) = STOP"
    )
