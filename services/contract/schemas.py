"""JSON Schemas of the public contract, generated from the pydantic models."""

from __future__ import annotations

import json
from pathlib import Path

from services.contract.records import PUBLIC_MODELS, SCHEMA_VERSION


def schemas() -> dict[str, dict]:
    out = {}
    for name, model in PUBLIC_MODELS.items():
        schema = model.model_json_schema()
        schema["$id"] = f"https://flywheel.dev/schemas/{SCHEMA_VERSION}/{name}.json"
        schema["x-schema-version"] = SCHEMA_VERSION
        out[name] = schema
    return out


def write_schemas(target: Path) -> list[Path]:
    target.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in schemas().items():
        path = target / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n")
        paths.append(path)
    return paths
