"""The coverage-gap loop, closed on the real stack: a skewed real stream through a worker, the ops
server measuring the gaps against an operator's target, the example client
(``python -m clients.gaps --template --once``) turning the published gap into synthetic prompts,
the worker admitting them into the thin cluster under the mix rules, and the gap shrinking.

Clusters are the cold-start model's (topic learning off, so the target keeps naming the same
clusters): real traffic is about fruit (35), running (32) and school classes (62), with two
prompts about farm animals (15); the operator's target gives those four clusters a quarter each,
so cluster 15 is the one gap."""

from __future__ import annotations

import asyncio
import json
import random
import subprocess
import sys

import aiohttp
import pytest

from services.contract.records import GapRecord
from services.dev.accounting import read_records
from services.dev.devstack import free_port
from services.dev.workers import WorkerProcess, wait_outputs
from services.embed.clusters import TopicModel
from streams.ops_http import build_ops_app
from streams.replay import produce
from tests.integration.harness import ROOT, check_invariant, serve

pytestmark = pytest.mark.integration

WRITE = {"Authorization": "Bearer w-token"}
TOPICS = {"fruit": 35, "running": 32, "class": 62, "animals": 15}
GAP = TOPICS["animals"]
PEOPLE = ["Maria", "James", "Aiko", "Omar", "Lena", "Carlos", "Priya", "Tom", "Zara", "Ivan"]
FRUIT = ["apples", "oranges", "pears", "plums", "bananas", "mangoes", "peaches", "lemons"]
SUBJECTS = ["math", "art", "science", "music", "history", "reading"]
FRAMES = {
    "fruit": [
        "{p} buys {a} {f} and {b} {g} for a fruit salad. How many pieces of fruit is that?",
        "A fruit stand sells {a} bags of {f} with {b} in each bag. How many {f} does it sell?",
        "{p} picked {a} {f}; {b} were rotten and the rest went into pies. How many were used?",
        "There are {a} {f} and {b} {g} in a basket of fruit. What fraction of it is {g}?",
        "{p} eats {b} {f} and {a} {g} every morning. How much fruit is that in a week?",
        "A crate holds {a} {f} and {b} {g}. If {p} sells half the fruit, how many are left?",
        "{f} cost {b} dollars a pound. {p} buys {a} pounds of {f} and {g}. What is the bill?",
        "An orchard has {a} rows of {f} trees with {b} trees each. How many fruit trees?",
    ],
    "running": [
        "{p} runs {a} miles at {b} miles per hour. How long does the run take?",
        "A marathon is 26 miles. {p} has run {a} miles at a speed of {b} mph. How far is left?",
        "{p} jogs {b} miles every morning and {a} miles on Sundays. How many miles in a week?",
        "If a runner keeps a pace of {b} minutes per mile, how far does she run in {a} minutes?",
        "{p} sprints {a} meters in {b} seconds. What is the average speed in meters per second?",
        "Training for a race, {p} adds {b} miles each week starting from {a}. When does the "
        "distance reach 20 miles?",
    ],
    "class": [
        "{p} teaches {a} students in a {subject} class; {b} are absent. How many are present?",
        "Out of {a} students in the {subject} class, {b} girls got an A. What share is that?",
        "A class has {a} students and {b} of them are girls. How many boys are in the class?",
        "{p}'s school has {a} classes with {b} students each. How many students in total?",
        "In a class of {a} students, {b} girls joined the choir. What percent of the class "
        "is that?",
        "The teacher splits {a} students into groups of {b} for a class project. How many "
        "groups are there?",
        "There are {b} more girls than boys among the {a} students of {p}'s class. How many girls?",
        "Each of the {a} students in the class brings {b} books for the school library. How "
        "many books?",
    ],
    "animals": [
        "A farm has {a} cows and {b} goats. How many legs do the animals have altogether?",
        "{p} keeps {a} goats and twice as many cows on the farm. How many animals are there?",
    ],
}


def real_prompts(topic: str, n: int, seed: int = 1) -> list[str]:
    rng = random.Random(f"{topic}:{seed}")
    frames = FRAMES[topic]
    return [
        frames[i % len(frames)].format(
            p=rng.choice(PEOPLE),
            a=rng.randint(12, 90),
            b=rng.randint(2, 11),
            f=(fruit := rng.choice(FRUIT)),
            g=rng.choice([x for x in FRUIT if x != fruit]),
            subject=rng.choice(SUBJECTS),
        )
        for i in range(n)
    ]


def event(eid: str, text: str) -> bytes:
    return json.dumps({"event_id": eid, "prompt": text, "user_id": f"u-{eid}"}).encode()


def run_client(s, group: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable, "-m", "clients.gaps", "--bootstrap", s.kafka_bootstrap,
            "--topic", s.topic_gaps, "--events-topic", s.topic_events, "--group", group,
            "--once", "--idle-s", "4", "--template", "--seed", "7",
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def test_gaps_become_synthetic_prompts_that_fill_the_gap(fresh, tmp_path):
    port = free_port()
    s = fresh(
        partitions=1,
        curate_partitions=2,
        ops_token="w-token",
        ops_port=port,
        gaps_min_window=20,
        gaps_interval_s=0,
        topics_learn=False,
        min_crowd=1,  # the thin cluster's one or two users: this test is the loop, not the crowd
    )
    model = TopicModel.load()
    counts = {"fruit": 26, "running": 26, "class": 26, "animals": 2}
    texts = {f"{t}-{i}": p for t, n in counts.items() for i, p in enumerate(real_prompts(t, n))}
    runner = await serve(build_ops_app(s), port)
    url = f"http://127.0.0.1:{port}"
    try:
        with WorkerProcess(s, tmp_path / "worker.log") as worker:
            produce(s, [event(k, v) for k, v in texts.items()])
            out = await asyncio.to_thread(wait_outputs, s, len(texts), worker, 240)
            by_cluster: dict[int, int] = {}
            for r in out.accepted:
                by_cluster[r["cluster"]] = by_cluster.get(r["cluster"], 0) + 1
            # the stream is skewed: the three topics fill their quota, the animals are thin
            for topic in ("fruit", "running", "class"):
                assert by_cluster.get(TOPICS[topic], 0) >= 10, (topic, by_cluster, out.reasons())
            real_gap = by_cluster.get(GAP, 0)
            assert 1 <= real_gap <= 2, by_cluster

            async with aiohttp.ClientSession() as http:
                gaps = await (await http.get(f"{url}/api/gaps")).json()
                assert gaps["target"] == "uniform" and gaps["total"] == len(out.accepted)
                assert gaps["clusters"] and all(g["deficit"] >= 1 for g in gaps["clusters"])
                assert gaps["entropy_bits"] < gaps["max_entropy_bits"] / 2

                quarter = {str(c): 0.25 for c in TOPICS.values()}
                r = await http.put(f"{url}/api/gaps/target", json={"shares": quarter})
                assert r.status == 401
                r = await http.put(
                    f"{url}/api/gaps/target", json={"shares": {str(GAP): 0.5}}, headers=WRITE
                )
                assert r.status == 422 and "sum to 0.5" in (await r.json())["error"]
                r = await http.put(
                    f"{url}/api/gaps/target", json={"shares": quarter}, headers=WRITE
                )
                assert r.status == 200, await r.text()
                gaps = await (await http.get(f"{url}/api/gaps")).json()
                assert gaps["target"] == "set"
                (before,) = gaps["clusters"]  # the three skewed clusters hold a third each
                assert before["cluster"] == GAP and before["synthetic"] == 0
                assert before["deficit"] >= 10 and before["synthetic_room"] >= 1
                assert before["words"] == model.labels[GAP].split()
                distance = gaps["distance"]

                r = await http.post(f"{url}/api/gaps/publish")
                assert r.status == 401
                r = await http.post(f"{url}/api/gaps/publish", headers=WRITE)
                assert r.status == 200, await r.text()
                published = await r.json()
                assert published["published"] == 1
                (gap_id,) = published["gaps"]

                # records the client must skip without stopping: malformed, a newer schema
                newer = json.loads(
                    GapRecord.model_validate(
                        {**before, "gap_id": f"{gaps['topics_version']}:{GAP}:99",
                         "topics_version": gaps["topics_version"], "examples": [],
                         "window_total": gaps["total"], "ts": "2026-01-01T00:00:00Z"}
                    ).model_dump_json()
                )  # fmt: skip
                newer["schema_version"] = "2.0"
                from kafka import KafkaProducer

                prod = KafkaProducer(bootstrap_servers=s.kafka_bootstrap)
                prod.send(s.topic_gaps, b"{not json")
                prod.send(s.topic_gaps, json.dumps(newer).encode())
                prod.flush()
                prod.close()

                done = await asyncio.to_thread(run_client, s, "gaps-client")
                assert done.returncode == 0, done.stderr[-3000:]
                assert "not JSON" in done.stderr and "schema_version '2.0'" in done.stderr
                assert f"gap {gap_id}" in done.stderr
                assert "read=3 skipped=2 requests=1" in done.stderr, done.stderr[-2000:]
                n_syn = int(done.stderr.rsplit("published=", 1)[1].split()[0])
                assert n_syn == min(before["synthetic_room"], before["deficit"])

                total = len(texts) + n_syn
                out = await asyncio.to_thread(wait_outputs, s, total, worker, 120)
                synthetic = [r for r in out.accepted if r["source"] == "synthetic"]
                landed = [r for r in synthetic if r["cluster"] == GAP]
                assert landed, (synthetic, out.reasons())
                assert all(r["event_id"].startswith(f"gap-{gap_id}-") for r in synthetic)

                gaps = await (await http.get(f"{url}/api/gaps")).json()
                (after,) = [g for g in gaps["clusters"] if g["cluster"] == GAP]
                assert after["synthetic"] == len(landed) and after["real"] == real_gap
                assert after["deficit"] < before["deficit"]
                assert gaps["distance"] < distance

                # the same group again: the gap was committed, nothing is generated
                again = await asyncio.to_thread(run_client, s, "gaps-client")
                assert "read=0" in again.stderr and "published=0" in again.stderr
                # another group replays the gap: same event ids, rejected as repeats
                other = await asyncio.to_thread(run_client, s, "gaps-client-2")
                assert f"published={n_syn}" in other.stderr, other.stderr[-2000:]
                out = await asyncio.to_thread(wait_outputs, s, total + n_syn, worker, 120)
                assert out.reasons()["duplicate_event"] >= n_syn
                check_invariant(s, out)

                stats = await (await http.get(f"{url}/api/stats")).json()
                (row,) = [b for b in stats["diversity"]["synthetic_balance"] if b["cluster"] == GAP]
                assert row["synthetic"]["accepted"] == len(landed)
    finally:
        await runner.cleanup()
    ours = [
        json.loads(r.value)["gap_id"]
        for r in read_records(s.kafka_bootstrap, [s.topic_gaps])
        if r.value.startswith(b'{"') and json.loads(r.value)["schema_version"].startswith("1.")
    ]
    assert ours == [gap_id]  # the ops server published one record; the client wrote none
