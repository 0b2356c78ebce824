"""A real Label Studio (scripts/label_studio.sh: its own virtualenv, SQLite, offline) fed with
Flywheel's exported tasks through its API, and the webhooks it posts back.

- the project is created from ``deploy/label-studio/config.xml`` and accepts it;
- tasks rendered by ``services.downstream.subscriber.label_studio_task`` (what ``flywheel export --format
  label-studio`` writes, one per line) import through ``POST /api/projects/{id}/import`` and come
  back with their ``data`` and ``meta`` intact;
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
import secrets
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from services.contract.records import AnnotationRecord
from services.downstream.subscriber import label_studio_task

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "label_studio.sh"
LS_BIN = ROOT / ".flywheel" / "label-studio" / "venv" / "bin" / "label-studio"
CONFIG = ROOT / "deploy" / "label-studio" / "config.xml"
RECORDS = ROOT / "tests" / "data" / "annotation_records_v1.0.jsonl"
FIXTURES = {
    "ANNOTATION_CREATED": ROOT / "tests" / "data" / "label_studio_annotation_created.json",
    "ANNOTATION_UPDATED": ROOT / "tests" / "data" / "label_studio_annotation_updated.json",
}
SECRET = "flywheel-test-secret"  # fake; the value in the fixtures
START_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get_status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return int(r.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:  # refused, reset, timeout: not up yet
        return None


class LabelStudio:
    """The REST API with the legacy token (``Authorization: Token <token>``)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token

    def call(
        self, method: str, path: str, body: Any = None, ok: int = 200, upload: Path | None = None
    ) -> Any:
        """JSON in and out; ``upload`` sends that file as multipart ``file`` instead (the UI's
        import dialog does the same)."""
        headers = {"Authorization": f"Token {self.token}", "Content-Type": "application/json"}
        data = None if body is None else json.dumps(body).encode("utf-8")
        if upload is not None:
            boundary = secrets.token_hex(16)
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
            data = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{upload.name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                + upload.read_bytes()
                + f"\r\n--{boundary}--\r\n".encode()
            )
        req = urllib.request.Request(self.url + path, method=method, data=data, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        assert status == ok, f"{method} {path}: {status} {raw[:500]!r}"
        return json.loads(raw) if raw else None


@pytest.fixture(scope="module")
def label_studio(tmp_path_factory) -> Iterator[LabelStudio]:
    if not LS_BIN.exists():
        pytest.skip(
            f"Label Studio is not installed ({LS_BIN} missing): run scripts/label_studio.sh"
        )
    data = tmp_path_factory.mktemp("label-studio")
    port, token = _free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "LABEL_STUDIO_USERNAME": "annotator@flywheel.test",
        "LABEL_STUDIO_PASSWORD": secrets.token_hex(12),
        "LABEL_STUDIO_USER_TOKEN": token,
        "SSRF_PROTECTION_ENABLED": "false",  # the webhook target is 127.0.0.1
    }
    log = (data / "label-studio.log").open("w")
    proc = subprocess.Popen(
        ["bash", str(SCRIPT), "--start", str(port), str(data)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:  # readiness: /health answers once migrations ran and the server listens
            if proc.poll() is not None:
                pytest.fail(f"Label Studio exited with {proc.returncode}:\n{_tail(data)}")
            if _get_status(url + "/health") == 200:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"Label Studio not ready after {START_TIMEOUT_S} s:\n{_tail(data)}")
            time.sleep(0.25)
        ls = LabelStudio(url, token)
        assert ls.call("GET", "/api/current-user/whoami")["email"] == "annotator@flywheel.test"
        yield ls
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


def _tail(data: Path) -> str:
    return "\n".join((data / "label-studio.log").read_text(errors="replace").splitlines()[-30:])


@pytest.fixture(scope="module")
def export_file(tmp_path_factory) -> Path:
    """``flywheel export --format label-studio --out tasks.jsonl``: one task per line."""
    records = [
        AnnotationRecord.model_validate_json(x) for x in RECORDS.read_text().splitlines() if x
    ]
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
        {"title": "flywheel-prompts", "label_config": CONFIG.read_text()},
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


def test_export_file_needs_a_json_array_for_upload(label_studio, export_file, tmp_path):
    """Label Studio 1.23 imports files ending .json holding ONE JSON document: the export's JSON
    lines are refused (by extension, or as "Trailing data"), the array ``jq -s .`` makes works."""
    p = label_studio.call(
        "POST",
        "/api/projects",
        {"title": "flywheel-upload", "label_config": CONFIG.read_text()},
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
