"""Replay protection and media types of the webhook receivers, without HTTP or Redis: the delivery
id of each tool, the delivery log's key (a hash, never the id or payload data) and TTL, and the
Content-Type rule."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from services.downstream.webhooks import (
    TOLERANCE_S,
    RedisDeliveryLog,
    WebhookRejected,
    label_studio_delivery_id,
    parse_label_studio,
    require_json,
    sign_standard_webhook,
    standard_webhook_key,
    verify_standard_webhook,
)

DATA = Path(__file__).resolve().parents[2] / "data"


class FakeRedis:
    """SET NX EX and DEL over a dict, recording the TTLs asked for."""

    def __init__(self) -> None:
        self.values: dict[str, bytes] = {}
        self.ttls: dict[str, int] = {}

    async def set(self, name: str, value: bytes, *, ex: int, nx: bool) -> bool | None:
        if nx and name in self.values:
            return None
        self.values[name], self.ttls[name] = value, ex
        return True

    async def delete(self, *names: str) -> int:
        return sum(self.values.pop(n, None) is not None for n in names)


async def test_a_delivery_is_claimed_once_until_released():
    redis = FakeRedis()
    log = RedisDeliveryLog(redis, "fw")
    assert await log.claim("argilla", "msg_1") is True
    assert await log.claim("argilla", "msg_1") is False
    assert await log.claim("label-studio", "msg_1") is True  # sources do not collide
    await log.release("argilla", "msg_1")
    assert await log.claim("argilla", "msg_1") is True


async def test_the_key_is_a_hash_of_the_id_and_lives_for_the_tolerance_window():
    redis = FakeRedis()
    await RedisDeliveryLog(redis, "fw").claim("argilla", "msg_ada.lovelace@example.com")
    [(key, value)] = redis.values.items()
    assert key.startswith("fw:webhook:argilla:") and len(key.rsplit(":", 1)[1]) == 32
    assert "ada" not in key and "msg_" not in key and value == b"1"
    assert redis.ttls[key] == TOLERANCE_S


def test_the_standard_webhook_id_is_returned_once_verified():
    key, body, now = standard_webhook_key("whsec_" + "A" * 43), b'{"type": "ping"}', 1_700_000_000
    headers = {
        "webhook-id": "msg_abc",
        "webhook-timestamp": str(now),
        "webhook-signature": sign_standard_webhook(key, "msg_abc", now, body),
    }
    assert verify_standard_webhook(headers, body, "whsec_" + "A" * 43, now=now) == "msg_abc"


def test_label_studio_delivery_id_is_the_annotation_versions():
    payload = json.loads((DATA / "label_studio_doc_annotations_created.json").read_text())
    results = parse_label_studio(payload)
    assert len(results) == 2
    same = label_studio_delivery_id(list(reversed(results)))
    assert same is not None and label_studio_delivery_id(results) == same  # order: no matter
    one = json.loads((DATA / "label_studio_doc_annotation_created.json").read_text())
    [created] = parse_label_studio(one)
    one["annotation"]["updated_at"] = "2030-01-01T00:00:00Z"
    [edited] = parse_label_studio(one)
    assert label_studio_delivery_id([created]) != label_studio_delivery_id([edited])
    del one["annotation"]["id"]
    assert label_studio_delivery_id(parse_label_studio(one)) is None  # nothing stable: no check


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "Application/JSON; charset=utf-8", "application/cloudevents+json"],
)
def test_json_media_types_are_accepted(content_type):
    require_json(content_type)


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "",
        "text/plain",
        "text/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ],
)
def test_other_media_types_are_415(content_type):
    with pytest.raises(WebhookRejected) as info:
        require_json(content_type)
    assert info.value.status == 415
