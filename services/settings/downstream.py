"""Downstream: the secrets annotation tools sign their webhooks with."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr


class DownstreamSettings(BaseModel):
    """Annotation tools: webhook secrets (services/downstream, docs/annotation-tools.md)."""

    webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="shared secret Label Studio sends in the X-Flywheel-Secret header (set as a "
        "custom webhook header); empty = Label Studio webhooks refused",
    )
    argilla_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Argilla webhook signing secret (whsec_...; Standard Webhooks signatures); "
        "empty = Argilla webhooks refused",
    )
