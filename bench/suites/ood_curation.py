"""Near duplicates and quotas through the real worker, on streams unlike the public prompts.

The embedded stack (Tansu + redis-server) is started for the run; each configuration gets its
own topics, consumer group and Redis namespace and one ``flywheel worker`` process. The streams
come from services/dev/ood_streams.py (one product's tool-use prompts behind a long shared preamble;
a mix of long notes, code with a licence header and support tickets with signatures).

Dedup runs (quotas and mix off): for every stream and number of curate partitions, the
near-duplicate rejections against the single-partition run of the same stream (one index: the
global greedy reference), and the share of accepted prompts that have another accepted prompt at
cosine >= threshold + 0.02, judged afterwards twice: with the vectors the worker decided on (read
back from the internal curate topic: what sharding and races could leak) and by embedding the
accepted texts again with the same model, after the preambles of the whole stream (an
independent reading; it differs from the worker's for the prompts embedded before a preamble was
known). Quota runs (defaults, quotas on): the share refused ``quota`` with the fixed cold-start
clusters and with clusters learned from the accepted stream, and the accepted set's cluster
entropy under each run's final topic model.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import redis

from bench.harness import Recorder, embedded_stack, embedder
from services.clean.text import normalize
from services.dev.accounting import read_records
from services.dev.devstack import Stack
from services.dev.ood_streams import events, stream
from services.dev.workers import WorkerProcess, isolated_settings, wait_outputs
from services.diversity.quota import entropy_bits
from services.diversity.topics import tag
from services.embed.clusters import TopicModel
from services.embed.embedder import Embedder
from services.embed.preamble import MemoryCounts, Preambles
from services.kafka.topics import ensure_topics
from services.keys import Keys
from services.settings import Settings
from streams.replay import produce


def run_one(stack: Stack, logs: Path, kind: str, n: int, **overrides: Any) -> dict[str, Any]:
    s = isolated_settings(stack, "ood", **overrides)
    ensure_topics(s)
    with WorkerProcess(s, logs / f"worker-{s.namespace}.log") as worker:
        t0 = time.monotonic()
        produce(s, events(kind, n, prefix=s.namespace))
        out = wait_outputs(s, n, worker, 900)
        seconds = time.monotonic() - t0
        curated = {}  # prompt_id -> the vector the worker decided on (the internal curate hop)
        for rec in read_records(s.kafka_bootstrap, [s.topic_curate]):
            item = json.loads(rec.value)
            if item.get("vector"):
                raw = base64.b64decode(item["vector"])
                curated[item["prompt_id"]] = np.frombuffer(raw, dtype=np.float32)
        client = redis.Redis.from_url(s.redis_url.get_secret_value())
        version = client.get(Keys(s.namespace).topics_current)
        learned = (
            TopicModel.from_bytes(client.get(Keys(s.namespace).topics_model(version.decode())))
            if version
            else None
        )
    return {
        "settings": s,
        "out": out,
        "seconds": seconds,
        "learned": learned,
        "curated": curated,
    }


def judged_texts(stream_texts: list[str], accepted: list[str], min_count: int) -> list[str]:
    """The accepted texts as the model read them: after the preambles the stream shares (counted
    over the whole stream first; the worker learned them on the way)."""
    if not min_count:
        return accepted
    counts = MemoryCounts()
    asyncio.run(Preambles(counts, min_count).strip([normalize(t) for t in stream_texts]))
    counts.frozen = True
    return asyncio.run(Preambles(counts, min_count).strip(accepted))


def leaks(vecs: np.ndarray, at: float) -> int:
    """Accepted prompts with another accepted prompt at cosine >= ``at``."""
    if len(vecs) < 2:
        return 0
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1.0)
    return int((sims.max(axis=1) >= at).sum())


def arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--n", type=int, default=3000)
    ap.add_argument("--streams", nargs="+", default=["tool", "mixed"])
    ap.add_argument("--partitions", nargs="+", type=int, default=[1, 4, 8])
    ap.add_argument("--quota-stream", default="tool", help="'' = no quota runs")
    ap.add_argument("--backend", default=None)
    ap.add_argument(
        "--set", nargs="*", default=[], help="settings for every run, e.g. preamble_min_count=0"
    )


def accepted_vectors(emb: Embedder, kind: str, n: int, out: Any, min_count: int) -> np.ndarray:
    """The accepted prompts of the semantic path, embedded again after the stream's preambles."""
    faiss_acc = [a for a in out.accepted if a["semantic_check"] == "faiss"]
    stream_texts = [t for t, _ in stream(kind, n)]
    texts = judged_texts(stream_texts, [a["text"] for a in faiss_acc], min_count)
    return emb.encode(texts) if texts else np.zeros((0, 1), dtype=np.float32)


def run(args: argparse.Namespace, rec: Recorder) -> int:
    base: dict[str, Any] = {"embedding_backend": args.backend} if args.backend else {}
    base |= dict(kv.split("=", 1) for kv in args.set)
    s0 = Settings(**base)
    min_count = s0.preamble_min_count
    emb = embedder(batch=64, s=s0)
    cold = TopicModel.load(s0.topics_path or None)
    at = s0.near_dup_threshold + 0.02
    rec.header(
        f"backend {s0.embedding_backend}, threshold {s0.near_dup_threshold}, n {args.n}, "
        f"shared preambles after {min_count} prompts, settings {args.set or 'defaults'}"
    )
    with embedded_stack("ood") as (stack, logs):
        print("\n| stream | curate partitions | accepted | near_duplicate rejected "
              "| caught vs 1 partition | accepted with an accepted neighbour >= "
              f"{at:.2f}: the worker's vectors | re-embedded | s |"
              "\n|---|---|---|---|---|---|---|---|")  # fmt: skip
        for kind in args.streams:
            ref = None
            for parts in args.partitions:
                r = run_one(
                    stack, logs, kind, args.n, curate_partitions=parts,
                    quota_max_share=1.0, mix_max_synthetic=1.0, **base,
                )  # fmt: skip
                out = r["out"]
                reasons = out.reasons()
                faiss_acc = [a for a in out.accepted if a["semantic_check"] == "faiss"]
                leak = leaks(accepted_vectors(emb, kind, args.n, out, min_count), at)
                own = [r["curated"][a["prompt_id"]] for a in faiss_acc if a["prompt_id"] in r["curated"]]  # fmt: skip
                leak_own = leaks(np.stack(own), at) if own else 0
                near = reasons["near_duplicate"]
                ref = near if parts == 1 else ref
                caught = near / ref if ref else float("nan")
                leak_share = leak / max(len(faiss_acc), 1)
                print(
                    f"| {kind} | {parts} | {len(out.accepted)} | {near} | {caught:.1%} | "
                    f"{leak_own} ({leak_own / max(len(own), 1):.2%}) | {leak} ({leak_share:.2%}) "
                    f"| {r['seconds']:.0f} |",
                    flush=True,
                )
                rec.add(
                    {
                        "accepted": len(out.accepted), "near_duplicate": near, "caught": caught,
                        "leak": leak, "leak_share": leak_share, "leak_worker_vectors": leak_own,
                        "reasons": dict(reasons), "seconds": r["seconds"],
                    },
                    kind="dedup", stream=kind, partitions=parts,
                )  # fmt: skip
        if args.quota_stream:
            print("\n| stream | clusters | accepted | refused quota | share of stream | "
                  "entropy of accepted (bits) | of max | s |\n|---|---|---|---|---|---|---|---|")  # fmt: skip
            for learn in (False, True):
                r = run_one(stack, logs, args.quota_stream, args.n, topics_learn=learn, **base)
                out = r["out"]
                quota = out.reasons()["quota"]
                model = r["learned"] if learn and r["learned"] is not None else cold
                vecs = accepted_vectors(emb, args.quota_stream, args.n, out, min_count)
                ent = entropy_bits(Counter(model.assign(vecs).tolist()).values())
                how = "learned" if tag(model.version) else "fixed"
                print(
                    f"| {args.quota_stream} | {how} ({model.k}, {model.version}) | "
                    f"{len(out.accepted)} | {quota} | {quota / args.n:.1%} | {ent:.2f} | "
                    f"{ent / np.log2(model.k):.2f} | {r['seconds']:.0f} |",
                    flush=True,
                )
                rec.add(
                    {
                        "model": model.version, "k": model.k, "accepted": len(out.accepted),
                        "quota": quota, "quota_share": quota / args.n, "entropy_bits": ent,
                        "entropy_of_max": ent / np.log2(model.k), "reasons": dict(out.reasons()),
                        "labels": list(model.labels[:8]),
                    },
                    kind="quota", stream=args.quota_stream, learn=learn,
                )  # fmt: skip
                if learn and r["learned"] is not None:
                    print("\nlearned cluster labels (first 8):", "; ".join(model.labels[:8]))
                elif learn:
                    print("\nno learned model (fewer acceptances than FLYWHEEL_TOPICS_FIRST_AFTER)")
    return 0
