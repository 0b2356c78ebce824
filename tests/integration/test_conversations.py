"""Conversations through the real worker (contract 1.5): follow-ups need their history, the same
question under two contexts is two examples, and every message is cleaned before it goes on."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis

from services.dev.workers import WorkerProcess, wait_outputs
from streams.replay import produce
from tests.integration.harness import check_invariant

pytestmark = pytest.mark.integration
GATEWAY_LOG = Path(__file__).resolve().parents[1] / "data" / "gateway" / "openai_log.jsonl"

EMAIL = "maria.lopez@example.org"
CARD = "4111 1111 1111 1111"
FIRST = [
    "Write a short poem about autumn leaves falling in a quiet park.",
    "Draft an email to my landlord asking to fix the broken heating.",
    "Explain how a hash map handles collisions, with an example in Java.",
    "Summarize the causes of the French Revolution in five bullet points.",
]
OTHERS = [
    "Write a cover letter for a junior data analyst position at a hospital.",
    "Describe the water cycle for a ten-year-old.",
    "Give me a weekly meal plan for a vegetarian runner.",
    "Write a product description for a solar-powered camping lantern.",
]
FOLLOW_UPS = [
    "Make it shorter.",
    "Now translate that into French.",
    "Can you rewrite your previous answer in a more formal tone?",
    "把上面的内容翻译成英文",
]
TOOLS = {
    name: [{"type": "function", "function": {"name": name, "description": f"the {name} tool"}}]
    for name in ("web_search", "encyclopedia")
}
SYSTEMS = {
    "bank": "You are the assistant of Northwind Bank. Never give investment advice.",
    "travel": "You are a travel agent for Contoso Trips. Suggest trains before flights.",
}
SHARED = "What documents do I need to open an account as a foreign student?"


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def stored_bytes(s) -> bytes:
    """Every key and value of the namespace, as bytes."""
    r = redis.Redis.from_url(s.redis_url.get_secret_value())
    out = []
    for key in r.scan_iter(f"{s.namespace}:*", count=1000):
        out.append(key)
        kind = r.type(key).decode()
        if kind == "string":
            out.append(r.get(key) or b"")
        elif kind == "list":
            out += r.lrange(key, 0, -1)
        elif kind == "hash":
            out += [b for kv in r.hgetall(key).items() for b in kv]
        elif kind == "set":
            out += list(r.smembers(key))
        elif kind == "zset":
            out += [m for m, _ in r.zrange(key, 0, -1, withscores=True)]
    return b"\n".join(out)


def test_conversations_through_the_worker(fresh, tmp_path):
    s = fresh(partitions=2)
    events = []
    for i, text in enumerate(FOLLOW_UPS):  # follow-ups alone: nothing to act on
        events.append({"event_id": f"alone-{i}", "prompt": text})
    for i, (first, text) in enumerate(zip(FIRST, FOLLOW_UPS, strict=True)):  # ... and with history
        convo = [user(first), assistant("Here you go: ..."), user(text)]
        events.append({"event_id": f"conv-{i}", "messages": convo})
    for i, first in enumerate(OTHERS):  # the same follow-up after four different requests
        convo = [user(first), assistant("Done."), user("Make it a bit shorter.")]
        events.append({"event_id": f"shorter-{i}", "messages": convo})
    for name, tools in TOOLS.items():  # one question, two tool sets; then again, same tools
        events.append({"event_id": f"tool-{name}", "messages": [user(SHARED)], "tools": tools})
    events.append(
        {"event_id": "tool-again", "messages": [user(SHARED)], "tools": TOOLS["web_search"]}
    )
    for name, system in SYSTEMS.items():  # one question, two assistants
        convo = [{"role": "system", "content": system}, user(SHARED)]
        events.append({"event_id": f"sys-{name}", "messages": convo})
    events.append(  # personal data in every part of the conversation
        {
            "event_id": "pii",
            "user_id": EMAIL,
            "messages": [
                {"role": "system", "content": f"The signed-in customer is {EMAIL}."},
                user(f"My card {CARD} was charged twice for one order."),
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "c1",
                            "function": {"name": "refund", "arguments": json.dumps({"to": EMAIL})},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c1", "content": f"refund queued for {EMAIL}"},
                user("How long does a refund to a credit card usually take to arrive?"),
            ],
            "response": f"Usually 5 to 10 days; we emailed {EMAIL}.",
        }
    )
    events += [  # bad shapes: a reason each, nothing lost
        {"event_id": "bad-no-user", "messages": [{"role": "system", "content": "Be nice."}]},
        {"event_id": "bad-tool", "messages": [user("x y z"), {"role": "tool", "content": "1"}]},
        {"event_id": "bad-part", "messages": [{"role": "user", "content": [{"type": "x"}]}]},
    ]
    raw = [json.dumps(e, ensure_ascii=False).encode() for e in events]
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        produce(s, raw)
        out = wait_outputs(s, len(raw), worker, timeout_s=300)
        log_text = worker.log_tail(10**7)
    check_invariant(s, out)

    reason = {r["event_id"]: r["reason"] for r in out.rejected}
    accepted = {r["event_id"]: r for r in out.accepted}
    assert all(reason.get(f"alone-{i}") == "needs_context" for i in range(len(FOLLOW_UPS)))
    for i, text in enumerate(FOLLOW_UPS):
        assert f"conv-{i}" in accepted, (reason.get(f"conv-{i}"), out.dlq)
        rec = accepted[f"conv-{i}"]
        assert rec["text"] == text and rec["follows"]
        assert [m["role"] for m in rec["messages"]] == ["user", "assistant", "user"]
        assert rec["messages"][0]["content"] == FIRST[i]
    shorter = [accepted.get(f"shorter-{i}") for i in range(len(OTHERS))]
    assert all(shorter), reason  # the same follow-up after four requests: four examples
    assert {"tool-encyclopedia", "sys-bank", "sys-travel"} <= set(accepted)
    # the same question to the same tools twice: one of the two (partitions decide which)
    search = [accepted.get(e) for e in ("tool-web_search", "tool-again")]
    (first,) = [r for r in search if r is not None]
    assert "exact_duplicate" in (reason.get("tool-web_search"), reason.get("tool-again"))
    assert first["tools"][0]["function"]["name"] == "web_search"
    assert first["context_id"] != accepted["tool-encyclopedia"]["context_id"]
    assert None not in (first["context_id"], accepted["sys-bank"]["context_id"])

    pii = accepted["pii"]
    assert "{{EMAIL}}" in pii["messages"][0]["content"] and "{{EMAIL}}" in pii["response"]
    assert {"EMAIL", "CREDIT_CARD"} <= set(pii["pii"])
    codes = {d["fw-error"] for d in out.dlq}
    assert codes == {"invalid_event"} and len(out.dlq) == 3

    published = json.dumps(out.accepted + out.rejected + out.dlq, ensure_ascii=False)
    stored = stored_bytes(s)
    for secret in (EMAIL, CARD):
        assert secret not in published and secret not in log_text
        assert secret.encode() not in stored


def test_an_llm_gateway_log_replayed_into_the_worker(fresh, tmp_path):
    """``flywheel replay --format openai``: request/response lines become chat events whose
    conversations the worker curates; lines it cannot convert are counted, not sent."""
    s = fresh(partitions=1)
    env = {**os.environ, **s.to_env()}
    cmd = [sys.executable, "-m", "streams.cli", "replay", "--format", "openai", "--quiet"]
    done = subprocess.run(
        [*cmd, str(GATEWAY_LOG)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (
        summary["produced"] > 0
        and summary["produced"] + summary["not_converted"] <= summary["lines"]
    )
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        out = wait_outputs(s, summary["produced"], worker, timeout_s=240)
    check_invariant(s, out)
    assert out.total == summary["produced"]
    egg = [r for r in out.accepted if "boil an egg" in r["text"]]
    assert egg and egg[0]["response"] == "About 6 minutes from boiling."
    assert egg[0]["messages"][0] == {
        "role": "system",
        "content": "You are a concise cooking assistant.",
    }
