"""The webhook receivers over real HTTP (aiohttp test server), publishing into a list.

The delivery log is the real Redis of the embedded stack (a namespace per test); the Kafka
end-to-end test lives elsewhere. Status codes: 200 {"accepted": n} after publish returned (a
replayed delivery: {"accepted": 0, "duplicate": true}), 401 unverified, 415 not declared JSON,
400 not a JSON object, 413 too large, 422 unusable, 503 publish failed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from services.contract.records import AnnotationResult
from services.dev.devstack import free_port
from services.downstream.webhooks import TOLERANCE_S, sign_standard_webhook, standard_webhook_key
from services.keys import Keys
from services.settings import Settings
from streams.webhooks_http import add_webhook_routes

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[1] / "data"
LS_SECRET = "ls-shared-secret"
ARGILLA_SECRET = "whsec_" + base64.b64encode(b"flywheel-test-signing-key-32byte").decode()
LS_URL, ARGILLA_URL = "/webhooks/label-studio", "/webhooks/argilla"
PROMPT = "How do I sort a dict by value?"  # in the fixtures' task data and record fields


def settings(**overrides) -> Settings:
    values = {
        "namespace": f"t{uuid.uuid4().hex[:8]}",
        "webhook_secret": LS_SECRET,
        "argilla_webhook_secret": ARGILLA_SECRET,
        "user_hash_key": "test-hash-key",
    }
    return Settings(**{**values, **overrides})


def fixture(name: str) -> bytes:
    return (DATA / name).read_bytes()


class Recorder:
    """An in-memory ``publish``: records batches; slow, so a 200 before it finished would show."""

    def __init__(self, fail: bool = False) -> None:
        self.batches: list[list[AnnotationResult]] = []
        self.fail = fail

    async def __call__(self, results: list[AnnotationResult]) -> None:
        await asyncio.sleep(0.02)
        if self.fail:
            raise RuntimeError("broker down")
        self.batches.append(results)

    @property
    def results(self) -> list[AnnotationResult]:
        return [r for batch in self.batches for r in batch]


@pytest.fixture
async def serve(stack):
    clients: list[TestClient] = []

    async def make(s: Settings | None = None, publish: Recorder | None = None, **kwargs):
        app = web.Application()
        recorder = publish or Recorder()
        s = s or settings()
        if "redis_url" not in s.model_fields_set:  # the stack's Redis keeps the delivery ids
            s = s.model_copy(update={"redis_url": SecretStr(stack.redis_url)})
        add_webhook_routes(app, s, recorder, **kwargs)
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client, recorder

    yield make
    for client in clients:
        await client.close()


def ls_headers(secret: str = LS_SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Flywheel-Secret": secret}


def signed(
    body: bytes,
    secret: str = ARGILLA_SECRET,
    ts: int | None = None,
    msg_id: str = "msg_2mIPUNGUjkLp0mF9ZzRSCg",
) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    return {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_standard_webhook(standard_webhook_key(secret), msg_id, ts, body),
    }


async def answer(resp) -> tuple[int, dict]:
    return resp.status, await resp.json()


# --- Label Studio ------------------------------------------------------------------------------


async def test_label_studio_annotation_is_published_before_the_200(serve):
    client, published = await serve()
    body = fixture("label_studio_doc_annotation_created.json")
    status, reply = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    assert (status, reply) == (200, {"accepted": 1})
    [r] = published.results
    assert (r.prompt_id, r.label, r.score) == ("00000000000000000000000000000001", "good", 4.0)


async def test_label_studio_batch(serve):
    client, published = await serve()
    body = fixture("label_studio_doc_annotations_created.json")
    status, reply = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    assert (status, reply) == (200, {"accepted": 2})
    assert len(published.batches) == 1 and len(published.batches[0]) == 2


@pytest.mark.parametrize("name", ["label_studio_doc_annotations_deleted.json"])
async def test_label_studio_other_actions_are_200_with_nothing(serve, name):
    client, published = await serve()
    status, reply = await answer(
        await client.post(LS_URL, data=fixture(name), headers=ls_headers())
    )
    assert (status, reply) == (200, {"accepted": 0})
    assert published.batches == []


@pytest.mark.parametrize(
    "headers",
    [
        ls_headers("wrong"),
        {"Content-Type": "application/json"},
        {"X-Flywheel-Secret": ""},
        {"Authorization": f"Bearer {LS_SECRET}"},
    ],
)
async def test_label_studio_unverified_is_401(serve, headers):
    client, published = await serve()
    body = fixture("label_studio_doc_annotation_created.json")
    status, reply = await answer(await client.post(LS_URL, data=body, headers=headers))
    assert status == 401 and "X-Flywheel-Secret" in reply["error"]
    assert published.batches == []


async def test_label_studio_refused_when_no_secret_is_configured(serve):
    client, published = await serve(settings(webhook_secret=""))
    body = fixture("label_studio_doc_annotation_created.json")
    for headers in (ls_headers(""), ls_headers(LS_SECRET)):
        status, reply = await answer(await client.post(LS_URL, data=body, headers=headers))
        assert status == 401 and "not configured" in reply["error"]
    assert published.batches == []


async def test_verification_comes_before_parsing(serve):
    client, _ = await serve()
    resp = await client.post(LS_URL, data=b"{not json", headers=ls_headers("wrong"))
    assert resp.status == 401
    resp = await client.post(ARGILLA_URL, data=b"{not json")
    assert resp.status == 401


@pytest.mark.parametrize("body", [b"{not json", b"[]", b'"x"', b"", b'{"a": NaN}'])
async def test_label_studio_bad_json_is_400(serve, body):
    client, published = await serve()
    status, reply = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    assert status == 400 and "JSON" in reply["error"]
    assert published.batches == []


async def test_label_studio_without_prompt_id_is_422(serve):
    client, published = await serve()
    payload = json.loads(fixture("label_studio_doc_annotation_created.json"))
    del payload["task"]["data"]["prompt_id"]
    resp = await client.post(LS_URL, data=json.dumps(payload), headers=ls_headers())
    status, reply = await answer(resp)
    assert status == 422 and "prompt_id" in reply["error"]
    assert published.batches == []


async def test_too_large_is_413_with_content_length(serve):
    client, published = await serve(max_body_bytes=10_000)
    payload = json.loads(fixture("label_studio_doc_annotation_created.json"))
    payload["task"]["data"]["prompt"] = "x" * 20_000
    resp = await client.post(LS_URL, data=json.dumps(payload), headers=ls_headers())
    status, reply = await answer(resp)
    assert status == 413 and "10000" in reply["error"]
    assert published.batches == []


async def test_too_large_is_413_when_chunked(serve):
    client, published = await serve(max_body_bytes=10_000)

    async def chunks():  # no Content-Length: the cap must hold while reading
        yield b'{"action": "ANNOTATION_CREATED", "pad": "'
        for _ in range(20):
            yield b"x" * 1000
        yield b'"}'

    resp = await client.post(LS_URL, data=chunks(), headers=ls_headers())
    assert resp.status == 413
    assert published.batches == []


async def test_bodies_above_aiohttps_default_limit_but_under_ours_are_accepted(serve):
    client, published = await serve()  # aiohttp refuses > 1 MiB by default; our cap is 4 MiB
    payload = json.loads(fixture("label_studio_doc_annotation_created.json"))
    payload["project"]["description"] = "d" * 1_500_000
    resp = await client.post(LS_URL, data=json.dumps(payload), headers=ls_headers())
    assert await answer(resp) == (200, {"accepted": 1})


async def test_publish_failure_is_503_so_the_sender_retries(serve):
    client, published = await serve(publish=Recorder(fail=True))
    body = fixture("label_studio_doc_annotation_created.json")
    status, reply = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    assert status == 503 and "retry" in reply["error"]


async def test_only_post_is_routed(serve):
    client, _ = await serve()
    assert (await client.get(LS_URL)).status == 405
    assert (await client.get(ARGILLA_URL)).status == 405


@pytest.mark.parametrize(
    "name", ["label_studio_annotation_created.json", "label_studio_annotation_updated.json"]
)
async def test_real_label_studio_request_replayed(serve, name):
    """A request captured from Label Studio 1.23 (headers as it sent them, body), replayed."""
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} not captured yet")
    capture = json.loads(path.read_text())
    sent = capture["headers"]
    headers = {k: v for k, v in sent.items() if k.lower() not in {"host", "content-length"}}
    client, published = await serve(settings(webhook_secret=sent["X-Flywheel-Secret"]))
    resp = await client.post(capture["path"], data=json.dumps(capture["body"]), headers=headers)
    assert await answer(resp) == (200, {"accepted": 1})
    [r] = published.results
    assert r.prompt_id == capture["body"]["task"]["data"]["prompt_id"]
    assert r.meta["action"] == capture["body"]["action"]
    wrong = {**headers, "X-Flywheel-Secret": "not-" + sent["X-Flywheel-Secret"]}
    resp = await client.post(capture["path"], data=json.dumps(capture["body"]), headers=wrong)
    assert resp.status == 401


# --- Argilla -----------------------------------------------------------------------------------


async def test_argilla_signed_response_is_published(serve):
    client, published = await serve()
    body = fixture("argilla_response_created.json")
    status, reply = await answer(await client.post(ARGILLA_URL, data=body, headers=signed(body)))
    assert (status, reply) == (200, {"accepted": 1})
    [r] = published.results
    assert (r.label, r.meta["tool"], r.meta["response_id"]) == (
        "keep",
        "argilla",
        "38e4d537-c768-4ced-916e-31b74b220c36",
    )


async def test_argilla_discarded_response_is_published_as_discarded(serve):
    client, published = await serve()
    body = fixture("argilla_response_updated_discarded.json")
    status, reply = await answer(await client.post(ARGILLA_URL, data=body, headers=signed(body)))
    assert (status, reply) == (200, {"accepted": 1})
    assert published.results[0].label == "discarded"


@pytest.mark.parametrize("name", ["argilla_ping.json", "argilla_response_created_draft.json"])
async def test_argilla_ping_and_drafts_are_200_with_nothing(serve, name):
    client, published = await serve()
    body = fixture(name)
    status, reply = await answer(await client.post(ARGILLA_URL, data=body, headers=signed(body)))
    assert (status, reply) == (200, {"accepted": 0})
    assert published.batches == []


async def test_argilla_unverified_is_401(serve):
    client, published = await serve()
    body = fixture("argilla_response_created.json")
    other = "whsec_" + base64.b64encode(b"another-signing-key-of-32-bytes!").decode()
    cases = {
        "wrong secret": signed(body, secret=other),
        "tampered body": signed(body.replace(b'"keep"', b'"spam"')),
        "expired": signed(body, ts=int(time.time()) - 301),
        "from the future": signed(body, ts=int(time.time()) + 301),
        "unsigned": {"Content-Type": "application/json"},
        "label studio secret": ls_headers(),
    }
    for case, headers in cases.items():
        resp = await client.post(ARGILLA_URL, data=body, headers=headers)
        assert resp.status == 401, case
    assert published.batches == []


async def test_argilla_multiple_signatures_one_valid(serve):
    client, _ = await serve()
    body = fixture("argilla_response_created.json")
    headers = signed(body)
    old = "v1," + base64.b64encode(b"\0" * 32).decode()
    headers["webhook-signature"] = f"{old} {headers['webhook-signature']}"
    assert (await client.post(ARGILLA_URL, data=body, headers=headers)).status == 200


async def test_argilla_refused_when_no_secret_is_configured(serve):
    client, _ = await serve(settings(argilla_webhook_secret=""))
    body = fixture("argilla_response_created.json")
    status, reply = await answer(await client.post(ARGILLA_URL, data=body, headers=signed(body)))
    assert status == 401 and "not configured" in reply["error"]


async def test_argilla_signed_bad_json_is_400(serve):
    client, _ = await serve()
    body = b'{"type": "response.created", '
    assert (await client.post(ARGILLA_URL, data=body, headers=signed(body))).status == 400


async def test_argilla_without_prompt_id_is_422(serve):
    client, published = await serve()
    payload = json.loads(fixture("argilla_response_created.json"))
    payload["data"]["record"]["external_id"] = None
    body = json.dumps(payload).encode()
    status, reply = await answer(await client.post(ARGILLA_URL, data=body, headers=signed(body)))
    assert status == 422 and "external_id" in reply["error"]
    assert published.batches == []


async def test_argilla_too_large_is_413(serve):
    client, _ = await serve(max_body_bytes=2_000)
    body = fixture("argilla_response_created.json")
    assert len(body) > 2_000
    assert (await client.post(ARGILLA_URL, data=body, headers=signed(body))).status == 413


# --- logs --------------------------------------------------------------------------------------


async def test_bodies_never_reach_the_logs(serve, caplog):
    caplog.set_level(logging.DEBUG)
    client, _ = await serve()
    ls = fixture("label_studio_doc_annotation_created.json")
    bad = json.loads(ls)
    del bad["task"]["data"]["prompt_id"]
    argilla = fixture("argilla_response_created.json")
    await client.post(LS_URL, data=ls, headers=ls_headers())  # 200
    await client.post(LS_URL, data=json.dumps(bad), headers=ls_headers())  # 422
    await client.post(LS_URL, data=ls, headers=ls_headers("wrong"))  # 401
    await client.post(ARGILLA_URL, data=argilla, headers=signed(argilla))  # 200
    await client.post(ARGILLA_URL, data=argilla[:-20], headers=signed(argilla[:-20]))  # 400
    assert "accepted 1 ANNOTATION_CREATED" in caplog.text
    assert "refused: 422" in caplog.text and "refused: 401" in caplog.text
    assert PROMPT not in caplog.text and "sort a dict" not in caplog.text
    assert LS_SECRET not in caplog.text


# --- replays and media types (hardening) ----------------------------------------------------------


async def test_argilla_replay_with_the_same_webhook_id_is_not_republished(serve, stack):
    s = settings()
    client, published = await serve(s)
    body = fixture("argilla_response_created.json")
    headers = signed(body, msg_id="msg_replayed")
    first = await answer(await client.post(ARGILLA_URL, data=body, headers=headers))
    again = await answer(await client.post(ARGILLA_URL, data=body, headers=headers))
    assert first == (200, {"accepted": 1})
    assert again == (200, {"accepted": 0, "duplicate": True})
    assert len(published.results) == 1
    # another delivery of the same response (a new webhook-id) is published: consumers dedupe
    other = await client.post(ARGILLA_URL, data=body, headers=signed(body, msg_id="msg_other"))
    assert await answer(other) == (200, {"accepted": 1})
    # the key holds a hash of the delivery id: no id, no payload data; it lives for the window
    redis = aioredis.from_url(stack.redis_url)
    try:
        keys = sorted(k.decode() for k in await redis.keys(Keys(s.namespace).everything))
        delivery = Keys(s.namespace).webhook_delivery("argilla", "")
        assert len(keys) == 2 and all(k.startswith(delivery) for k in keys)
        assert not any("msg_" in k or "38e4d537" in k for k in keys)
        assert {await redis.get(k) for k in keys} == {b"1"}
        ttls = [await redis.ttl(k) for k in keys]
        assert all(0 < ttl <= TOLERANCE_S for ttl in ttls)
    finally:
        await redis.aclose()


async def test_a_delivery_that_failed_to_publish_is_taken_when_retried(serve):
    recorder = Recorder(fail=True)
    client, published = await serve(publish=recorder)
    body = fixture("argilla_response_created.json")
    headers = signed(body, msg_id="msg_retried")
    assert (await client.post(ARGILLA_URL, data=body, headers=headers)).status == 503
    recorder.fail = False
    assert await answer(await client.post(ARGILLA_URL, data=body, headers=headers)) == (
        200,
        {"accepted": 1},
    )
    assert len(published.results) == 1


async def test_label_studio_replay_of_the_same_annotation_version_is_not_republished(serve):
    client, published = await serve()
    body = fixture("label_studio_doc_annotation_created.json")
    first = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    again = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    assert (first, again) == ((200, {"accepted": 1}), (200, {"accepted": 0, "duplicate": True}))
    edited = json.loads(body)  # an edit of the annotation has a new updated_at: a new version
    edited["annotation"]["updated_at"] = "2030-01-01T00:00:00Z"
    resp = await client.post(LS_URL, data=json.dumps(edited), headers=ls_headers())
    assert await answer(resp) == (200, {"accepted": 1})
    assert len(published.results) == 2


async def test_delivery_log_down_still_publishes(serve):
    s = settings(redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    client, published = await serve(s)
    body = fixture("label_studio_doc_annotation_created.json")
    status, reply = await answer(await client.post(LS_URL, data=body, headers=ls_headers()))
    assert (status, reply) == (200, {"accepted": 1})
    assert len(published.results) == 1


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_a_valid_body_not_declared_json_is_415(serve, content_type):
    client, published = await serve()
    ls = fixture("label_studio_doc_annotation_created.json")
    argilla = fixture("argilla_response_created.json")
    ls_h, argilla_h = ls_headers(), signed(argilla)
    for headers in (ls_h, argilla_h):
        del headers["Content-Type"]
        if content_type:
            headers["Content-Type"] = content_type
    for url, body, headers in ((LS_URL, ls, ls_h), (ARGILLA_URL, argilla, argilla_h)):
        # skip_auto_headers: without it aiohttp labels bytes application/octet-stream
        resp = await client.post(
            url, data=body, headers=headers, skip_auto_headers=["Content-Type"]
        )
        status, reply = await answer(resp)
        assert status == 415 and "application/json" in reply["error"], url
    assert published.batches == []


async def test_json_with_a_charset_is_accepted(serve):
    client, published = await serve()
    body = fixture("label_studio_doc_annotation_created.json")
    headers = {**ls_headers(), "Content-Type": "application/json; charset=utf-8"}
    assert await answer(await client.post(LS_URL, data=body, headers=headers)) == (
        200,
        {"accepted": 1},
    )
