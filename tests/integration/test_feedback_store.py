"""The feedback store against a real redis-server: results for prompts this deployment never
curated are counted apart and steer nothing; the vote script keeps every agreement counter equal
to a recount from the per-prompt votes, asks for bounded extra rounds and counts the bias."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest

from services.contract.envelope import InMsg
from services.contract.records import AnnotationResult, ReviewRequest
from services.diversity import agreement
from services.diversity.current import CurrentTopics
from services.diversity.feedback import FeedbackPolicy
from services.diversity.topics import RedisTopics
from services.embed.clusters import TopicModel
from services.keys import Keys
from services.ops.metrics import REGISTRY
from services.pipeline.feedback import FeedbackStage
from services.settings import Settings
from services.state.accepted import encode_accepted
from services.state.feedback_store import FeedbackStore
from services.state.vector_log import RedisVectorLog

pytestmark = pytest.mark.integration


def result(pid: str, label: str, annotator: str = "ann-1") -> AnnotationResult:
    return AnnotationResult(
        prompt_id=pid, label=label, annotator=annotator, ts=datetime.now(tz=UTC)
    )


async def test_votes_on_unknown_prompts_are_not_counted(redis, namespace):
    ns = namespace
    keys = Keys(ns)
    store = await _store(redis, ns)
    known = "a" * 32
    vec = np.ones(4, dtype=np.float32) / 2
    await redis.set(keys.accepted(known), encode_accepted(3, vec))

    out = await store.apply([result("f" * 32, "reject"), result("e" * 32, "spam")])
    assert out.unknown_prompt == 2 and out.counted == 0 and out.blocked == 0
    assert await redis.hgetall(keys.vote_counts) == {}  # no vote, not even globally
    assert await redis.llen(keys.vector_log("blocklist")) == 0

    out = await store.apply([result(known, "accept")])
    assert out.counted == 1 and out.unknown_prompt == 0
    counts = {k.decode(): int(v) for k, v in (await redis.hgetall(keys.vote_counts)).items()}
    assert counts == {"3:pos": 1, "all:pos": 1}


def _decode(raw: dict) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in raw.items()}


BASE = TopicModel("v1-test", np.eye(4, dtype=np.float32), tuple("abcd"), np.full(4, 0.25), "fp")


async def _store(redis, ns: str, **policy) -> FeedbackStore:
    topics = CurrentTopics(BASE, RedisTopics(redis, ns, 3600, 60))
    p = replace(FeedbackPolicy.from_settings(Settings()), **policy)
    return FeedbackStore(redis, ns, RedisVectorLog(redis, ns, 4), p, topics)


async def _accept(redis, ns: str, pid: str, cluster: int, synthetic: bool = False) -> None:
    vec = np.zeros(4, dtype=np.float32)
    vec[cluster % 4] = 1.0
    await redis.set(Keys(ns).accepted(pid), encode_accepted(cluster, vec, synthetic))


async def test_random_votes_match_a_recount_from_the_prompts(redis, namespace):
    """Moves, repeats and redeliveries in random order: every counter the script keeps equals a
    brute-force recount from the per-prompt vote hashes, and rounds stay bounded."""
    ns = namespace
    keys = Keys(ns)
    store = await _store(redis, ns, max_rounds=1, agree_min=0.66)
    rng = random.Random(11)
    pids = {f"{i:032x}": i % 3 for i in range(12)}
    synthetic = {pid: i % 2 == 0 for i, pid in enumerate(pids)}
    for pid, c in pids.items():
        await _accept(redis, ns, pid, c, synthetic[pid])
    annotators = ["ann-1", "ann-2", "ann-3", "ann:4"]
    sent: Counter[str] = Counter()
    for step in range(400):
        pid = rng.choice(list(pids))
        res = result(
            pid, rng.choice(["good", "reject", "needs_edit", "spam"]), rng.choice(annotators)
        )
        out = await store.apply([res], [f"results/0/{step}"])
        for _, req in out.reviews:
            sent[req.prompt_id] += 1
            assert req.round == 2 and len(req.votes) >= 2
            assert req.cluster == pids[req.prompt_id]

    items = {pid: _decode(await redis.hgetall(keys.fb_item(pid))) for pid in pids}
    tallies = {pid: (sum(v == "pos" for v in i.values()), sum(v == "neg" for v in i.values()))
               for pid, i in items.items()}  # fmt: skip
    hist = agreement.histogram((pids[pid], t) for pid, t in tallies.items())
    got = agreement.parse_histogram(await redis.hgetall(keys.fb_hist))
    assert got == {g: +h for g, h in hist.items() if +h}
    counts = await store.counts()
    for mode in agreement.MODES:
        mc = await store.mode_counts(mode)
        for c in {*map(str, pids.values()), "all"}:
            want = agreement.mode_counts(hist.get(c, {}), mode, 0.66)
            assert (mc.get(f"{c}:pos", 0), mc.get(f"{c}:neg", 0)) == pytest.approx(want)
            if mode == "all":
                assert (counts.get(f"{c}:pos", 0), counts.get(f"{c}:neg", 0)) == want
    units = list(items.values())
    ann = agreement.parse_annotators(await redis.hgetall(keys.fb_annotators))
    for a in annotators:
        mine = [u for u in units if a in u]
        pairs = sum(len(u) - 1 for u in mine)
        agree = sum(sum(v == u[a] for v in u.values()) - 1 for u in mine)
        assert (ann[a].votes, ann[a].pairs, ann[a].agreements) == (len(mine), pairs, agree)
    bias = await agreement.annotator_bias(redis, ns, "")
    for c in set(pids.values()):
        for origin, syn in (("real", False), ("synthetic", True)):
            mine = [pid for pid in pids if pids[pid] == c and synthetic[pid] is syn]
            want = {
                "pos": sum(tallies[p][0] for p in mine),
                "neg": sum(tallies[p][1] for p in mine),
            }
            assert bias[c][origin] == want
    assert sent and max(sent.values()) <= 1  # some rounds asked, each prompt once at most
    report = await agreement.agreement_report(redis, ns)
    assert report["items"]["sent_back"] == sum(sent.values())
    assert report["items"]["voted"] == sum(1 for u in units if u)
    metas = {p: _decode(await redis.hgetall(keys.fb_meta(p))) for p in pids}
    states = Counter(m.get("state") for m in metas.values())
    assert report["items"]["agreed"] == states["agreed"]
    assert report["items"]["open"] == states["review"]
    assert report["items"]["unresolved"] == states["unresolved"]
    for p, m in metas.items():
        assert agreement.is_agreed(*tallies[p], 0.66) == (m.get("state") == "agreed")
        assert int(m.get("rounds", 0)) <= 1
    assert report["alpha"]["global"] == pytest.approx(
        agreement.Coincidences.of(hist["all"]).alpha, abs=1e-4
    )
    assert await redis.ttl(keys.fb_item(next(iter(pids)))) > 0


async def test_disagreement_asks_one_more_round_then_settles(redis, namespace):
    ns = namespace
    store = await _store(redis, ns, max_rounds=1, agree_min=0.66)
    pid = "b" * 32
    await _accept(redis, ns, pid, 5)
    assert not (await store.apply([result(pid, "good", "ann-1")], ["r/0/0"])).reviews
    out = await store.apply([result(pid, "off_topic", "ann-2")], ["r/0/1"])
    ((src, req),) = out.reviews
    assert src == "r/0/1" and req.round == 2 and req.reason == "annotators_disagree"
    assert req.votes == {"ann-1": "pos", "ann-2": "neg"} and req.cluster == 5
    # a replay of the same result (a crash before its output was confirmed) asks again, once
    # more only for the runner to drop; the same vote from another message never does
    assert [r.round for _, r in (await store.apply([result(pid, "off_topic", "ann-2")], ["r/0/1"])).reviews] == [2]  # fmt: skip
    assert not (await store.apply([result(pid, "reject", "ann-2")], ["r/0/2"])).reviews
    report = await agreement.agreement_report(redis, ns)
    assert report["items"] == {"voted": 1, "agreed": 0, "open": 1, "unresolved": 0, "sent_back": 1}
    # the round: a third annotator settles it
    assert not (await store.apply([result(pid, "good", "ann-3")], ["r/0/3"])).reviews
    report = await agreement.agreement_report(redis, ns)
    assert report["items"] == {"voted": 1, "agreed": 1, "open": 0, "unresolved": 0, "sent_back": 1}
    assert report["clusters"][5]["votes"]["agreed"] == {"pos": 1.0, "neg": 0.0}
    assert report["annotators"]["ann-3"] == {
        "votes": 1, "pairs": 2, "agreements": 1, "agreement": 0.5,
        "kappa": report["annotators"]["ann-3"]["kappa"],
    }  # fmt: skip


async def test_still_split_after_the_last_round_is_unresolved(redis, namespace):
    ns = namespace
    store = await _store(redis, ns, max_rounds=1, agree_min=0.75)
    pid = "c" * 32
    await _accept(redis, ns, pid, 2)
    await store.apply([result(pid, "good", "ann-1")], ["r/0/0"])
    assert len((await store.apply([result(pid, "spam", "ann-2")], ["r/0/1"])).reviews) == 1
    # 2 against 1 is below 0.75: still split after the one extra round
    assert not (await store.apply([result(pid, "good", "ann-3")], ["r/0/2"])).reviews
    for i, label in enumerate(["reject", "good", "reject"], start=4):
        out = await store.apply([result(pid, label, f"ann-{i}")], [f"r/0/{i}"])
        assert not out.reviews  # never sent again
    report = await agreement.agreement_report(redis, ns)
    assert report["items"]["unresolved"] == 1 and report["items"]["sent_back"] == 1
    assert report["clusters"][2]["votes"]["agreed"] == {"pos": 0.0, "neg": 0.0}


async def test_no_rounds_when_max_rounds_is_zero(redis, namespace):
    ns = namespace
    store = await _store(redis, ns, max_rounds=0)
    pid = "d" * 32
    await _accept(redis, ns, pid, 1)
    await store.apply([result(pid, "good", "ann-1")], ["r/0/0"])
    assert not (await store.apply([result(pid, "spam", "ann-2")], ["r/0/1"])).reviews
    assert (await agreement.agreement_report(redis, ns))["items"]["unresolved"] == 1


async def test_bias_counts_on_the_learned_topic_model(redis, namespace):
    ns = namespace
    keys = Keys(ns)
    model = TopicModel(
        "learned-0123456789abcdef", np.eye(4, dtype=np.float32)[[3, 0]], ("x", "y"),
        np.array([0.5, 0.5]),
    )  # fmt: skip
    await redis.set(keys.topics_model(model.version), model.to_bytes())
    await redis.set(keys.topics_current, model.version)
    store = await _store(redis, ns)
    await _accept(redis, ns, "f" * 32, 0, synthetic=True)  # vector e0: learned cluster 1
    await _accept(redis, ns, "9" * 32, 3)  # vector e3: learned cluster 0
    await store.apply(
        [result("f" * 32, "good"), result("f" * 32, "spam", "ann-2"), result("9" * 32, "reject")],
        ["r/0/0", "r/0/1", "r/0/2"],
    )
    bias = await agreement.annotator_bias(redis, ns, "01234567")
    assert bias == {
        0: {"real": {"pos": 0, "neg": 1}, "synthetic": {"pos": 0, "neg": 0}},
        1: {"real": {"pos": 0, "neg": 0}, "synthetic": {"pos": 1, "neg": 1}},
    }
    assert await agreement.annotator_bias(redis, ns, "") == {}


async def test_the_stage_emits_review_requests_and_exports_agreement(redis, fresh):
    s = fresh(partitions=1)
    store = await _store(redis, s.namespace)
    stage = FeedbackStage(s, store)
    assert s.topic_review in stage.output_topics()
    pid = "a1" * 16
    await _accept(redis, s.namespace, pid, 6)
    msgs = [
        InMsg(
            s.topic_results, 0, i, pid.encode(), result(pid, label, who).model_dump_json().encode()
        )
        for i, (label, who) in enumerate([("good", "ann-1"), ("reject", "ann-2")])
    ]
    msgs.append(InMsg(s.topic_results, 0, 2, None, b"{not json"))
    outs = await stage.process(msgs)
    assert sorted(o.topic for o in outs) == sorted([s.topic_review, s.topic_dlq])
    (review,) = [o for o in outs if o.topic == s.topic_review]
    assert review.key == pid.encode() and review.src == msgs[1].src
    req = ReviewRequest.model_validate_json(review.value)
    assert (req.round, req.cluster, req.votes) == (2, 6, {"ann-1": "pos", "ann-2": "neg"})
    assert review.label.startswith("review:")
    assert REGISTRY.get_sample_value("flywheel_feedback_prompts", {"state": "open"}) == 1
    assert REGISTRY.get_sample_value("flywheel_review_requests_total") >= 1
    # one split pair: o_pn = 1, n_p = n_n = 1, n = 2: alpha = 1 - 1 * 1 / 1 = 0
    assert REGISTRY.get_sample_value("flywheel_annotator_alpha", {"cluster": "all"}) == 0.0
    assert REGISTRY.get_sample_value("flywheel_annotator_alpha", {"cluster": "6"}) == 0.0
