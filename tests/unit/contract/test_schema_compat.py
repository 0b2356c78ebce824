"""Schema policy: records written under the previous schema version still parse. The fixture
holds records as version 1.0 wrote them; when the version moves on, it stays as it is."""

import json
from pathlib import Path

import jsonschema

from services.contract.records import SCHEMA_VERSION, AnnotationRecord
from services.downstream.exports import argilla_record, label_studio_task

DATA = Path(__file__).resolve().parents[2] / "data"
ROOT = Path(__file__).resolve().parents[3]


def old_records() -> list[str]:
    return [x for x in (DATA / "annotation_records_v1.0.jsonl").read_text().split("\n") if x]


def test_previous_version_records_parse_and_validate():
    schema = json.loads((ROOT / "docs" / "schemas" / "annotation_record.schema.json").read_text())
    for line in old_records():
        rec = AnnotationRecord.model_validate_json(line)
        assert rec.schema_version.split(".")[0] == SCHEMA_VERSION.split(".")[0]
        jsonschema.validate(json.loads(line), schema)


def test_label_studio_tasks_match_the_shipped_config():
    config = (ROOT / "deploy" / "label-studio" / "config.xml").read_text()
    for line in old_records():
        task = label_studio_task(AnnotationRecord.model_validate_json(line))
        assert set(task) <= {"data", "meta", "annotations", "predictions"}
        for var in ("prompt", "lang"):
            assert f"${var}" in config and isinstance(task["data"][var], str)
        for var in ("context", "answer"):  # Paragraphs: a list, empty for a lone prompt
            assert f"${var}" in config and task["data"][var] == []


def test_argilla_records_match_the_dataset_settings():
    dataset = json.loads((ROOT / "deploy" / "argilla" / "dataset.json").read_text())
    fields = {f["name"] for f in dataset["fields"]}
    required = {f["name"] for f in dataset["fields"] if f["required"]}
    metadata = {m["name"] for m in dataset["metadata"]}
    questions = {q["name"]: q for q in dataset["questions"]}
    for line in old_records():
        rec = argilla_record(AnnotationRecord.model_validate_json(line))
        assert set(rec["fields"]) == required == {"prompt"}  # a lone prompt, as before 1.5
        assert set(rec["fields"]) <= fields
        assert set(rec["metadata"]) <= metadata
        for sug in rec["suggestions"]:
            assert sug["value"] in questions[sug["question_name"]]["labels"]
