"""Topic clusters learned from the product's own accepted prompts.

The 64 public centroids (services/embed/clusters.py) are a cold start only: one product's
traffic falls into a handful of them, so per-cluster quotas starve it instead of spreading
acceptances over its own sub-topics. The curate stage therefore keeps a capped sample of the
latest acceptances (float16 vector + redacted text, ``<ns>:topics:sample``) and re-trains the
topic model from it: spherical k-means (numpy, k-means++ seeding, fixed seed), labelled with
each cluster's characteristic words (frequent in the cluster, rare elsewhere: a preamble every
prompt shares scores zero).

A model is *versioned* (``learned-<digest of its centroids>``), stored whole under
``<ns>:topics:model:<version>`` and made current by one transaction that also re-maps the quota
window: every bucket's counts of the old model's clusters are spread over the new clusters in
the proportions the sample moved (``transition``), rounded so that totals are kept. The bucket
keys are watched, so a curate batch committing meanwhile makes the swap retry instead of being
lost from the counts. Window fields carry the model's tag (``c:<tag>:<cluster>``), so a batch
decided on the old model that commits after the swap cannot count its old cluster numbers as new
ones (its counts drop out of the quotas until the window slides past them).

Routing never depends on this: the curate shard is frozen to the v1 centroids
(services/pipeline/ingest.py), so re-clustering never moves an index. Feedback weights stay
keyed by the v1 cluster of a prompt (services/pipeline/feedback.py) and scale the quota of the
learned cluster the prompt falls in.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import redis.asyncio as aioredis
from redis.exceptions import WatchError

from services.embed.clusters import TopicModel
from services.keys import Keys, text

log = logging.getLogger(__name__)

LEARNED = "learned-"
_WORD = re.compile(r"[^\W\d_]{3,24}", re.UNICODE)
_HAN = re.compile(r"[\u4e00-\u9fff]{2,}")
_STOP = frozenset(
    "the and for you your are with that this have from can how what when where which who why "
    "will would should could does did not but all any about into than then them they their "
    "there these those was were been being has had our out use using make more most some such "
    "only also just like get give please want need write explain tell help very much many "
    "les des une est pour que qui dans sur avec pas und der die das ist mit für wie ein eine "
    "los las del por para con una que como".split()
)


def tag(version: str) -> str:
    """The short tag of a version in window field names ('' for the cold-start centroids)."""
    return version[len(LEARNED) :][:8] if version.startswith(LEARNED) else ""


def clusters_for(n: int, k_max: int, max_share: float, per_cluster: int = 20) -> int:
    """How many clusters to learn from ``n`` sampled prompts: about ``per_cluster`` prompts each,
    at most ``k_max``, and at least enough that the quota shares can fill the window
    (``2 / max_share``: with fewer clusters than ``1 / max_share`` quotas refuse by design)."""
    floor = math.ceil(2 / max_share) if max_share < 1 else 2
    return int(max(2, min(k_max, max(floor, n // per_cluster), n)))


def spherical_kmeans(x: np.ndarray, k: int, seed: int = 20261206, iters: int = 30) -> np.ndarray:
    """Unit centroids (k, dim) of unit rows ``x``: k-means++ seeding, cosine assignment, empty
    clusters re-seeded with the worst-served point. Deterministic for a given input and seed."""
    rng = np.random.default_rng(seed)
    n = len(x)
    k = min(k, n)
    idx = [int(rng.integers(n))]
    best = x @ x[idx[0]]
    for _ in range(1, k):
        d = np.clip(1.0 - best, 0, None) ** 2
        total = float(d.sum())
        nxt = int(rng.choice(n, p=d / total)) if total > 0 else int(rng.integers(n))
        idx.append(nxt)
        best = np.maximum(best, x @ x[nxt])
    c = x[idx].astype(np.float32).copy()
    assign = np.full(n, -1)
    for _ in range(iters):
        sims = x @ c.T
        new = np.argmax(sims, axis=1)
        if np.array_equal(new, assign):
            break
        assign = new
        for j in range(k):
            members = x[assign == j]
            if len(members) == 0:
                worst = int(np.argmin(sims[np.arange(n), assign]))
                c[j] = x[worst]
                continue
            m = members.sum(axis=0)
            c[j] = m / (np.linalg.norm(m) or 1.0)
    return c


def words(text: str) -> set[str]:
    """Content words of a text (lower case, 3+ letters, no stop words; Han runs as bigrams)."""
    out = {w for w in (m.lower() for m in _WORD.findall(text)) if w not in _STOP}
    for run in _HAN.findall(text):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def characteristic_words(
    texts: Sequence[str], assign: np.ndarray, k: int, top: int = 4
) -> tuple[str, ...]:
    """Per cluster, the words that tell it apart: frequent inside (share of its prompts) and
    over-represented against all prompts (lift), ``p(w|c) * log(p(w|c) / p(w))``."""
    docs = [words(t) for t in texts]
    overall: Counter[str] = Counter()
    for d in docs:
        overall.update(d)
    n = max(len(docs), 1)
    labels = []
    for j in range(k):
        members = [docs[i] for i in np.flatnonzero(assign == j)]
        inside: Counter[str] = Counter()
        for d in members:
            inside.update(d)
        m = max(len(members), 1)
        scored = sorted(
            (
                (-(c / m) * math.log((c / m) / (overall[w] / n)), w)
                for w, c in inside.items()
                if c >= 2 or m < 4
            ),
        )
        labels.append(" ".join(w for s, w in scored[:top] if s < 0) or f"cluster {j}")
    return tuple(labels)


def train(
    vectors: np.ndarray, texts: Sequence[str], k: int, model: str, seed: int = 20261206
) -> TopicModel:
    """A topic model learned from a sample of accepted prompts (unit vectors, redacted texts)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    c = spherical_kmeans(x, k, seed)
    assign = np.argmax(x @ c.T, axis=1)
    weights = np.bincount(assign, minlength=len(c)).astype(np.float64) / max(len(x), 1)
    labels = characteristic_words(texts, assign, len(c))
    digest = hashlib.sha256(c.tobytes()).hexdigest()[:12]
    return TopicModel(f"{LEARNED}{digest}", c, labels, weights, model)


def transition(sample: np.ndarray, old: TopicModel, new: TopicModel) -> np.ndarray:
    """(old k, new k) row-stochastic matrix: where the sample's prompts of each old cluster
    fall in the new model (an old cluster the sample never visits spreads by the new weights)."""
    m = np.zeros((old.k, new.k))
    if len(sample):
        np.add.at(m, (old.assign(sample), new.assign(sample)), 1.0)
    prior = new.weights / new.weights.sum() if new.weights.sum() > 0 else np.full(new.k, 1 / new.k)
    rows = m.sum(axis=1, keepdims=True)
    return np.where(rows > 0, m / np.maximum(rows, 1e-12), prior)


def remap(counts: dict[int, int], p: np.ndarray) -> dict[int, int]:
    """Old-cluster counts spread over the new clusters by ``p``; largest remainders keep the
    total exact."""
    total = sum(n for c, n in counts.items() if 0 <= c < len(p))
    if total <= 0:
        return {}
    spread = np.zeros(p.shape[1])
    for c, n in counts.items():
        if 0 <= c < len(p) and n > 0:
            spread += n * p[c]
    base = np.floor(spread).astype(int)
    short = total - int(base.sum())
    for j in np.argsort(-(spread - base), kind="stable")[:short]:
        base[j] += 1
    return {int(j): int(n) for j, n in enumerate(base) if n > 0}


def due(accepted: int, last: int, first: int, every: int) -> bool:
    """Train at ``first`` acceptances, then each time their count doubles, then every ``every``
    (a young model re-learns soon, a settled one rarely)."""
    return accepted >= first and (last == 0 or accepted >= min(2 * last, last + every))


@dataclass(frozen=True)
class Sample:
    vectors: np.ndarray  # (n, dim) float32
    texts: list[str]


SAMPLE_HEAD = 20  # a sample entry begins with its prompt_id (16 bytes) and time (uint32)

# KEYS: the sample list. ARGV: the oldest time kept (epoch seconds). Pops older entries from
# the tail (the oldest end: entries are pushed at the head); returns how many.
_EXPIRE_TAIL = """
local n = 0
while true do
  local e = redis.call('LINDEX', KEYS[1], -1)
  if not e then break end
  local b1, b2, b3, b4 = string.byte(e, 17, 20)
  if not b4 or (b1 + 256 * (b2 + 256 * (b3 + 256 * b4))) >= tonumber(ARGV[1]) then break end
  redis.call('RPOP', KEYS[1])
  n = n + 1
end
return n
"""


def encode_sample(pid: str, vector: np.ndarray, text: str, at: float | None = None) -> bytes:
    """The prompt_id (so an erasure finds it), the time (so retention ends it), the float16
    vector, the text."""
    when = int(time.time() if at is None else at).to_bytes(4, "little")
    vec = np.asarray(vector, dtype=np.float16).tobytes()
    return bytes.fromhex(pid) + when + vec + text.encode()


def decode_samples(raw: Sequence[bytes], dim: int) -> Sample:
    width = 2 * dim
    vecs, texts = [], []
    for r in raw:
        if len(r) < SAMPLE_HEAD + width:
            continue
        body = r[SAMPLE_HEAD:]
        vecs.append(np.frombuffer(body[:width], dtype=np.float16).astype(np.float32))
        texts.append(body[width:].decode(errors="replace"))
    return Sample(np.stack(vecs) if vecs else np.zeros((0, dim), np.float32), texts)


class RedisTopics:
    """The learned topic model's state in Redis: the sample, the versions, the swap."""

    def __init__(
        self,
        redis: aioredis.Redis,
        namespace: str,
        window_s: int,
        bucket_s: int,
        retention_s: int | None = None,
    ) -> None:
        self.redis = redis
        self.keys = Keys(namespace)
        self.window_s = window_s
        self.bucket_s = bucket_s
        self.retention_s = retention_s  # the sample holds text: none of it older than this

    async def record(self, entries: Sequence[tuple[str, np.ndarray, str]], cap: int) -> int:
        """Add acceptances to the capped sample, drop those older than the retention period;
        the running count of acceptances."""
        if not entries:
            return int(await self.redis.get(self.keys.topics_accepted) or 0)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(self.keys.topics_sample, *(encode_sample(*e) for e in entries))
            pipe.ltrim(self.keys.topics_sample, 0, cap - 1)
            pipe.incrby(self.keys.topics_accepted, len(entries))
            if self.retention_s is not None:
                oldest = int(time.time()) - self.retention_s
                pipe.eval(_EXPIRE_TAIL, 1, self.keys.topics_sample, oldest)
            count = (await pipe.execute())[2]
        return int(count)

    async def sample(self, dim: int) -> Sample:
        raw = await self.redis.lrange(self.keys.topics_sample, 0, -1)
        return decode_samples([r for r in raw if isinstance(r, bytes)], dim)

    async def current(self) -> str | None:
        raw = await self.redis.get(self.keys.topics_current)
        return None if raw is None else text(raw)

    async def load(self, version: str) -> TopicModel:
        raw = await self.redis.get(self.keys.topics_model(version))
        if not isinstance(raw, bytes):
            raise ValueError(f"topic model {version} is not in Redis")
        return TopicModel.from_bytes(raw)

    async def due(self, accepted: int, first: int, every: int) -> bool:
        """Whether the count of acceptances calls for a (re-)training: at ``first``, then each
        time the count doubles, then every ``every``."""
        last = int(await self.redis.get(self.keys.topics_trained_at) or 0)
        return due(accepted, last, first, every)

    async def lock(self, ttl_s: int = 120) -> bool:
        return bool(await self.redis.set(self.keys.topics_lock, b"1", nx=True, ex=ttl_s))

    async def unlock(self) -> None:
        await self.redis.delete(self.keys.topics_lock)

    def _buckets(self, now: float) -> list[str]:
        last = int(now // self.bucket_s)
        first = last - self.window_s // self.bucket_s
        return [self.keys.window(b) for b in range(first, last + 2)]

    async def swap(
        self, old: TopicModel, new: TopicModel, sample: np.ndarray, accepted: int, tries: int = 5
    ) -> None:
        """Store ``new`` and make it current, the window's counts re-mapped, in one transaction
        (retried when a curate batch commits to a watched bucket meanwhile)."""
        p = transition(sample, old, new)
        old_tag, new_tag = tag(old.version), tag(new.version)
        blob = new.to_bytes()
        for attempt in range(tries):
            keys = self._buckets(time.time())
            async with self.redis.pipeline(transaction=True) as pipe:
                try:
                    await pipe.watch(*keys)
                    rows = [await pipe.hgetall(k) for k in keys]
                    pipe.multi()
                    pipe.set(self.keys.topics_model(new.version), blob)
                    for key, row in zip(keys, rows, strict=True):
                        for kind in ("c", "s"):  # every prompt, the synthetic ones
                            moved = remap(_cluster_counts(row, old_tag, kind), p)
                            if moved:
                                pipe.hset(
                                    key,
                                    mapping={_field(new_tag, c, kind): n for c, n in moved.items()},
                                )
                    pipe.set(self.keys.topics_current, new.version)
                    pipe.set(self.keys.topics_trained_at, accepted)
                    await pipe.execute()
                    log.info(
                        "topic model %s is current (%d clusters, was %s)",
                        new.version,
                        new.k,
                        old.version,
                    )
                    return
                except WatchError:
                    log.info("topic model swap raced a commit; retrying (%d)", attempt + 1)
        raise RuntimeError(f"topic model swap to {new.version} kept racing commits")


def _field(tag_: str, cluster: int, kind: str = "c") -> str:
    return f"{kind}:{tag_}:{cluster}" if tag_ else f"{kind}:{cluster}"


def _cluster_counts(row: dict, tag_: str, kind: str = "c") -> dict[int, int]:
    prefix = f"{kind}:{tag_}:" if tag_ else f"{kind}:"
    out: dict[int, int] = {}
    for k, v in row.items():
        key = text(k)
        rest = key[len(prefix) :] if key.startswith(prefix) else ""
        if rest.isdigit():
            out[int(rest)] = int(v)
    return out
