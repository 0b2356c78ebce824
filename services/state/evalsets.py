"""Registered evaluation sets: the file format, its refusals, and their Redis storage.

``flywheel evalsets add NAME FILE`` reads a file (``parse_evalset``) and stores its items
(``RedisEvalsets.add``); every worker reads them back when ``<ns>:evalsets:version`` changes
(services/pipeline/contamination.py). The items are stored normalized and redacted, as the
prompts they are compared with are. Layout (services/keys.py):

- ``evalsets``: hash name -> JSON metadata (items, bytes, sha256 of the file, added_at);
- ``evalsets:items:<name>``: zlib-compressed JSON ``[[item_id, text], ...]``;
- ``evalsets:vec:<name>``: hash model digest -> float16 vectors of the items, one row each
  (zeros: the model cannot read the item), written by the first process that embeds them;
- ``evalsets:hits``: hash name -> prompts found copying one of its items, and
  ``evalsets:seen:<name>``: a HyperLogLog of the distinct items found;
- ``evalsets:version``: incremented by every add and remove.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.clean.pii import redact
from services.clean.text import normalize
from services.keys import Keys, text

MAX_FILE_BYTES = 64 * 1024 * 1024  # MMLU's test split is 4 MB as JSON lines
MAX_ITEMS = 200_000
MAX_ITEM_CHARS = 20_000
TEXT_FIELDS = ("question", "prompt", "text")  # the first one a file has is read
ID_FIELDS = ("id", "item_id", "question_id", "task_id")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class BadEvalset(ValueError):
    """A file or name that cannot be registered; the message is one line for the operator."""


@dataclass(frozen=True)
class Evalset:
    """One set's items (id, normalized and redacted text), as stored."""

    name: str
    items: list[tuple[str, str]]


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise BadEvalset(f"bad name {name!r}: letters, digits, '.', '_', '-', at most 64")
    return name


def parse_evalset(name: str, raw: bytes) -> Evalset:
    """The items of a JSON-lines file (an object per line with a ``question``, ``prompt`` or
    ``text`` field) or a CSV file (a header naming one); an ``id`` field (or ``item_id``,
    ``question_id``, ``task_id``) names an item, else its line or row number. Raises
    ``BadEvalset`` for an empty, too large, not UTF-8 or field-less file."""
    check_name(name)
    if len(raw) > MAX_FILE_BYTES:
        raise BadEvalset(f"file too large: {len(raw)} bytes, at most {MAX_FILE_BYTES}")
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadEvalset(f"not UTF-8 (byte {exc.start})") from None
    if not body.strip():
        raise BadEvalset("empty file")
    rows = _json_lines(body) if body.lstrip().startswith("{") else _csv_rows(body)
    items: list[tuple[str, str]] = []
    for item_id, value in rows:
        if len(value) > MAX_ITEM_CHARS:
            raise BadEvalset(f"item {item_id}: longer than {MAX_ITEM_CHARS} characters")
        prepared = redact(normalize(value))[0]
        if prepared:
            items.append((item_id, prepared))
        if len(items) > MAX_ITEMS:
            raise BadEvalset(f"more than {MAX_ITEMS} items")
    if not items:
        raise BadEvalset("no item with text")
    dup = next((i for i, n in Counter(i for i, _ in items).items() if n > 1), None)
    if dup is not None:
        raise BadEvalset(f"item id {dup!r} appears twice")
    return Evalset(name, items)


def _field(keys: Sequence[str], wanted: Sequence[str]) -> str | None:
    folded = {k.strip().casefold(): k for k in keys if isinstance(k, str)}
    return next((folded[w] for w in wanted if w in folded), None)


def _json_lines(body: str) -> list[tuple[str, str]]:
    rows = []
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            raise BadEvalset(f"line {number}: not JSON") from None
        if not isinstance(obj, dict):
            raise BadEvalset(f"line {number}: not a JSON object")
        field = _field(list(obj), TEXT_FIELDS)
        if field is None or not isinstance(obj[field], str):
            raise BadEvalset(f"line {number}: no question, prompt or text field (a string)")
        id_field = _field(list(obj), ID_FIELDS)
        item_id = str(obj[id_field]) if id_field is not None else str(number)
        rows.append((item_id, obj[field]))
    return rows


def _csv_rows(body: str) -> list[tuple[str, str]]:
    try:
        reader = csv.DictReader(io.StringIO(body))
        header = reader.fieldnames or []
        field = _field(header, TEXT_FIELDS)
        if field is None:
            raise BadEvalset("neither JSON lines nor a CSV header naming question, prompt or text")
        id_field = _field(header, ID_FIELDS)
        return [
            (row[id_field] if id_field else str(number), row[field] or "")
            for number, row in enumerate(reader, 1)
        ]
    except csv.Error as exc:
        raise BadEvalset(f"not CSV: {exc}") from None


def encode_items(items: Sequence[tuple[str, str]]) -> bytes:
    return zlib.compress(json.dumps(items, ensure_ascii=False).encode(), 6)


def decode_items(raw: bytes) -> list[tuple[str, str]]:
    return [(str(i), str(t)) for i, t in json.loads(zlib.decompress(raw))]


def encode_vectors(vectors: np.ndarray) -> bytes:
    return np.ascontiguousarray(vectors, dtype=np.float16).tobytes()


def decode_vectors(raw: bytes, dim: int) -> np.ndarray:
    vecs = np.frombuffer(raw, dtype=np.float16).astype(np.float32).reshape(-1, dim)
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    return vecs / np.where(norms > 0, norms, 1.0)


def model_digest(fingerprint: str) -> str:
    return hashlib.sha256(fingerprint.encode()).hexdigest()[:16]


# store the vectors only while the set is registered (a remove may have come in between)
_PUT_VECTORS = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
  return 1
end
return 0
"""


class RedisEvalsets:
    """The registered sets of one namespace."""

    def __init__(self, redis: aioredis.Redis, namespace: str) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self._put_vectors = redis.register_script(_PUT_VECTORS)

    async def add(
        self,
        evalset: Evalset,
        raw_size: int,
        digest: str,
        vectors: tuple[str, np.ndarray] | None = None,
    ) -> dict[str, Any]:
        """Register ``evalset`` (with ``vectors``: a model fingerprint and the items' vectors
        from it, one row each); ``BadEvalset`` when a set of that name exists."""
        k = self.keys
        meta = {
            "name": evalset.name,
            "items": len(evalset.items),
            "bytes": raw_size,
            "sha256": digest,
            "added_at": int(time.time()),
        }
        async with self.redis.pipeline(transaction=True) as pipe:
            try:
                await pipe.watch(k.evalsets)
                if await pipe.hexists(k.evalsets, evalset.name):
                    raise BadEvalset(f"a set named {evalset.name} exists: remove it first")
                pipe.multi()
                pipe.set(k.evalset_items(evalset.name), encode_items(evalset.items))
                pipe.delete(k.evalset_vectors(evalset.name), k.evalset_seen(evalset.name))
                if vectors is not None:
                    fingerprint, vecs = vectors
                    pipe.hset(
                        k.evalset_vectors(evalset.name),
                        model_digest(fingerprint),
                        encode_vectors(vecs),
                    )
                pipe.hdel(k.evalset_hits, evalset.name)
                pipe.hset(k.evalsets, evalset.name, json.dumps(meta))
                pipe.incr(k.evalsets_version)
                await pipe.execute()
            except WatchError:
                raise BadEvalset(f"{evalset.name} changed while adding it: try again") from None
        return meta

    async def has(self, name: str) -> bool:
        return bool(await self.redis.hexists(self.keys.evalsets, name))

    async def remove(self, name: str) -> bool:
        """Unregister ``name``; False when no such set."""
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(k.evalsets, name)
            pipe.delete(k.evalset_items(name), k.evalset_vectors(name), k.evalset_seen(name))
            pipe.hdel(k.evalset_hits, name)
            pipe.incr(k.evalsets_version)
            removed, *_ = await pipe.execute()
        return bool(removed)

    async def version(self) -> int:
        return int(await self.redis.get(self.keys.evalsets_version) or 0)

    async def listing(self) -> list[dict[str, Any]]:
        """Each set's metadata with ``hits`` (prompts found copying it) and ``items_seen``
        (distinct items among them, estimated), sorted by name."""
        k = self.keys
        sets = {text(n): json.loads(v) for n, v in (await self.redis.hgetall(k.evalsets)).items()}
        hits = {text(n): int(v) for n, v in (await self.redis.hgetall(k.evalset_hits)).items()}
        out = []
        for name in sorted(sets):
            meta = sets[name]
            meta["hits"] = hits.get(name, 0)
            meta["items_seen"] = int(await self.redis.pfcount(k.evalset_seen(name)))
            out.append(meta)
        return out

    async def load(self) -> tuple[int, list[Evalset]]:
        """The version and every registered set, read in one transaction."""
        k = self.keys
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(k.evalsets_version)
            pipe.hkeys(k.evalsets)
            version, names = await pipe.execute()
        names = sorted(text(n) for n in names)
        if not names:
            return int(version or 0), []
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.get(k.evalsets_version)
            for name in names:
                pipe.get(k.evalset_items(name))
            again, *blobs = await pipe.execute()
        if again != version:  # changed in between: the next refresh reads it again
            return -1, []
        return int(version or 0), [
            Evalset(n, decode_items(b)) for n, b in zip(names, blobs, strict=True) if b
        ]

    async def vectors(self, name: str, fingerprint: str, dim: int) -> np.ndarray | None:
        raw = await self.redis.hget(self.keys.evalset_vectors(name), model_digest(fingerprint))
        if raw is None:
            return None
        return decode_vectors(raw if isinstance(raw, bytes) else raw.encode("latin-1"), dim)

    async def put_vectors(self, name: str, fingerprint: str, vectors: np.ndarray) -> None:
        k = self.keys
        await self._put_vectors(
            keys=[k.evalsets, k.evalset_vectors(name)],
            args=[name, model_digest(fingerprint), encode_vectors(vectors)],
        )

    async def record_hits(self, hits: Sequence[tuple[str, str]]) -> None:
        """Count prompts found copying items: ``(set name, item id)`` each."""
        if not hits:
            return
        k = self.keys
        async with self.redis.pipeline(transaction=False) as pipe:
            for name, n in Counter(name for name, _ in hits).items():
                pipe.hincrby(k.evalset_hits, name, n)
            for name in {name for name, _ in hits}:
                pipe.pfadd(k.evalset_seen(name), *[i for s, i in hits if s == name])
            await pipe.execute()
