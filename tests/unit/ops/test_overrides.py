"""Operator overrides are validated by the Settings field definitions, on write and on read."""

import math

import pytest

from services.ops.overrides import OverrideRefused, dump_override, parse_override, validate_override
from services.settings import Settings


@pytest.mark.parametrize(
    "value", [True, False, 1e-300, 0.0, 0.49, 1.5, "0.9", None, math.nan, [0.9]]
)
def test_bad_threshold_writes_are_refused(value):
    with pytest.raises(OverrideRefused, match="near_dup_threshold"):
        validate_override("near_dup_threshold", value)


def test_good_writes_pass_and_round_trip_through_the_stored_text():
    for value in (0.5, 0.9, 1, 1.0):
        ok = validate_override("near_dup_threshold", value)
        assert ok == float(value) and isinstance(ok, float)
        assert parse_override("near_dup_threshold", dump_override(ok)) == ok
        assert parse_override("near_dup_threshold", dump_override(ok).encode()) == ok


def test_the_range_is_the_settings_range():
    with pytest.raises(ValueError):
        Settings(near_dup_threshold=1e-300)
    assert Settings(near_dup_threshold=0.5).near_dup_threshold == 0.5


@pytest.mark.parametrize("raw", [None, b"true", b"1e-300", b'"0.9"', b"abc", b"", b"2", b"NaN"])
def test_invalid_stored_overrides_read_as_absent(raw):
    assert parse_override("near_dup_threshold", raw) is None


def test_only_writable_settings_can_be_overridden():
    with pytest.raises(OverrideRefused, match="cannot be overridden"):
        validate_override("redis_url", "redis://elsewhere")
    assert parse_override("redis_url", b'"redis://elsewhere"') is None
