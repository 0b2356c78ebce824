import json
from collections import Counter

from services.dev.generator import ChatLogGenerator


def test_generator_is_deterministic_and_realistic():
    a = [raw for raw, _ in ChatLogGenerator(seed=3, bad_rate=0.02).events(2000)]
    b = [raw for raw, _ in ChatLogGenerator(seed=3, bad_rate=0.02).events(2000)]
    assert a == b
    kinds = Counter(
        meta["kind"] for _, meta in ChatLogGenerator(seed=3, bad_rate=0.02).events(2000)
    )
    for kind in ("repeat", "edit", "paraphrase", "pii", "junk", "flood", "unique", "malformed"):
        assert kinds[kind] > 0, kind
    events = [json.loads(r) for r in a if r.startswith(b"{") and b'"event_id": "ev-' in r]
    langs = Counter(
        "zh" if any("\u4e00" <= c <= "\u9fff" for c in e["prompt"]) else "en" for e in events
    )
    assert langs["zh"] > 50 and langs["en"] > 500
    prompts = Counter(e["prompt"] for e in events)
    assert prompts.most_common(1)[0][1] > 20  # Zipf-like popularity: exact repeats
    assert len({e["event_id"] for e in events}) == len(events)
