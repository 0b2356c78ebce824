"""Conversations through the ingest stage (contract 1.5), over fakes of its ports: the context a
turn is curated in, follow-ups, and every message cleaned."""

from __future__ import annotations

import asyncio
import json

import pytest

from services.contract.envelope import InMsg, Out
from services.contract.records import CurateItem, RejectionRecord
from services.pipeline.ingest import IngestStage
from services.settings import Settings
from tests.unit.pipeline.test_ingest_stage import FakeClaims, FakeEncoder

S = Settings(
    topic_dlq="dlq",
    topic_rejected="rej",
    topic_curate="cur",
    curate_partitions=2,
    history_turns=2,
    preamble_min_count=0,
)
SEARCH = [{"type": "function", "function": {"name": "web_search", "parameters": {}}}]
ENCYCLOPEDIA = [{"type": "function", "function": {"name": "encyclopedia", "parameters": {}}}]


def stage(s: Settings = S) -> IngestStage:
    st = IngestStage(s, FakeClaims(), FakeEncoder(), event_ids=FakeClaims())
    asyncio.run(st.setup())
    return st


def run(st: IngestStage, *events: dict) -> list[Out]:
    msgs = [
        InMsg(
            "chat.events",
            0,
            i,
            None,
            json.dumps({"event_id": f"e{i}", "lang": "en", **e}).encode(),
            1000,
        )
        for i, e in enumerate(events)
    ]
    return asyncio.run(st.process(msgs))


def items(outs: list[Out]) -> list[CurateItem]:
    return [CurateItem.model_validate_json(o.value) for o in outs if o.topic == "cur"]


def reasons(outs: list[Out]) -> list[str]:
    return [RejectionRecord.model_validate_json(o.value).reason for o in outs if o.topic == "rej"]


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str) -> dict:
    return {"role": "assistant", "content": text}


def test_a_follow_up_without_its_history_is_rejected_needs_context():
    outs = run(
        stage(), {"prompt": "Make it shorter."}, {"messages": [user("把上面的内容翻译成英文")]}
    )
    assert reasons(outs) == ["needs_context", "needs_context"]


def test_a_follow_up_with_its_history_is_curated_with_it_and_judged_after_it():
    st = stage()
    poem = [user("Write a poem about the sea."), assistant("The sea, the sea...")]
    essay = [user("Write an essay on tax policy."), assistant("Taxes are...")]
    outs = run(
        st,
        {"messages": [*poem, user("Make it shorter.")]},
        {"messages": [*essay, user("Make it shorter.")]},
    )
    a, b = items(outs)
    assert a.text == b.text == "Make it shorter."
    assert a.follows and b.follows
    assert a.prompt_id != b.prompt_id  # the same words after different requests
    assert [(m.role, m.content) for m in a.messages or []] == [
        ("user", "Write a poem about the sea."),
        ("assistant", "The sea, the sea..."),
        ("user", "Make it shorter."),
    ]


def test_the_same_question_under_two_tool_sets_is_two_examples():
    q = "What is the tallest building in the world?"
    outs = run(
        stage(),
        {"messages": [user(q)], "tools": SEARCH},
        {"messages": [user(q)], "tools": ENCYCLOPEDIA},
        {"messages": [user(q)], "tools": SEARCH},
    )
    a, b = items(outs)
    assert reasons(outs) == ["exact_duplicate"]  # the third: same question, same tools
    assert a.context_id and b.context_id and a.context_id != b.context_id
    assert a.space != b.space and a.space and a.space.startswith("en.")
    assert a.prompt_id != b.prompt_id and a.tools and "web_search" in a.tools


def test_an_operator_may_judge_duplicates_across_contexts():
    q = "What is the tallest building in the world?"
    st = stage(S.model_copy(update={"dedup_across_contexts": True}))
    outs = run(
        st, {"messages": [user(q)], "tools": SEARCH}, {"messages": [user(q)], "tools": ENCYCLOPEDIA}
    )
    (a,) = items(outs)
    assert reasons(outs) == ["exact_duplicate"] and a.space is None and a.context_id


def test_a_system_prompt_is_a_context_and_a_bare_prompt_is_none():
    q = "How do I reset my password?"
    sys_a = {"role": "system", "content": "You are the Lumio assistant."}
    sys_b = {"role": "system", "content": "You are the Acme bank assistant."}
    outs = run(
        stage(), {"prompt": q}, {"messages": [sys_a, user(q)]}, {"messages": [sys_b, user(q)]}
    )
    bare, a, b = items(outs)
    assert bare.context_id is None and bare.messages is None and bare.space is None
    assert len({bare.prompt_id, a.prompt_id, b.prompt_id}) == 3
    assert a.messages and a.messages[0].role == "system"


def test_every_message_is_redacted_and_the_history_is_bounded():
    secret = "jane.doe@example.com"
    convo = [
        {"role": "system", "content": f"The customer is {secret}."},
        user("My card is 4111 1111 1111 1111, what now?"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "function": {"name": "lookup", "arguments": f'{{"email": "{secret}"}}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": f"account of {secret}: active"},
        user("Why was my payment declined yesterday at the store?"),
        assistant(f"I emailed {secret} the details."),
    ]
    (item,) = items(run(stage(), {"messages": convo}))
    dumped = item.model_dump_json()
    assert secret not in dumped and "4111" not in dumped
    assert "{{EMAIL}}" in dumped and item.response == "I emailed {{EMAIL}} the details."
    assert {"EMAIL"} <= set(item.pii)
    roles = [m.role for m in item.messages or []]
    assert roles == ["system", "assistant", "tool", "user"]  # two earlier turns kept


def test_an_oversized_context_is_too_long_and_a_turnless_list_is_a_dead_letter():
    huge = {"role": "system", "content": "rules " * 200_000}
    outs = run(stage(), {"messages": [huge, user("What is a monad?")]}, {"messages": [huge]})
    assert reasons(outs) == ["too_long"]
    (dead,) = [o for o in outs if o.topic == "dlq"]
    assert b"no user message" in dict(dead.headers)["fw-error-detail"]


@pytest.mark.parametrize("n", [1, 3000])
def test_long_conversations_are_read_in_full_and_kept_short(n):
    turns = [m for i in range(n) for m in (user(f"question {i} about rivers"), assistant("ok"))]
    (item,) = items(run(stage(), {"messages": [*turns, user("Explain how rivers form deltas.")]}))
    assert item.text == "Explain how rivers form deltas."
    assert len(item.messages or []) == 3  # two turns of history and the turn
