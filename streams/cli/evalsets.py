"""``flywheel evalsets add NAME FILE | list | remove NAME``: the evaluation sets prompts must not
copy (docs/decontamination.md). Workers pick a change up within FLYWHEEL_CONTAMINATION_REFRESH_S
seconds, without a restart."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

from redis.exceptions import RedisError

from services.settings import Settings
from services.state.evalsets import MAX_FILE_BYTES, BadEvalset, RedisEvalsets, parse_evalset
from streams.cli.base import CliError, existing_file, settings


def read_evalset_file(path: Path) -> bytes:
    """The file's bytes; a file above the size limit is refused before it is read."""
    existing_file(path)
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CliError(f"{path}: file too large: {size} bytes, at most {MAX_FILE_BYTES}")
    return path.read_bytes()


def _with_store(s: Settings, work: Any) -> Any:
    """Run ``work(store)`` against the namespace's Redis; an outage is one line."""
    import redis.asyncio as aioredis

    async def go() -> Any:
        client = aioredis.from_url(s.redis_url.get_secret_value())
        try:
            return await work(RedisEvalsets(client, s.namespace))
        finally:
            await client.aclose()

    try:
        return asyncio.run(go())
    except RedisError as exc:
        raise CliError(f"Redis (FLYWHEEL_REDIS_URL): {exc}") from None
    except BadEvalset as exc:
        raise CliError(str(exc)) from None


def cmd_add(args: argparse.Namespace) -> int:
    raw = read_evalset_file(args.file)
    try:
        evalset = parse_evalset(args.name, raw)
    except BadEvalset as exc:
        raise CliError(f"{args.file}: {exc}") from None
    s = settings()
    if _with_store(s, lambda store: store.has(args.name)):  # before minutes of embedding
        raise CliError(f"a set named {args.name} exists: remove it first")
    vectors = None
    if args.embed and s.contamination_similarity < 1:
        from services.embed.embedder import Embedder
        from services.pipeline.contamination import embed_items

        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        print(f"evalsets: embedding {len(evalset.items)} items", file=sys.stderr, flush=True)
        emb = Embedder.from_settings(s).setup()
        texts = [t for _, t in evalset.items]
        vectors = (emb.fingerprint, embed_items(emb, s.max_unknown_token_ratio, texts))
    digest = hashlib.sha256(raw).hexdigest()
    meta = _with_store(s, lambda store: store.add(evalset, len(raw), digest, vectors))
    print(json.dumps(meta))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    for meta in _with_store(settings(), lambda store: store.listing()):
        print(json.dumps(meta))
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    if not _with_store(settings(), lambda store: store.remove(args.name)):
        raise CliError(f"no evaluation set named {args.name}")
    print(json.dumps({"removed": args.name}))
    return 0


def add_commands(sub: Any) -> None:
    """evalsets add | list | remove."""
    p = sub.add_parser(
        "evalsets",
        help="register the evaluation sets prompts must not copy (rejected contaminated)",
        description=__doc__,
    )
    cmds = p.add_subparsers(dest="evalsets_cmd", required=True)
    a = cmds.add_parser(
        "add",
        help="register a set: JSON lines with a question, prompt or text field (an id field "
        "names an item), or CSV with a header naming one",
    )
    a.add_argument("name", help="the set's name: letters, digits, '.', '_', '-'")
    a.add_argument("file", type=Path, help="the set's file (UTF-8, at most 64 MiB)")
    a.add_argument(
        "--no-embed",
        dest="embed",
        action="store_false",
        help="leave embedding the items to the first worker that loads the set",
    )
    a.set_defaults(fn=cmd_add)
    ls = cmds.add_parser("list", help="the registered sets, one JSON line each, with hits")
    ls.set_defaults(fn=cmd_list)
    r = cmds.add_parser("remove", help="unregister a set")
    r.add_argument("name", help="the name the set was added under")
    r.set_defaults(fn=cmd_remove)
