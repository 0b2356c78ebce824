"""Redis and what the state layer keeps in it, and for how long."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field, SecretStr


class StateSettings(BaseModel):
    """Redis and local state: connection, key prefix, retention, index snapshots (services/state)."""

    redis_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL (may hold a password)",
        json_schema_extra={"deploy_required": True},
    )
    namespace: str = Field("fw", description="prefix of every Redis key this deployment writes")
    state_dir: Path = Field(
        Path(".flywheel"),
        description="local directory of the dev stack's pids and logs, the model cache and "
        "worker data",
    )
    index_snapshot_every: int = Field(
        100_000,
        ge=0,
        description="snapshot an index every this many new vectors, so a worker that takes "
        "over a shard loads the snapshot and replays only the tail, and trim the vector log "
        "behind it (Redis keeps the tail only); 0 = never snapshot, never trim",
    )
    index_snapshot_dir: str = Field(
        "",
        description="directory for index snapshots (a volume every curate worker mounts, "
        "read-write-many in k8s); empty = snapshots in Redis (docs/vector-index.md)",
    )
    retention_days: float = Field(
        30,
        gt=0,
        description="the longest Flywheel keeps anything that holds text or per-user state: "
        "exact-duplicate claims, the user index of erasure, the cascade's texts and the "
        "internal curate topic; the dedup horizon and FLYWHEEL_SEEN_TTL_S must not exceed it "
        "(docs/privacy.md)",
    )
    dedup_horizon_days: float = Field(
        0,
        ge=0,
        description="forget accepted vectors older than this many days, so the near-duplicate "
        "indexes of an unbounded stream stay bounded (a prompt older than that may be accepted "
        "again); 0 = the retention period, FLYWHEEL_RETENTION_DAYS (docs/runbook.md)",
    )
    cascade_ttl_s: int = Field(
        0,
        ge=0,
        description="retention of the cascade's redacted accepted texts and transformer vectors "
        "in Redis; 0 = the dedup horizon",
    )
