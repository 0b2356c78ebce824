"""Label Studio annotations (``ANNOTATION_CREATED``, ``ANNOTATION_UPDATED``, ``ANNOTATIONS_CREATED``)
as ``AnnotationResult``s. The label config is deploy/label-studio/config.xml."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.contract.records import AnnotationResult
from services.downstream.webhooks.errors import WebhookRejected
from services.downstream.webhooks.fields import (
    build_result,
    coerce_annotator,
    coerce_label,
    coerce_prompt_id,
    coerce_score,
    first_timestamp,
    int_or_none,
)

# deploy/label-studio/config.xml: <Choices name="label"> and <Rating name="score">
LS_LABEL_CONTROL = "label"
LS_SCORE_CONTROL = "score"
LS_ACTIONS = frozenset({"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"})
SKIPPED = "skipped"  # label of a Label Studio annotation the annotator skipped (was_cancelled)


def parse_label_studio(
    payload: Mapping[str, Any], *, annotator_key: bytes = b""
) -> list[AnnotationResult]:
    """Results of a Label Studio webhook; ``[]`` for actions other than annotations created or
    updated. All or nothing: one unusable annotation (no ``task.data.prompt_id``, no ``label``
    choice, no timestamp) rejects the request with 422 and none is returned.

    ``annotator_key`` keys the hash that replaces an annotator given as an email.
    """
    action = payload.get("action")
    if not isinstance(action, str) or action not in LS_ACTIONS:
        return []
    project = payload.get("project")
    project_id = int_or_none(project.get("id")) if isinstance(project, dict) else None
    if action == "ANNOTATIONS_CREATED":
        annotations = payload.get("annotation", payload.get("annotations"))
        tasks = payload.get("task", payload.get("tasks"))
        if not isinstance(annotations, list):
            raise WebhookRejected(422, "annotations missing")
        by_id = {
            t["id"]: t
            for t in (tasks if isinstance(tasks, list) else [])
            if isinstance(t, dict) and int_or_none(t.get("id")) is not None
        }
        pairs = []
        for ann in annotations:
            ref = ann.get("task") if isinstance(ann, dict) else None
            task = ref if isinstance(ref, dict) else by_id.get(int_or_none(ref))
            pairs.append((ann, task))
    else:
        pairs = [(payload.get("annotation"), payload.get("task"))]
    return [
        _result(ann, task, action, project_id, annotator_key, f"annotation {i}")
        for i, (ann, task) in enumerate(pairs)
    ]


def label_studio_delivery_id(results: Sequence[AnnotationResult]) -> str | None:
    """What identifies a delivery, since Label Studio sends no delivery id: the annotation
    versions it carries (project, annotation id, ``updated_at``). The same request sent again has
    the same versions; an edit has a new ``updated_at``. ``None`` when an annotation has no id."""
    parts = []
    for r in results:
        ann = r.meta.get("annotation_id")
        if ann is None:
            return None
        parts.append(f"{r.meta.get('project')}/{ann}@{r.ts.isoformat()}")
    return " ".join(sorted(parts)) or None


def _result(
    ann: Any, task: Any, action: str, project_id: int | None, key: bytes, where: str
) -> AnnotationResult:
    if not isinstance(ann, dict):
        raise WebhookRejected(422, f"{where}: annotation missing")
    data = task.get("data") if isinstance(task, dict) else None
    prompt_id = coerce_prompt_id(data.get("prompt_id")) if isinstance(data, dict) else None
    if prompt_id is None:
        raise WebhookRejected(422, f"{where}: task.data.prompt_id missing")
    result = ann.get("result")
    items = [r for r in result if isinstance(r, dict)] if isinstance(result, list) else []
    choice = _control_value(items, LS_LABEL_CONTROL, "choices")
    cancelled = ann.get("was_cancelled") is True
    label = SKIPPED if cancelled else coerce_label(choice, where)
    ts = first_timestamp(ann.get("updated_at"), ann.get("created_at"))
    if ts is None:
        raise WebhookRejected(422, f"{where}: updated_at/created_at missing")
    task_id = int_or_none(ann.get("task"))
    if task_id is None and isinstance(task, dict):
        task_id = int_or_none(task.get("id"))
    return build_result(
        where,
        prompt_id=prompt_id,
        label=label,
        score=coerce_score(_control_value(items, LS_SCORE_CONTROL, "rating")),
        annotator=coerce_annotator(ann.get("completed_by"), key),
        ts=ts,
        meta={
            "tool": "label-studio",
            "project": project_id if project_id is not None else int_or_none(ann.get("project")),
            "task_id": task_id,
            "annotation_id": int_or_none(ann.get("id")),
            "action": action,
            "was_cancelled": cancelled,
            "choice": choice[0] if isinstance(choice, list) and choice else None,
        },
    )


def _control_value(items: list[dict[str, Any]], control: str, kind: str) -> Any:
    """``value[kind]`` of the first result item of the control ``control``."""
    for item in items:
        value = item.get("value")
        if item.get("from_name") == control and isinstance(value, dict) and kind in value:
            return value[kind]
    return None
