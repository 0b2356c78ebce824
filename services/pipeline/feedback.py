"""The feedback agent: annotator decisions steer curation.

For every ``AnnotationResult`` on ``annotations.results`` the store counts the vote
(``services.state.feedback_store``: latest class per prompt and annotator, cluster weights, the
blocklist, agreement); the stage exports the metrics and asks for another review round on
``prompts.review`` when annotators disagree. Invalid records go to the DLQ.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError

from services.contract.envelope import InMsg, Out, validation_detail
from services.contract.records import AnnotationResult
from services.diversity.agreement import agreement_report
from services.diversity.feedback import label_class
from services.ops.metrics import (
    ANNOTATOR_ALPHA,
    CLUSTER_WEIGHT,
    FEEDBACK_BLOCKED,
    FEEDBACK_PROMPTS,
    FEEDBACK_RESULTS,
    REVIEW_REQUESTS,
)
from services.pipeline.stage import Stage
from services.settings import Settings
from services.state.feedback_store import FeedbackStore


class FeedbackStage(Stage):
    """``annotations.results`` -> the feedback store; review requests -> ``prompts.review``.
    Invalid records go to the DLQ."""

    name = "feedback"

    def __init__(self, settings: Settings, store: FeedbackStore) -> None:
        super().__init__(settings)
        self.store = store

    def output_topics(self) -> list[str]:
        return [self.s.topic_dlq, self.s.topic_review]

    async def process(self, msgs: Sequence[InMsg]) -> list[Out]:
        outs: list[Out] = []
        results, srcs = [], []
        for msg in msgs:
            try:
                results.append(AnnotationResult.model_validate_json(msg.value or b""))
                srcs.append(msg.src)
            except ValidationError as exc:
                outs.append(self.dead_letter(msg, "invalid_result", validation_detail(exc)))
        outcome = await self.store.apply(results, srcs)
        for res in results:
            FEEDBACK_RESULTS.labels(label_class(res.label) or "unknown").inc()
        FEEDBACK_BLOCKED.inc(outcome.blocked)
        for c, w in outcome.weights.items():
            CLUSTER_WEIGHT.labels(str(c)).set(w)
        for src, req in outcome.reviews:
            outs.append(
                Out(
                    self.s.topic_review,
                    req.prompt_id.encode(),
                    req.model_dump_json().encode(),
                    src,
                    label=f"review:{req.reason}",
                )
            )
        REVIEW_REQUESTS.inc(len(outcome.reviews))
        if outcome.counted:
            await self._export_agreement()
        self.count("results", len(results))
        self.count("blocked", outcome.blocked)
        self.count("unknown_prompt", outcome.unknown_prompt)
        return outs

    async def _export_agreement(self) -> None:
        report = await agreement_report(self.store.redis, self.s.namespace)
        ANNOTATOR_ALPHA.labels("all").set(_nan(report["alpha"]["global"]))
        for c, a in report["alpha"]["clusters"].items():
            ANNOTATOR_ALPHA.labels(str(c)).set(_nan(a))
        for state in ("agreed", "open", "unresolved"):
            FEEDBACK_PROMPTS.labels(state).set(report["items"][state])


def _nan(x: float | None) -> float:
    return float("nan") if x is None else x
