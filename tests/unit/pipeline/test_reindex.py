"""Reindex: reading annotation records, routing a batch as ingest and curate would, the
summary line, and the target settings the command derives."""

from __future__ import annotations

import json

import numpy as np
import pytest

from services.contract.envelope import ORIGIN_HEADER, SRC_HEADER
from services.dedup.minhash import MinHasher
from services.embed.clusters import TopicModel
from services.embed.readable import Reader
from services.pipeline.accepted_records import UNKNOWN_OWNER, Accepted, parse_record
from services.pipeline.reindex import Summary, plan_batch
from services.pipeline.routing import Router
from services.settings import BACKEND_DEFAULTS, Settings
from services.state.accepted import decode_accepted
from streams.cli.models import reindex_target

PID = "0123456789abcdef0123456789abcdef"


def record(
    pid: str = PID, text: str = "How do I merge two git branches?", lang: str = "en", **more
):
    return json.dumps(
        {
            "prompt_id": pid,
            "event_id": "ev-1",
            "text": text,
            "lang": lang,
            "source": "real",
            "user": None,
            "scores": {"novelty": 1.0, "quality": 0.5, "difficulty": 0.5},
            "nearest": None,
            "cluster": 3,
            "accepted_at": "2026-12-01T00:00:00Z",
            **more,
        }
    ).encode()


def test_a_record_is_read_with_the_input_coordinate_it_was_accepted_from():
    headers = [(SRC_HEADER, b"flywheel.curate/1/7"), (ORIGIN_HEADER, b"chat.events/0/42")]
    q = "How do I merge two git branches?"
    assert parse_record(record(), headers) == Accepted(PID, q, "en", "chat.events/0/42", key=q)
    assert parse_record(record(), [(SRC_HEADER, b"x/0/1")]).owner == "x/0/1"
    assert parse_record(record(), None).owner == UNKNOWN_OWNER


def test_a_follow_up_is_reindexed_after_the_request_it_follows_in_its_context():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Write a poem about the sea."},
        {"role": "assistant", "content": "The sea..."},
        {"role": "user", "content": "Make it shorter."},
    ]
    rec = record(text="Make it shorter.", messages=messages, follows=True, context_id="c" * 16)
    got = parse_record(rec, None)
    assert got.key == "Write a poem about the sea.\nMake it shorter."
    assert got.context_id == "c" * 16


@pytest.mark.parametrize("value", [None, b"", b"{not json", b'{"prompt_id": "x"}'])
def test_what_is_not_an_annotation_record_is_refused(value):
    with pytest.raises(ValueError, match="not an annotation record"):
        parse_record(value, [])


class FakeEncoder:
    """Axis-aligned unit vectors; texts starting with '?' are unreadable (all [UNK])."""

    dim = 4
    fingerprint = "m@1/static-ab"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen += list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, len(t) % self.dim] = 1.0
        return out

    def unknown_token_ratio(self, texts):
        return [1.0 if t.startswith("?") else 0.0 for t in texts]


def topics() -> TopicModel:
    eye = np.eye(4, dtype=np.float32)
    return TopicModel("t", eye, ("a", "b", "c", "d"), np.ones(4), "m@1/static-ab")


def test_a_batch_is_routed_by_shard_and_unreadable_texts_take_the_lexical_path():
    recs = [
        Accepted("a" * 32, "abcd", "en", "ev/0/1"),  # len 4 -> axis 0 -> cluster 0
        Accepted("b" * 32, "abcde", "en", "ev/0/2"),  # axis 1 -> cluster 1
        Accepted("c" * 32, "?????", "zh", "ev/0/3"),
    ]
    shard_of = np.array([1, 0, 0, 1])
    enc = FakeEncoder()
    # the model reads the stripped texts; the lexical signature is of the whole text
    reader, router = Reader(enc, 0.3), Router(topics(), shard_of, 2)
    plan = plan_batch(
        recs, ["abcd", "abcde", "?????"], [r.lang for r in recs], reader, router, MinHasher()
    )
    assert enc.seen == ["abcd", "abcde"]
    assert {n: [e[0] for e in es] for n, es in plan.vectors.items()} == {
        "en:1": ["a" * 32],
        "en:0": ["b" * 32],
    }
    assert plan.vectors["en:1"][0][2] == "ev/0/1"
    assert list(plan.signatures) == ["zh:lex"]
    sig = plan.signatures["zh:lex"][0][1]
    assert np.array_equal(sig, MinHasher().signatures(["?????"])[0])
    cluster, vec, _ = decode_accepted(plan.accepted["a" * 32])
    assert cluster == 0 and vec is not None and np.allclose(vec, [1, 0, 0, 0])
    assert decode_accepted(plan.accepted["c" * 32])[:2] == (None, None)
    assert plan.claims == [(r.prompt_id, r.owner) for r in recs]
    assert len(plan) == 3 and set(plan.embedded) == {"a" * 32, "b" * 32}


def test_the_summary_is_one_json_line():
    s = Summary(read=10, total=10, vectors=7, lexical=2, repeated=1, seconds=1.234)
    line = s.line("fw2", "m@1/static-ab")
    assert "\n" not in line
    got = json.loads(line)
    assert got["written"] == 9 and got["seconds"] == 1.2 and got["namespace"] == "fw2"
    assert "10/10 records read, 9 written" in s.progress()


def test_the_target_takes_the_new_backend_defaults_unless_they_were_chosen():
    spelt_out = Settings(namespace="fw", topics_path="", near_dup_threshold=0.85)
    target = reindex_target(spelt_out, "fw2", "static", None)
    assert target.namespace == "fw2" and target.embedding_backend == "static"
    assert target.topics_path == BACKEND_DEFAULTS["static"]["topics_path"]
    assert target.near_dup_threshold == BACKEND_DEFAULTS["static"]["near_dup_threshold"]
    chosen = Settings(namespace="fw", topics_path="/x.npz", near_dup_threshold=0.8)
    target = reindex_target(chosen, "fw2", "static", "/models/other")
    assert (target.topics_path, target.near_dup_threshold) == ("/x.npz", 0.8)
    assert target.embedding_model == "/models/other"
    same = reindex_target(Settings(namespace="fw", curate_partitions=8), "fw2", None, None)
    assert same.embedding_backend == "openvino" and same.curate_partitions == 8
