"""A real Label Studio (scripts/label_studio.sh: its own virtualenv, SQLite, offline) fed with
Flywheel's exported tasks through its API, and the webhooks it posts back.

- the project is created from ``deploy/label-studio/config.xml`` and accepts it;
- tasks rendered by ``services.downstream.exports.label_studio_task`` (what ``flywheel export --format
  label-studio`` writes, one per line) import through ``POST /api/projects/{id}/import`` and come
  back with their ``data`` and ``meta`` intact, a prompt that came in a conversation (system
  message, tools, earlier turns, the product's answer) among them, its dialogues as given;
- a project webhook with the custom header ``X-Flywheel-Secret`` delivers ``ANNOTATION_CREATED``
  and ``ANNOTATION_UPDATED`` to a local server when an annotation is created and changed through
  the API, with the shape of ``tests/data/label_studio_annotation_{created,updated}.json``
  (``FLYWHEEL_LS_WRITE_FIXTURES=1`` rewrites those files from the live run).

Skipped (with the reason) when the Label Studio virtualenv is not installed; run
``scripts/label_studio.sh`` first. Label Studio's own runtime is ~5 s to start from the template
database the script builds, ~35 s without it.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.contract.records import AnnotationRecord
from services.downstream.exports import label_studio_task
from tests.integration.harness import LABEL_STUDIO_CONFIG, LabelStudio

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
RECORDS = ROOT / "tests" / "data" / "annotation_records_v1.0.jsonl"
FIXTURES = {
    "ANNOTATION_CREATED": ROOT / "tests" / "data" / "label_studio_annotation_created.json",
    "ANNOTATION_UPDATED": ROOT / "tests" / "data" / "label_studio_annotation_updated.json",
}
SECRET = "flywheel-test-secret"  # fake; the value in the fixtures
CONVERSATION = AnnotationRecord.model_validate(  # a 1.5 record: a follow-up, with tools
    {
        "prompt_id": "00000000000000000000000000000004",
        "event_id": "e4",
        "text": "And in Celsius?",
        "lang": "en",
        "source": "real",
        "user": None,
        "scores": {"novelty": 0.9},
        "nearest": None,
        "accepted_at": "2026-11-23T22:56:11Z",
        "context_id": "0123456789abcdef",
        "messages": [
            {"role": "system", "content": "You are a weather assistant."},
            {"role": "user", "content": "Weather in Lyon?"},
            {"role": "assistant", "content": "It is 64 °F in Lyon."},
            {"role": "user", "content": "And in Celsius?"},
        ],
        "tools": [{"type": "function", "function": {"name": "get_weather"}}],
        "follows": True,
        "response": "About 18 °C.",
        "schema_version": "1.5",
    }
)


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> Path:
    """``flywheel export --format label-studio --out tasks.jsonl``: one task per line."""
    records = [
        AnnotationRecord.model_validate_json(x) for x in RECORDS.read_text().splitlines() if x
    ]
    records.append(CONVERSATION)
    out = tmp_path_factory.mktemp("export") / "tasks.jsonl"
    with out.open("w", encoding="utf-8") as fh:  # the same serialisation as streams/cli.py
        for rec in records:
            fh.write(json.dumps(label_studio_task(rec), ensure_ascii=False) + "\n")
    return out


@pytest.fixture(scope="module")
def exported(export_file: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in export_file.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def project(label_studio: LabelStudio, exported: list[dict[str, Any]]) -> dict[str, Any]:
    p = label_studio.call(
        "POST",
        "/api/projects",
        {"title": "flywheel-prompts", "label_config": LABEL_STUDIO_CONFIG.read_text()},
        ok=201,
    )
    done = label_studio.call("POST", f"/api/projects/{p['id']}/import", exported, ok=201)
    assert done["task_count"] == len(exported)
    return p


class _HookServer(ThreadingHTTPServer):
    """Records every POST (path, headers, JSON body) and answers 200 at once."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Hooks)
        self.received: list[dict[str, Any]] = []
        self.arrived = threading.Condition()

    def wait(self, action: str, timeout_s: float = 20.0) -> dict[str, Any]:
        def hit() -> dict[str, Any] | None:
            return next((h for h in self.received if h["body"].get("action") == action), None)

        with self.arrived:
            assert self.arrived.wait_for(lambda: hit() is not None, timeout=timeout_s), (
                f"no {action} webhook within {timeout_s} s: {self.received!r:.500}"
            )
            found = hit()
            assert found is not None
            return found


class _Hooks(BaseHTTPRequestHandler):
    server: _HookServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.arrived:
            self.server.received.append(
                {"path": self.path, "headers": dict(self.headers.items()), "body": json.loads(body)}
            )
            self.server.arrived.notify_all()
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_server() -> Iterator[_HookServer]:
    server = _HookServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_project_accepts_the_shipped_label_config(label_studio, project):
    parsed = label_studio.call("GET", f"/api/projects/{project['id']}")["parsed_label_config"]
    assert parsed["label"]["type"] == "Choices"
    assert parsed["label"]["to_name"] == ["prompt"]
    assert parsed["label"]["labels"] == ["good", "needs_edit", "off_topic", "spam", "unsafe"]
    assert parsed["score"]["type"] == "Rating"


def test_exported_tasks_import_with_their_data(label_studio, project, exported):
    listed = label_studio.call("GET", f"/api/tasks?project={project['id']}&page_size=100")
    tasks = listed["tasks"]
    assert listed["total"] == len(exported) == len(tasks)
    by_prompt = {t["data"]["prompt_id"]: t for t in tasks}
    for sent in exported:
        got = by_prompt[sent["data"]["prompt_id"]]
        assert got["data"] == sent["data"]  # text (incl. non-ASCII, {{EMAIL}}), lang, novelty None
        assert got["meta"] == sent["meta"]
        assert got["project"] == project["id"]
    one = label_studio.call("GET", f"/api/tasks/{tasks[0]['id']}")
    assert one["data"] == tasks[0]["data"]
    dialogue = by_prompt[CONVERSATION.prompt_id]["data"]
    assert [u["role"] for u in dialogue["context"]] == ["tools", "system", "user", "assistant"]
    assert dialogue["answer"] == [{"role": "assistant", "content": "About 18 °C."}]
    assert all(
        by_prompt[p]["data"]["context"] == [] for p in by_prompt if p != CONVERSATION.prompt_id
    )


def test_shipped_label_config_renders_dialogues(label_studio, project):
    """Label Studio reads the config's two Paragraphs as dialogues of ``{role, content}``: the
    sample task it builds from the config (what its preview shows) has those keys."""
    sample = label_studio.call(
        "POST",
        f"/api/projects/{project['id']}/sample-task/",
        {"label_config": LABEL_STUDIO_CONFIG.read_text()},
        ok=200,
    )["sample_task"]
    for name in ("context", "answer"):
        assert sample[name] and all(set(u) == {"role", "content"} for u in sample[name])


def test_export_file_needs_a_json_array_for_upload(label_studio, export_file, tmp_path):
    """Label Studio 1.23 imports files ending .json holding ONE JSON document: the export's JSON
    lines are refused (by extension, or as "Trailing data"), the array ``jq -s .`` makes works."""
    p = label_studio.call(
        "POST",
        "/api/projects",
        {"title": "flywheel-upload", "label_config": LABEL_STUDIO_CONFIG.read_text()},
        201,
    )
    refused = label_studio.call(
        "POST", f"/api/projects/{p['id']}/import", ok=400, upload=export_file
    )
    assert ".jsonl extension is not supported" in json.dumps(refused)
    as_json = tmp_path / "tasks-lines.json"
    as_json.write_bytes(export_file.read_bytes())
    refused = label_studio.call("POST", f"/api/projects/{p['id']}/import", ok=400, upload=as_json)
    assert "Trailing data" in json.dumps(refused)
    array = tmp_path / "tasks.json"  # jq -s . tasks.jsonl > tasks.json
    lines = export_file.read_text(encoding="utf-8").splitlines()
    array.write_text(json.dumps([json.loads(x) for x in lines], ensure_ascii=False), "utf-8")
    done = label_studio.call("POST", f"/api/projects/{p['id']}/import", ok=201, upload=array)
    assert done["task_count"] == len(lines)
    tasks = label_studio.call("GET", f"/api/tasks?project={p['id']}&page_size=100")["tasks"]
    assert sorted(t["data"]["prompt_id"] for t in tasks) == sorted(
        json.loads(x)["data"]["prompt_id"] for x in lines
    )


def test_webhook_on_annotation_created_and_updated(label_studio, project, hook_server):
    url = f"http://127.0.0.1:{hook_server.server_address[1]}/webhooks/label-studio"
    hook = label_studio.call(
        "POST",
        "/api/webhooks/",
        {
            "project": project["id"],
            "url": url,
            "headers": {"X-Flywheel-Secret": SECRET},
            "send_payload": True,
            "send_for_all_actions": False,
            "actions": ["ANNOTATION_CREATED", "ANNOTATION_UPDATED"],
        },
        ok=201,
    )
    assert hook["headers"] == {"X-Flywheel-Secret": SECRET}
    tasks = label_studio.call("GET", f"/api/tasks?project={project['id']}&page_size=100")["tasks"]
    task = next(t for t in tasks if t["data"]["source"] == "synthetic")
    me = label_studio.call("GET", "/api/current-user/whoami")

    result = [
        {"id": "lbl1", "from_name": "label", "to_name": "prompt", "type": "choices",
         "origin": "manual", "value": {"choices": ["spam"]}},
        {"id": "scr1", "from_name": "score", "to_name": "prompt", "type": "rating",
         "origin": "manual", "value": {"rating": 2}},
    ]  # fmt: skip
    ann = label_studio.call(
        "POST",
        f"/api/tasks/{task['id']}/annotations/",
        {"result": result, "lead_time": 7.5},
        ok=201,
    )
    created = hook_server.wait("ANNOTATION_CREATED")
    changed = [
        {**result[0], "value": {"choices": ["unsafe"]}},
        {**result[1], "value": {"rating": 1}},
    ]
    label_studio.call("PATCH", f"/api/annotations/{ann['id']}/", {"result": changed})
    updated = hook_server.wait("ANNOTATION_UPDATED")

    for hit, choice, rating in ((created, "spam", 2), (updated, "unsafe", 1)):
        headers = {k.lower(): v for k, v in hit["headers"].items()}
        assert hit["path"] == "/webhooks/label-studio"
        assert headers["x-flywheel-secret"] == SECRET
        assert headers["content-type"] == "application/json"
        assert "sentry-trace" not in headers  # Sentry is off (scripts/label_studio.sh)
        body = hit["body"]
        assert set(body) == {"action", "annotation", "project", "task"}
        assert body["task"]["data"] == task["data"]  # prompt_id etc. travel with the annotation
        assert body["task"]["meta"] == task["meta"]
        assert body["annotation"]["id"] == ann["id"]
        assert body["annotation"]["task"] == task["id"]
        assert body["annotation"]["completed_by"] == me["id"]  # a user id, not an email
        assert body["annotation"]["was_cancelled"] is False
        values = {r["from_name"]: r["value"] for r in body["annotation"]["result"]}
        assert values == {"label": {"choices": [choice]}, "score": {"rating": rating}}
        assert body["project"]["id"] == project["id"]
    assert (
        updated["body"]["annotation"]["created_at"] == created["body"]["annotation"]["created_at"]
    )
    assert updated["body"]["annotation"]["updated_at"] > created["body"]["annotation"]["updated_at"]

    for action, hit in (("ANNOTATION_CREATED", created), ("ANNOTATION_UPDATED", updated)):
        fixture = {"label_studio_version": "1.23.2", **hit}
        if os.environ.get("FLYWHEEL_LS_WRITE_FIXTURES") == "1":
            FIXTURES[action].write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")
        saved = json.loads(FIXTURES[action].read_text())
        # the fixtures keep the shape Label Studio sends (keys at every level that matters)
        assert set(saved["body"]) == set(hit["body"])
        for key in ("annotation", "task", "project"):
            assert set(saved["body"][key]) == set(hit["body"][key]), key
        assert {k.lower() for k in saved["headers"]} == {k.lower() for k in hit["headers"]}

    try:
        from services.downstream.webhooks import parse_label_studio
    except ImportError:
        return  # the receiver is not there yet; the fixtures above still pin the payload
    for hit, label, score in ((created, "spam", 2.0), (updated, "unsafe", 1.0)):
        (res,) = parse_label_studio(hit["body"])
        assert (res.prompt_id, res.label, res.score) == (task["data"]["prompt_id"], label, score)
        assert res.annotator == str(me["id"])
