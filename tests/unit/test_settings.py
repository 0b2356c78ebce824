import pytest
from pydantic import ValidationError

from services.settings import Settings


def test_environment_prefix(monkeypatch):
    monkeypatch.setenv("FLYWHEEL_NEAR_DUP_THRESHOLD", "0.8")
    monkeypatch.setenv("FLYWHEEL_TOPIC_EVENTS", "x.events")
    s = Settings()
    assert s.near_dup_threshold == 0.8 and s.topic_events == "x.events"


def test_secrets_are_masked():
    s = Settings(redis_url="redis://:hunter2@h:6379/0")
    assert "hunter2" not in repr(s) and "hunter2" not in str(s.model_dump())


def test_invalid_values_are_refused():
    with pytest.raises(ValidationError):
        Settings(near_dup_threshold=1.5)
    with pytest.raises(ValidationError):
        Settings(min_chars=50, max_chars=20)


def test_to_env_round_trips_through_the_environment(monkeypatch):
    s = Settings(lang_allow=["en", "fr"], redis_url="redis://:pw@h:1/0", near_dup_threshold=0.8)
    for key, value in s.to_env().items():
        monkeypatch.setenv(key, value)
    again = Settings()
    assert again.lang_allow == ["en", "fr"] and again.near_dup_threshold == 0.8
    assert again.redis_url.get_secret_value() == "redis://:pw@h:1/0"


def test_the_fetch_wait_reaches_every_consumer_faust_creates() -> None:
    import asyncio

    import aiokafka

    from streams.app import limit_fetch_wait

    async def made() -> int:
        consumer = aiokafka.AIOKafkaConsumer(
            bootstrap_servers="127.0.0.1:1", fetch_max_wait_ms=1500
        )
        return consumer._fetch_max_wait_ms  # noqa: SLF001 - what aiokafka will send

    limit_fetch_wait(42)
    limit_fetch_wait(42)  # once per process, idempotent
    assert asyncio.run(made()) == 42
    limit_fetch_wait(Settings().fetch_max_wait_ms)
    assert asyncio.run(made()) == Settings().fetch_max_wait_ms == 100


def test_every_setting_belongs_to_exactly_one_room() -> None:
    from services.settings import ROOMS

    names = [name for room in ROOMS for name in room.model_fields]
    assert len(names) == len(set(names))
    assert set(names) == set(Settings.model_fields)


def test_every_setting_says_what_it_means() -> None:
    missing = [name for name, field in Settings.model_fields.items() if not field.description]
    assert missing == []


def test_the_settings_reference_is_up_to_date() -> None:
    from services.settings.reference import DOC, render

    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/settings.md is stale: python -m services.settings.reference"
    )


def test_the_reference_lists_every_variable_once() -> None:
    from services.settings.reference import render

    rows = [line.split(" | ")[0] for line in render().splitlines() if line.startswith("| `FLY")]
    assert sorted(rows) == sorted(f"| `FLYWHEEL_{name.upper()}`" for name in Settings.model_fields)
