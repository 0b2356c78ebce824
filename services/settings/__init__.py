"""The one settings object. Every field is read from the environment with the prefix ``FLYWHEEL_``.

Example: ``FLYWHEEL_KAFKA_BOOTSTRAP=127.0.0.1:9092 FLYWHEEL_NEAR_DUP_THRESHOLD=0.9 flywheel worker``.

The fields are grouped by the room that reads them, one class per room in this package;
``Settings`` combines them, so a field is ``Settings().<name>`` and ``FLYWHEEL_<NAME>`` whatever
its room. docs/settings.md is generated from these classes (``python -m
services.settings.reference``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Self

from pydantic import BaseModel, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.settings.clean import CleanSettings
from services.settings.contamination import ContaminationSettings
from services.settings.dedup import DedupSettings
from services.settings.diversity import DiversitySettings
from services.settings.downstream import DownstreamSettings
from services.settings.embedding import EmbeddingSettings
from services.settings.feedback import FeedbackSettings
from services.settings.kafka import KafkaSettings
from services.settings.ops import OpsSettings
from services.settings.state import StateSettings
from services.settings.worker import WorkerSettings

_STATIC_TOPICS = Path(__file__).parent.parent / "embed" / "data" / "topics-static-v1.npz"

# Cosines of a distilled static model are not the transformer's (its vectors are means of
# token vectors, so unrelated prompts sit closer): it gets its own defaults, calibrated by
# measurement (docs/benchmarks.md), and its own topic centroids. They apply when the
# setting is not given; an explicit FLYWHEEL_NEAR_DUP_THRESHOLD always wins.
BACKEND_DEFAULTS: dict[str, dict[str, object]] = {
    "static": {
        "near_dup_threshold": 0.91,
        "blocklist_threshold": 0.91,
        "topics_path": str(_STATIC_TOPICS),
    },
    # the cascade's indexes, blocklist and topics are the static model's; its near-duplicate
    # threshold is the transformer's, which verifies every static candidate
    "cascade": {
        "blocklist_threshold": 0.91,
        "topics_path": str(_STATIC_TOPICS),
    },
}

# In the order docs/settings.md lists them: the path of one event, then the rooms beside it.
ROOMS: tuple[type[BaseModel], ...] = (
    KafkaSettings,
    StateSettings,
    WorkerSettings,
    CleanSettings,
    ContaminationSettings,
    EmbeddingSettings,
    DedupSettings,
    DiversitySettings,
    FeedbackSettings,
    DownstreamSettings,
    OpsSettings,
)


class Settings(
    OpsSettings,
    DownstreamSettings,
    FeedbackSettings,
    DiversitySettings,
    DedupSettings,
    EmbeddingSettings,
    ContaminationSettings,
    CleanSettings,
    WorkerSettings,
    StateSettings,
    KafkaSettings,
    BaseSettings,
):
    """Every room's settings in one frozen object, read from ``FLYWHEEL_*`` variables."""

    model_config = SettingsConfigDict(env_prefix="FLYWHEEL_", frozen=True, extra="ignore")

    @model_validator(mode="after")
    def _backend_defaults(self) -> Self:
        """Fill the backend's own defaults for the settings not given explicitly."""
        for name, value in BACKEND_DEFAULTS.get(self.embedding_backend, {}).items():
            if name not in self.model_fields_set:
                object.__setattr__(self, name, value)  # frozen model: set once, while validating
        return self

    @model_validator(mode="after")
    def _within_retention(self) -> Self:
        """One retention policy (docs/privacy.md): no store keeps text or per-user state longer
        than ``retention_days``."""
        limit = self.retention_s
        for name, value in (
            ("seen_ttl_s", self.seen_ttl_s),
            ("cascade_ttl_s", self.cascade_ttl_s),
            ("feedback_ttl_s", self.feedback_ttl_s),
            ("dedup_horizon_days", int(self.dedup_horizon_days * 86_400)),
        ):
            if value > limit:
                raise ValueError(f"{name} keeps state longer than retention_days allows")
        return self

    @property
    def retention_s(self) -> int:
        return int(self.retention_days * 86_400)

    @property
    def horizon_s(self) -> int:
        """The dedup horizon in seconds: ``dedup_horizon_days``, else the retention period."""
        return int((self.dedup_horizon_days or self.retention_days) * 86_400)

    def to_env(self) -> dict[str, str]:
        """The environment that gives another process (a worker) these same settings."""
        env = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            text = json.dumps(value) if isinstance(value, list | dict) else str(value)
            env[f"FLYWHEEL_{name.upper()}"] = text
        return env
