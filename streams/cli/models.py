"""Commands about the embedding model and what was built with it: preparing a backend,
re-embedding the accepted set for another backend or model, training topic centroids."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, get_args

from services.settings import BACKEND_DEFAULTS, Settings
from services.settings.embedding import EmbeddingBackend
from services.settings.load import load_settings
from streams.cli.base import CliError, broker_settings, count, existing_file, writable_file


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_model(args: argparse.Namespace) -> int:
    """Load (and on first use export, or distil for ``static``) the embedding model of every
    backend asked for."""
    from services.embed.embedder import Embedder

    s = Settings()
    for backend in args.backend or [s.embedding_backend]:
        emb = Embedder.from_settings(s, backend).setup()
        print(
            json.dumps(
                {
                    "backend": backend,
                    "model": emb.model_name,
                    "dim": emb.dim,
                    "fingerprint": emb.fingerprint,
                }
            )
        )
    return 0


def reindex_target(
    source: Settings, namespace: str, backend: str | None, model: str | None
) -> Settings:
    """The settings of the workers that will take over: the source's, with the new namespace,
    backend and model."""
    overrides: dict[str, Any] = {n: getattr(source, n) for n in source.model_fields_set}
    overrides["namespace"] = namespace
    if backend and backend != source.embedding_backend:
        overrides["embedding_backend"] = backend
        # a backend default the source spelt out (FLYWHEEL_TOPICS_PATH="" from a worker's full
        # environment) is the old backend's, not a choice: the new backend's applies
        was = BACKEND_DEFAULTS.get(source.embedding_backend, {})
        now = BACKEND_DEFAULTS.get(backend, {})
        for name in now.keys() | was.keys():
            default = Settings.model_fields[name].default
            if overrides.get(name, was.get(name, default)) == was.get(name, default):
                overrides[name] = now.get(name, default)  # wins over the environment too
    if model is not None:
        overrides["embedding_model"] = model
    return load_settings(**overrides)


def cmd_reindex(args: argparse.Namespace) -> int:
    """Re-embed the accepted set (``prompts.annotation``) into a new namespace with the target
    backend/model (services/pipeline/reindex.py); progress on stderr, a one-line summary."""
    import asyncio

    import redis.asyncio as aioredis

    from services.embed.clusters import TopicModel
    from services.embed.embedder import Embedder
    from services.embed.fingerprint import ModelMismatch
    from services.pipeline.reindex import reindex

    source = broker_settings(args)
    if args.to_namespace == source.namespace:
        raise CliError(
            f"--to-namespace {args.to_namespace} is the namespace being read "
            "(FLYWHEEL_NAMESPACE): reindex into a new one"
        )
    target = reindex_target(source, args.to_namespace, args.backend, args.model)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    async def run() -> str:
        emb = Embedder.from_settings(target)
        await asyncio.to_thread(emb.setup)
        topics = await asyncio.to_thread(TopicModel.load, target.topics_path or None)
        _say(
            f"reindex: {target.topic_annotation} -> namespace {target.namespace} "
            f"(backend {target.embedding_backend}, model {emb.fingerprint})"
        )
        redis = aioredis.from_url(target.redis_url.get_secret_value())
        try:
            summary = await reindex(redis, target, emb, topics, source.namespace, progress=_say)
        finally:
            await redis.aclose()
        return summary.line(target.namespace, emb.fingerprint)

    try:
        print(asyncio.run(run()))
    except (ModelMismatch, LookupError, TimeoutError) as exc:
        raise CliError(str(exc)) from None
    return 0


def read_prompts(path: Path) -> list[str]:
    """The distinct normalized prompts of a JSON-lines file (a ``prompt`` field per line), in
    the file's order."""
    from services.clean.text import normalize

    seen: dict[str, None] = {}
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                text = normalize(json.loads(line)["prompt"])
            except (ValueError, KeyError, TypeError):
                raise CliError(f"{path}:{number}: expected a JSON object with a prompt") from None
            if text:
                seen.setdefault(text, None)
    return list(seen)


def cmd_centroids(args: argparse.Namespace) -> int:
    """Train the base topic centroids for the configured (or given) model and backend
    (services/embed/centroids.py); FLYWHEEL_TOPICS_PATH then names the file."""
    from services.embed.centroids import BaseTopics, encode_by_length, readable, train
    from services.embed.embedder import Embedder

    if args.k < 2:
        raise CliError(f"--k {args.k}: expected at least 2 clusters")
    path = existing_file(Path(args.prompts))
    out = Path(args.out)
    writable_file(out)
    prompts = read_prompts(path)
    s = load_settings()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if args.model is not None:
        s = s.model_copy(update={"embedding_model": args.model})
    emb = Embedder.from_settings(s, args.backend).setup()
    texts = readable(emb, prompts)
    if len(texts) < args.k:
        raise CliError(f"{len(texts)} readable prompts in {path}: too few for {args.k} clusters")
    _say(f"centroids: embedding {len(texts)} readable prompts ({emb.fingerprint})")
    topics: BaseTopics = train(texts, encode_by_length(emb, texts), args.k)
    topics.save(out, emb.fingerprint)
    sizes = topics.sizes
    for c in sizes.argsort()[::-1][:10]:
        _say(f"  {c:3d} {sizes[c]:5d}  {topics.labels[c]}")
    summary = {
        "out": str(out),
        "prompts": len(texts),
        "clusters": args.k,
        "sizes": {"min": int(sizes.min()), "max": int(sizes.max())},
        "model": emb.fingerprint,
    }
    print(json.dumps(summary))
    return 0


def add_commands(sub: Any) -> None:
    """model, reindex, centroids."""
    backends = list(get_args(EmbeddingBackend))
    p = sub.add_parser(
        "model", help="prepare the embedding model (ONNX export or static distillation, cached)"
    )
    p.add_argument(
        "--backend",
        action="append",
        choices=backends,
        help="backend to prepare (repeatable; default FLYWHEEL_EMBEDDING_BACKEND)",
    )
    p.set_defaults(fn=cmd_model)

    p = sub.add_parser(
        "reindex",
        help="re-embed the accepted prompts into a new namespace (switching backend or model)",
    )
    p.add_argument(
        "--to-namespace", required=True, metavar="NS", help="Redis namespace to write (new)"
    )
    p.add_argument(
        "--backend",
        choices=backends,
        help="backend of the new workers (default FLYWHEEL_EMBEDDING_BACKEND)",
    )
    p.add_argument(
        "--model", default=None, help="model of the new workers (default FLYWHEEL_EMBEDDING_MODEL)"
    )
    p.set_defaults(fn=cmd_reindex)

    p = sub.add_parser(
        "centroids",
        help="train the topic centroids of an embedding model from prompts "
        "(then set FLYWHEEL_TOPICS_PATH to the file)",
        description="Embed the prompts the model can read, cluster them by spherical k-means "
        "(fixed seed) and write the unit centroids with each cluster's characteristic words and "
        "the model's fingerprint (workers refuse centroids of another model). Workers load the "
        "file named by FLYWHEEL_TOPICS_PATH; the shipped files were trained with "
        "--backend onnx (transformer) and --backend static.",
    )
    p.add_argument("prompts", help="prompts to cluster: JSON lines, each with a prompt field")
    p.add_argument(
        "--out",
        required=True,
        help="npz file to write; its name is the version (e.g. topics-v1.npz)",
    )
    p.add_argument(
        "--k", type=count, default=64, help="number of clusters, at least 2 (default 64)"
    )
    p.add_argument(
        "--backend", choices=backends, help="backend (default FLYWHEEL_EMBEDDING_BACKEND)"
    )
    p.add_argument(
        "--model", default=None, help="model name or path (default FLYWHEEL_EMBEDDING_MODEL)"
    )
    p.set_defaults(fn=cmd_centroids)
