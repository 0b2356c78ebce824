"""clients/gaps.py without a broker: which gap records it reads, what it requests, what the
template generator writes, and that the events it would publish are valid ChatEvents."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from kafka.errors import KafkaConfigurationError, KafkaConnectionError, KafkaTimeoutError

from clients import gaps as client
from services.contract.records import ChatEvent, GapRecord, now_utc


def record(**changes) -> dict:
    rec = GapRecord(
        gap_id="topics-v1-84e5299e:15:3",
        cluster=15,
        topics_version="topics-v1-84e5299e",
        words=["animals", "cows", "goats"],
        examples=["a" * 32],
        target_share=0.25,
        share=0.05,
        deficit=12,
        real=3,
        synthetic=0,
        synthetic_room=4,
        window_total=60,
        ts=now_utc(),
    )
    return {**json.loads(rec.model_dump_json()), **changes}


def raw(**changes) -> bytes:
    return json.dumps(record(**changes)).encode()


def test_reads_the_contract_record():
    gap = client.parse_gap(raw())
    assert (gap["cluster"], gap["deficit"], gap["synthetic_room"]) == (15, 12, 4)
    assert client.gap_round(gap) == 3
    assert client.parse_gap(raw(added_in_1_5="ignored"))["cluster"] == 15  # minor additions


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (b"{not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (None, "not a JSON object"),
        (raw(schema_version="2.0"), "schema_version '2.0'"),
        (raw(schema_version=None), "schema_version None"),
        (raw(deficit="12"), "'deficit'"),
        (raw(cluster=True), "'cluster'"),
        (raw(words=[1, 2]), "'words'"),
    ],
)
def test_skips_what_it_cannot_read(value, says):
    with pytest.raises(client.SkipGap, match=says):
        client.parse_gap(value)


def test_a_request_never_asks_more_than_the_room():
    gap = client.parse_gap(raw())
    req = client.request_of(gap)
    assert (
        req["n"] == 4 and "animals, cows, goats" in req["prompt"] and "4 distinct" in req["prompt"]
    )
    assert client.request_of(gap, max_per_gap=2)["n"] == 2
    assert client.request_of(client.parse_gap(raw(synthetic_room=0)))["n"] == 0
    assert client.request_of(client.parse_gap(raw(deficit=1)))["n"] == 1


def test_selector_skips_handled_gaps_older_rounds_and_keeps_the_top():
    sel = client.Selector(top=2, max_age_s=600)
    first = [
        client.parse_gap(raw(gap_id=f"v:{c}:1", cluster=c, topics_version="v")) for c in (4, 5, 6)
    ]
    assert [g["cluster"] for g in sel.select(first)] == [4, 5]  # the two largest of round 1
    assert sel.select(first) == []  # handled already
    # rounds 2 and 3 read together: only round 3 is acted on
    later = [
        client.parse_gap(raw(gap_id=f"v:4:{r}", cluster=4, topics_version="v")) for r in (2, 3)
    ]
    assert [g["gap_id"] for g in sel.select(later)] == ["v:4:3"]
    assert sel.select([client.parse_gap(raw(gap_id="v:4:2", cluster=4, topics_version="v"))]) == []
    old = (datetime.now(tz=UTC) - timedelta(hours=1)).isoformat()
    assert sel.select([client.parse_gap(raw(gap_id="v:9:4", cluster=9, ts=old))]) == []


def test_template_prompts_are_deterministic_distinct_and_name_the_words():
    req = client.request_of(client.parse_gap(raw(synthetic_room=12)))
    prompts = client.TemplateGenerator(seed=3)(req)
    assert len(prompts) == 12 and len(set(prompts)) == 12
    assert prompts == client.TemplateGenerator(seed=3)(req)
    assert prompts != client.TemplateGenerator(seed=4)(req)
    assert all(any(w in p for w in ("animals", "cows", "goats")) for p in prompts)
    # consecutive prompts of one request use different frames
    frames = [p.split(" ", 3)[1:3] for p in prompts[:10]]
    assert len({tuple(f) for f in frames}) > 5
    instr = client.request_of(client.parse_gap(raw(words=["story", "movie", "character"])))
    assert all("?" not in p or "asks" in p for p in client.TemplateGenerator()(instr))
    few = client.request_of(client.parse_gap(raw(words=[])))
    assert len(client.TemplateGenerator()(few)) == 4


def test_command_generator_pipes_one_request_per_run():
    script = (
        "import json, sys; r = json.loads(sys.stdin.readline()); "
        "[print(f'prompt {i} about ' + r['words'][0]) for i in range(r['n'] + 3)]; print()"
    )
    gen = client.CommandGenerator(f"{sys.executable} -c {json.dumps(script)}")
    req = client.request_of(client.parse_gap(raw()))
    assert gen(req) == [f"prompt {i} about animals" for i in range(4)]
    with pytest.raises(RuntimeError, match="exited 3"):
        client.CommandGenerator(f"{sys.executable} -c 'raise SystemExit(3)'")(req)


def test_events_are_synthetic_chat_events_with_stable_ids():
    req = client.request_of(client.parse_gap(raw()))
    events = client.synthetic_events(req, ["How many cows are in the barn?", "Goats: count"])
    parsed = [ChatEvent.model_validate_json(e) for e in events]
    assert [e.source for e in parsed] == ["synthetic", "synthetic"]
    assert parsed[0].event_id == "gap-topics-v1-84e5299e:15:3-0"
    assert parsed[0].meta == {
        "gap_id": req["gap_id"],
        "cluster": 15,
        "topics_version": req["topics_version"],
    }
    again = client.synthetic_events(req, ["How many cows are in the barn?"])
    assert ChatEvent.model_validate_json(again[0]).event_id == parsed[0].event_id


def test_retrying_backs_off_until_the_broker_answers(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(client.time, "sleep", slept.append)
    calls = iter([KafkaTimeoutError(), KafkaConnectionError(), ConnectionRefusedError(), "ok"])

    def connect():
        got = next(calls)
        if isinstance(got, Exception):
            raise got
        return got

    assert client.retrying("connecting", connect) == "ok"
    assert slept == [0.5, 1.0, 2.0]
    assert client.backoff(20) == 30.0

    def misconfigured():
        raise KafkaConfigurationError("Unrecognized configs")

    with pytest.raises(KafkaConfigurationError):
        client.retrying("connecting", misconfigured)  # a mistake is not retried
