"""The erasure agent: requests on ``privacy.erasure`` -> prompts erased everywhere.

Per request (``ErasureRequest``): the raw user id is hashed at once with the deployment's key
and never stored or logged; the prompts it names are resolved (``services.state.privacy``) and
the resolution kept, so a replay after a crash erases and announces the same prompts; they are
removed from every Redis store and from every worker's indexes. Outputs, exactly once through
the runner: one ``ErasedRecord`` per prompt on ``prompts.erased``, a tombstone (null value) for
its key on ``prompts.annotation``, and one ``AuditRecord`` on ``privacy.audit``. A request
that is not valid JSON or names nothing goes to the DLQ. docs/privacy.md.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from pydantic import ValidationError

from services.clean.text import event_key, user_hash
from services.contract.envelope import InMsg, Out, validation_detail
from services.contract.records import AuditRecord, ErasedRecord, ErasureRequest, now_utc
from services.ops.metrics import ERASED_PROMPTS, ERASURE_SECONDS
from services.pipeline.stage import Stage, in_ts_headers
from services.settings import Settings
from services.state.privacy import RedisPrivacy


class ErasureStage(Stage):
    name = "erasure"

    def __init__(self, settings: Settings, privacy: RedisPrivacy) -> None:
        super().__init__(settings)
        self.privacy = privacy
        self.user_key = settings.user_hash_key.get_secret_value().encode()

    def output_topics(self) -> list[str]:
        s = self.s
        return [s.topic_erased, s.topic_annotation, s.topic_audit, s.topic_dlq]

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        for msg in msgs:
            try:
                req = ErasureRequest.model_validate_json(msg.value or b"")
            except ValidationError as exc:
                detail = validation_detail(exc)
                outs.append(self.dead_letter(msg, "invalid_erasure_request", detail))
                continue
            outs += await self._erase(msg, req)
        return outs

    async def _erase(self, msg: InMsg, req: ErasureRequest) -> list[Out]:
        arrived = now_utc()
        requested = req.requested_at or arrived
        user = user_hash(req.user_id, self.user_key) if req.user_id else req.user
        event = event_key(req.event_id) if req.event_id else None
        found = await self.privacy.resolve(user, event, req.prompt_id)
        found = await self.privacy.remember(msg.src, found)
        removed = await self.privacy.erase(found)
        done = now_utc()
        reason = "user" if user else "event" if event else "prompt"
        headers = in_ts_headers(msg.timestamp_ms)
        outs = []
        for pid in sorted(found):
            rec = ErasedRecord(prompt_id=pid, reason=reason, requested_at=requested, done_at=done)
            key = pid.encode()
            outs.append(
                Out(self.s.topic_erased, key, rec.model_dump_json().encode(), msg.src, headers)
            )
            outs.append(Out(self.s.topic_annotation, key, None, msg.src, headers))
        ref = req.request_id or msg.src
        audit = AuditRecord(
            request=hashlib.sha256(ref.encode("utf-8", "surrogatepass")).hexdigest(),
            user=user,
            event=event,
            prompt_id=req.prompt_id,
            erased=sorted(found),
            removed=dict(removed),
            requested_at=requested,
            done_at=done,
        )
        outs.append(
            Out(
                self.s.topic_audit,
                audit.request.encode(),
                audit.model_dump_json().encode(),
                msg.src,
                headers,
                label="erased",
            )
        )
        ERASURE_SECONDS.observe(max((done - requested).total_seconds(), 0.0))
        ERASED_PROMPTS.inc(len(found))
        return outs
