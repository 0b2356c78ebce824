"""The ops API's OpenAPI document is valid 3.0.3 and documents what the handlers answer."""

import pytest
from aiohttp import web
from openapi_spec_validator import validate

from streams.openapi.ops import OPENAPI
from streams.ops_http import recent_count


def test_the_document_validates():
    validate(OPENAPI)  # raises on 3.1-only syntax such as a numeric exclusiveMinimum


def test_recent_documents_n_and_blocklist_documents_201():
    (n,) = OPENAPI["paths"]["/api/recent"]["get"]["parameters"]
    assert n["name"] == "n" and n["schema"]["type"] == "integer" and n["schema"]["maximum"] == 50
    assert OPENAPI["paths"]["/api/recent"]["get"]["security"] == [{"read": []}]
    post = OPENAPI["paths"]["/api/blocklist"]["post"]
    assert "201" in post["responses"] and "200" not in post["responses"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["prompt_id"]["pattern"] == "^[0-9a-f]{32}$"


def test_webhook_request_schemas_are_not_empty():
    for path, required in (("/webhooks/label-studio", "action"), ("/webhooks/argilla", "type")):
        schema = OPENAPI["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert schema["schema"]["required"] == [required] and schema["schema"]["properties"]


@pytest.mark.parametrize("raw", ["abc", "1e3", "\x00", "0", "51", "-1", "1.5", "", "٣", "0020"])
def test_recent_count_refuses_what_is_not_1_to_50(raw):
    with pytest.raises(web.HTTPBadRequest):
        recent_count(raw)


def test_recent_count_accepts_1_to_50_and_defaults_to_20():
    assert [recent_count(x) for x in (None, "1", "7", "50", "050")] == [20, 1, 7, 50, 50]
