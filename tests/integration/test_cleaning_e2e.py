"""Personal data never reaches the output topics or Redis; flooding users are capped.
Real worker, broker, Redis and model, with the NER tier on (names without a cue)."""

import json

import pytest
import redis

from services.clean.text import user_hash
from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce
from tests.integration.harness import check_invariant
from tests.pii_corpus import labelled

pytestmark = pytest.mark.integration

TOPICS = [
    "Python decorators",
    "the French revolution",
    "sourdough starters",
    "black holes",
    "tax brackets",
    "git rebase",
    "marathon training",
    "jazz chords",
    "CSS grid",
    "tides",
    "photosynthesis",
    "the Roman empire",
    "SQL joins",
    "knitting",
    "volcanoes",
    "chess openings",
    "climate models",
    "bonsai",
    "Kubernetes pods",
    "opera",
    "beekeeping",
    "origami",
    "the stock market",
    "glaciers",
    "Rust lifetimes",
]


def test_no_personal_data_leaves_the_worker_and_floods_are_capped(fresh, tmp_path):
    s = fresh(partitions=2, rate_capacity=5, rate_refill_per_s=0.01, flood_max=3, pii_ner=True)
    corpus = [(t, v) for t, _, v, valid in labelled(25, seed=3) if valid]
    # names without a cue word: only the NER tier finds them
    corpus += [
        ("Remind me to phone Grace Okonkwo about the lease on Monday.", "Grace Okonkwo"),
        (
            "Can you draft a thank-you note to Henrik Sørensen? He covered my shift.",
            "Henrik Sørensen",
        ),
    ]
    events = [
        {"event_id": f"pii-{i}", "prompt": text, "user_id": f"person-{i}@corp.example"}
        for i, (text, _) in enumerate(corpus)
    ]
    # one user floods with distinct prompts (rate limit) ...
    events += [
        {
            "event_id": f"rate-{i}",
            "prompt": f"Write a detailed essay about {topic}.",
            "user_id": "rate-user",
        }
        for i, topic in enumerate(TOPICS)
    ]
    # ... another with the same request again and again (near-identical flood)
    events += [
        {
            "event_id": f"flood-{i}",
            "prompt": f"Give me {i + 2} slogans for my bakery!",
            "user_id": "flood-user",
        }
        for i in range(20)
    ]
    raw = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw)
        out = wait_outputs(s, len(raw), worker, timeout_s=300)
        log_text = worker.log_tail(10**7)
    check_invariant(s, out)

    published = json.dumps(out.accepted + out.rejected, ensure_ascii=False)
    stored = redis.Redis.from_url(s.redis_url.get_secret_value())
    keys = " ".join(k.decode() for k in stored.scan_iter(f"{s.namespace}:*", count=1000))
    for _, value in corpus:
        assert value not in published, value
        assert value not in keys and value not in log_text, value
    assert "corp.example" not in published + keys + log_text  # raw user ids stay inside

    redacted = [r for r in out.accepted if r["event_id"].startswith("pii-")]
    assert redacted and all(r["pii"] and "{{" in r["text"] for r in redacted)
    ner_ids = {f"pii-{len(corpus) - 2}", f"pii-{len(corpus) - 1}"}
    by_ner = [r for r in out.accepted if r["event_id"] in ner_ids]
    assert len(by_ner) == 2 and all("{{PERSON}}" in r["text"] for r in by_ner), by_ner

    key = s.user_hash_key.get_secret_value().encode()
    by_user = lambda u: [r for r in out.accepted if r["user"] == user_hash(u, key)]  # noqa: E731
    assert 0 < len(by_user("rate-user")) <= s.rate_capacity
    assert 0 < len(by_user("flood-user")) <= s.flood_max
    reasons = out.reasons()
    assert reasons["rate_limited"] >= len(TOPICS) - s.rate_capacity - 1
    assert reasons["user_flood"] > 0
