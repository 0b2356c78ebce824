"""The one exception of the webhook receivers: every refusal is a status plus a reason."""

from __future__ import annotations

from services.errors import Refused


class WebhookRejected(Refused):
    """The request is refused with HTTP ``status``; ``reason`` is safe to log and to return
    (it never quotes the body, which holds prompt text)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
