"""Near duplicates and quotas through the real worker on streams unlike the public prompts.

services/dev/ood_streams.py makes them: long notes, code behind a licence header and support tickets
with signatures (``mixed``), and one product's tool-use prompts behind a shared preamble
(``travel``, without the preamble). Real broker, Redis, model and FAISS; several curate partitions, so near duplicates
are routed to different shards and must still meet (services/dedup/union.py).
"""

import asyncio
import base64
import json
import time

import numpy as np
import pytest
import redis.asyncio as aioredis

from services.dev.accounting import read_records
from services.dev.ood_streams import events
from services.dev.workers import WorkerProcess, wait_outputs
from services.diversity.topics import RedisTopics, tag
from services.embed.embedder import Embedder
from services.settings import Settings
from streams.replay import produce
from tests.integration.harness import ROOT, check_invariant

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder():
    s = Settings(state_dir=ROOT / ".flywheel", embed_batch_size=32)
    return Embedder.from_settings(s, "onnx").setup()


def neighbours_at(vecs: np.ndarray, at: float) -> int:
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1.0)
    return int((sims.max(axis=1) >= at).sum())


def test_near_duplicates_meet_across_eight_shards_on_an_unfamiliar_stream(
    fresh, tmp_path, embedder
):
    s = fresh(partitions=2, curate_partitions=8, quota_max_share=1.0, mix_max_synthetic=1.0)
    n = 600
    produce(s, list(events("mixed", n, seed=23, prefix="mx")))
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        out = wait_outputs(s, n, worker, timeout_s=300)
    check_invariant(s, out)
    reasons = out.reasons()
    assert reasons["near_duplicate"] > n // 3  # the stream is mostly near duplicates
    acc = [a for a in out.accepted if a["semantic_check"] == "faiss"]
    # judged afterwards on the vectors the worker decided on (after the stream's preambles; read
    # back from the internal curate topic): no accepted pair above threshold + 0.02
    decided = {}
    for rec in read_records(s.kafka_bootstrap, [s.topic_curate]):
        item = json.loads(rec.value)
        if item.get("vector"):
            decided[item["prompt_id"]] = np.frombuffer(base64.b64decode(item["vector"]), np.float32)
    vecs = np.stack([decided[a["prompt_id"]] for a in acc])
    assert neighbours_at(vecs, s.near_dup_threshold + 0.02) <= 0.02 * len(acc)
    # re-embedded whole, the tool prompts' shared preamble makes them look alike: what the
    # preamble stripping is for
    whole = embedder.encode([a["text"] for a in acc])
    assert neighbours_at(whole, s.near_dup_threshold + 0.02) > neighbours_at(
        vecs, s.near_dup_threshold + 0.02
    )
    assert all("{{EMAIL}}" in a["text"] or "Email" not in a["text"] for a in acc)


def test_one_products_stream_gets_its_own_clusters_and_is_not_starved_by_quotas(
    fresh, tmp_path, embedder
):
    s = fresh(partitions=2, curate_partitions=4)  # quotas and mix on (defaults)
    n, first = 900, 150

    async def learned():
        client = aioredis.from_url(s.redis_url.get_secret_value())
        try:
            topics = RedisTopics(client, s.namespace, s.quota_window_s, s.quota_bucket_s)
            version = await topics.current()
            return None if version is None else await topics.load(version)
        finally:
            await client.aclose()

    stream = list(events("travel", n, seed=29, prefix="tl"))
    with WorkerProcess(s, tmp_path / "worker.log") as worker:
        # the first model is learned in the background after 50 acceptances; how many of a
        # backlog are decided before it is in place depends on the machine's load, so the
        # stream goes on once it is (the figure asserted is the learned clusters' quota)
        produce(s, stream[:first])
        wait_outputs(s, first, worker, timeout_s=300)
        deadline = time.monotonic() + 120
        while asyncio.run(learned()) is None:
            assert time.monotonic() < deadline, "no topic model learned"
            time.sleep(1)
        produce(s, stream[first:])
        out = wait_outputs(s, n, worker, timeout_s=300)
    check_invariant(s, out)
    assert out.duplicated_prompt_ids() == []

    model = asyncio.run(learned())
    assert model is not None and tag(model.version)
    assert model.k >= 20
    assert sum(not label.startswith("cluster ") for label in model.labels) >= model.k // 2
    versions = {a["topics_version"] for a in out.accepted}
    # the later acceptances name a learned model (the newest may have been trained after the
    # last batch was decided)
    assert any(v.startswith("learned-") for v in versions), versions
    assert out.reasons()["quota"] <= 0.10 * n
