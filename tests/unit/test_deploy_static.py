"""Static checks of the deployment files (no Docker engine or cluster runs here): the compose file
against the Compose specification's JSON Schema, each kustomize overlay rendered by kubectl and
validated, and every FLYWHEEL_* variable they set checked against the settings model."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from services.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = shutil.which("kubectl")
FIELDS = {f"FLYWHEEL_{name.upper()}" for name in Settings.model_fields}
REQUIRED = {
    f"FLYWHEEL_{name.upper()}"
    for name, field in Settings.model_fields.items()
    if isinstance(field.json_schema_extra, dict) and field.json_schema_extra.get("deploy_required")
}


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_file_validates_against_the_compose_spec():
    # compose_spec.json: the Compose Specification schema as shipped in docker-compose 1.29.2
    schema = json.loads((ROOT / "tests" / "data" / "compose_spec.json").read_text())
    jsonschema.Draft7Validator(schema).validate(compose())


def test_compose_services_health_and_settings():
    doc = compose()
    services = doc["services"]
    assert {"kafka", "redis", "worker", "ops", "prometheus", "grafana", "topics"} <= set(services)
    for name in ("kafka", "redis", "worker", "ops"):
        assert "healthcheck" in services[name], name
    assert (
        "--requirepass" in services["redis"]["command"]
        and "--appendonly" in services["redis"]["command"]
    )
    kafka_env = services["kafka"]["environment"]
    assert kafka_env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert kafka_env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    for name in ("worker", "ops"):
        env = services[name]["environment"]
        flywheel = {k for k in env if k.startswith("FLYWHEEL_")}
        assert flywheel <= FIELDS, flywheel - FIELDS
        assert REQUIRED <= flywheel, REQUIRED - flywheel
    topics = " ".join(services["topics"]["command"])
    for topic in (
        "chat.events",
        "prompts.annotation",
        "prompts.rejected",
        "chat.events.dlq",
        "flywheel.curate",
        "annotations.results",
        "flywheel.gaps",
        "prompts.review",
    ):
        assert topic in topics


def render(overlay: str, tmp_path: Path) -> list[dict]:
    tree = tmp_path / "k8s"
    shutil.copytree(ROOT / "k8s", tree)
    example = tree / "overlays" / overlay / "secrets.env.example"
    if example.exists():  # the real secrets.env is never committed
        shutil.copy(example, example.with_suffix(""))
    out = subprocess.run(
        [KUBECTL, "kustomize", str(tree / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.mark.skipif(KUBECTL is None, reason="kubectl not installed")
@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_overlay_renders_and_validates(overlay, tmp_path):
    import kubernetes_validate

    docs = render(overlay, tmp_path)
    kinds = {d["kind"] for d in docs}
    assert {
        "Deployment",
        "Service",
        "ConfigMap",
        "Secret",
        "PodDisruptionBudget",
        "ScaledObject",
        "KafkaNodePool",
        "Kafka",
        "KafkaTopic",
        "ServiceMonitor",
        "Namespace",
    } <= kinds
    core = [
        d
        for d in docs
        if "." not in d["apiVersion"].split("/")[0]
        or d["apiVersion"].startswith(("apps/", "policy/"))
    ]
    for doc in core:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    env_names: set[str] = set()
    for doc in docs:
        if doc["kind"] in ("ConfigMap", "Secret"):
            env_names |= set(doc.get("data", {}))
        if doc["kind"] == "Deployment":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                env_names |= {e["name"] for e in c.get("env", [])}
                assert c["resources"]["requests"] and c["resources"]["limits"]
                assert "livenessProbe" in c and ("readinessProbe" in c or "startupProbe" in c)
    flywheel = {n for n in env_names if n.startswith("FLYWHEEL_")}
    assert flywheel <= FIELDS, flywheel - FIELDS
    assert REQUIRED <= flywheel, REQUIRED - flywheel
    scaled = next(d for d in docs if d["kind"] == "ScaledObject")
    topic = next(
        d for d in docs if d["kind"] == "KafkaTopic" and d["spec"]["topicName"] == "chat.events"
    )
    assert scaled["spec"]["maxReplicaCount"] <= topic["spec"]["partitions"]
    assert all(
        d["metadata"].get("namespace") == ("flywheel" if overlay == "prod" else "flywheel-dev")
        for d in docs
        if d["kind"] != "Namespace"
    )
