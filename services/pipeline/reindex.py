"""``flywheel reindex``: the accepted set re-embedded into a new namespace with another model.

The accepted prompts are the records of ``prompts.annotation``, read from the beginning
(services/pipeline/accepted_records.py). Reindexing writes into the target namespace what the
curate stage would have written had the target model accepted the same prompts:

- texts the target model can read (unknown-token ratio at most ``max_unknown_token_ratio``,
  services/embed/readable.py, as ingest reads them) are embedded in batches, given their v1
  topic cluster and semantic shard from the target backend's centroids
  (services/pipeline/routing.py, as ingest routes them), and appended to the vector log
  ``<ns>:vectors:<lang>:<shard>``, which records the target model's fingerprint;
- the others get a MinHash signature of the whole text in ``<ns>:minhash:<tag>:<lang>:lex``;
- every prompt gets its ``<ns>:acc:<pid>`` key (cluster and vector, for the feedback stage) in
  the same transaction as its log entry (``RedisCurateState.commit``), and its exact-duplicate
  claim ``<ns>:seen:<pid>``, owned by the chat.events message it was accepted from (the
  ``fw-origin`` header), so a replay of that message recognises its own acceptance;
- prompts annotators blocked in the source namespace (``FLYWHEEL_NAMESPACE``) stay blocked:
  their ids are copied, and those with a vector get the target model's vector in the
  ``blocklist`` log.

With ``preamble_min_count`` set, shared preambles are stripped before embedding as ingest does,
counted in the target namespace's ``<ns>:preambles`` (over the accepted prompts only), so the
workers that take over continue from those counts.

Idempotent: the target's logs are read first (per language, every shard and the lexical log),
and a prompt already in one of them is skipped, so a second run embeds and writes nothing and a
run after more acceptances adds only those. A target whose logs were written by another model
is refused (``ModelMismatch``) before anything is written. The quota window, the learned topic
clusters and the feedback votes are not carried over: they start empty in the new namespace.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import redis.asyncio as aioredis

from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import MinHasher
from services.diversity.quota import QuotaPolicy, Window
from services.embed.clusters import TopicModel
from services.embed.fingerprint import ModelMismatch
from services.embed.preamble import redis_preambles
from services.embed.readable import Encoder, Reader
from services.keys import Keys, text
from services.pipeline.accepted_records import Accepted, AnnotationReader, parse_record
from services.pipeline.routing import Router, lexical_index, space, vector_index
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX, encode_accepted
from services.state.cascade_store import RedisCascadeStore, retention_s
from services.state.curate_state import RedisCurateState
from services.state.seen import RedisSeenStore
from services.state.vector_log import RedisVectorLog

log = logging.getLogger(__name__)

LOG_SUFFIXES = ("model",)  # keys under <ns>:vectors: that are not logs (besides the prefixed)
LOG_PREFIXES = ("snap:", "base:", "horizon:", "marks:")


@dataclass
class Plan:
    """One batch's writes: log entries per index name, ``acc`` values, exact-duplicate claims."""

    vectors: dict[str, list[tuple[str, np.ndarray, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    signatures: dict[str, list[tuple[str, np.ndarray, str]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    accepted: dict[str, bytes] = field(default_factory=dict)
    claims: list[tuple[str, str]] = field(default_factory=list)
    embedded: dict[str, np.ndarray] = field(default_factory=dict)  # pid -> vector

    def __len__(self) -> int:
        return len(self.accepted)


def plan_batch(
    records: Sequence[Accepted],
    model_texts: Sequence[str],
    spaces: Sequence[str],
    reader: Reader,
    router: Router,
    hasher: MinHasher,
) -> Plan:
    """Encode and route one batch as ingest and curate would: ``model_texts`` (what the model
    reads of each record) are embedded when the model can read them, and the vectors go to the
    log of their space's shard; the rest get signatures of their whole text in their space's
    lexical log (``spaces``: each record's, ``services.pipeline.routing.space``). Pure apart from the encoder."""
    plan = Plan()
    vectors = reader.encode(model_texts)
    routes = router.route(spaces, vectors)
    lexical = [i for i, v in enumerate(vectors) if v is None]
    for rec, vec, route in zip(records, vectors, routes, strict=True):
        if vec is not None:
            plan.vectors[route.index].append((rec.prompt_id, vec, rec.owner))
            plan.accepted[rec.prompt_id] = encode_accepted(route.cluster, vec, rec.synthetic)
            plan.embedded[rec.prompt_id] = vec
    if lexical:
        sigs = hasher.signatures([records[i].text for i in lexical])
        for i, sig in zip(lexical, sigs, strict=True):
            rec = records[i]
            plan.signatures[routes[i].index].append((rec.prompt_id, sig, rec.owner))
            plan.accepted[rec.prompt_id] = encode_accepted(None, None, rec.synthetic)
    plan.claims = [(r.prompt_id, r.owner) for r in records]
    return plan


@dataclass
class Summary:
    read: int = 0  # records read from the topic
    total: int = 0  # records the topic held when the run began
    invalid: int = 0  # records that are not annotation records
    repeated: int = 0  # a prompt_id met earlier in this run
    present: int = 0  # already in the target namespace (an earlier run)
    erased: int = 0  # erased in the source namespace: left out
    vectors: int = 0  # vector log entries written
    lexical: int = 0  # signature log entries written
    blocked: int = 0  # blocklist vectors written
    seconds: float = 0.0

    @property
    def written(self) -> int:
        return self.vectors + self.lexical

    def line(self, namespace: str, model: str) -> str:
        """The one-line summary (JSON, like the other commands' results)."""
        return json.dumps(
            {
                "namespace": namespace,
                "model": model,
                **{k: v for k, v in asdict(self).items() if k != "seconds"},
                "written": self.written,
                "seconds": round(self.seconds, 1),
            }
        )

    def progress(self) -> str:
        rate = self.read / self.seconds if self.seconds else 0.0
        return (
            f"reindex: {self.read}/{self.total} records read, {self.written} written "
            f"({self.vectors} vectors, {self.lexical} lexical), {self.present} already there, "
            f"{rate:.0f} records/s"
        )


class Reindexer:
    """Writes the accepted set into ``settings.namespace`` with ``encoder``'s vectors."""

    def __init__(
        self,
        redis: aioredis.Redis,
        settings: Settings,
        encoder: Encoder,
        topics: TopicModel,
        source_namespace: str,
    ) -> None:
        s = self.s = settings
        self.redis = redis
        self.encoder = encoder
        self.source = source_namespace
        self.keys = Keys(s.namespace)
        self.router = Router.from_settings(topics, s)
        self.hasher = MinHasher()
        self.vlog = RedisVectorLog(redis, s.namespace, encoder.dim, model=encoder.fingerprint)
        verifier = getattr(encoder, "verifier", None)  # the cascade: keep texts to verify with
        self.cascade = (
            RedisCascadeStore(redis, s.namespace, verifier.fingerprint, retention_s(s))
            if verifier is not None
            else None
        )
        self.state = RedisCurateState(redis, s, self.vlog, self.hasher, cascade=self.cascade)
        self.seen = RedisSeenStore(redis, s.namespace, s.seen_ttl_s)
        self.reader = Reader(encoder, s.max_unknown_token_ratio, redis_preambles(redis, s))
        # nothing is added to it: the quota window starts empty in the target namespace
        self.window = Window(QuotaPolicy.from_settings(s))
        self.summary = Summary()
        self._langs: set[str] = set()
        self._indexes: list[VectorIndex | LshIndex] = []
        self._done: set[str] = set()  # prompt_ids handled by this run

    async def check_target(self) -> None:
        """Raise ``ModelMismatch`` when the target's vector logs belong to another model (the
        same rule as a worker's: a log holding entries must record its model)."""
        if await self.redis.get(self.keys.vectors_model) is not None:
            await self.vlog.check_model("")
            return
        for name in await self.log_names():
            await self.vlog.check_model(name)

    async def log_names(self) -> list[str]:
        """Names of the target's vector logs that hold entries."""
        prefix = self.keys.vectors_prefix
        names = []
        async for raw in self.redis.scan_iter(match=prefix + "*", count=1000):
            key = text(raw)
            name = key[len(prefix) :]
            if name in LOG_SUFFIXES or name.startswith(LOG_PREFIXES):
                continue
            if await self.redis.type(key) in (b"list", "list") and await self.redis.llen(key):
                names.append(name)
        return sorted(names)

    async def _load_space(self, lang: str) -> None:
        """The target's indexes of a space (every shard and the lexical one), for membership."""
        if lang in self._langs:
            return
        for shard in range(self.s.curate_partitions):
            index = VectorIndex(self.encoder.dim, ann_after=None)
            await self.state.sync_vectors(vector_index(lang, shard), index)
            self._indexes.append(index)
        lindex = LshIndex.for_threshold(self.s.lexical_threshold)
        await self.state.sync_signatures(lexical_index(lang), lindex)
        self._indexes.append(lindex)
        self._langs.add(lang)

    def _present(self, pids: list[str]) -> list[bool]:
        found = [False] * len(pids)
        for index in self._indexes:
            for i, owner in enumerate(index.owners_of(pids)):
                found[i] = found[i] or owner is not None
        return found

    async def add(self, records: Sequence[Accepted]) -> Plan:
        """One batch: skip what the target holds, embed and write the rest."""
        fresh: list[Accepted] = []
        for rec in records:
            if rec.prompt_id in self._done:
                self.summary.repeated += 1
                continue
            self._done.add(rec.prompt_id)
            await self._load_space(space(rec.lang, rec.context_id, self.s))
            fresh.append(rec)
        fresh = await self._not_erased(fresh)
        present = self._present([r.prompt_id for r in fresh])
        todo = [r for r, there in zip(fresh, present, strict=True) if not there]
        self.summary.present += len(fresh) - len(todo)
        await self._carry_blocked_ids([r.prompt_id for r in fresh])
        if not todo:
            return Plan()
        texts = await self.reader.read([r.key or r.text for r in todo])
        spaces = [space(r.lang, r.context_id, self.s) for r in todo]
        plan = plan_batch(todo, texts, spaces, self.reader, self.router, self.hasher)
        await self.seen.claim(plan.claims)  # NX: a claim the target holds already stands
        # the cascade keeps the texts its transformer will read
        read: tuple[dict[str, str], dict[str, np.ndarray]] | None = None
        if self.cascade is not None:
            embedded = zip(todo, texts, strict=True)
            read = ({r.prompt_id: t for r, t in embedded if r.prompt_id in plan.embedded}, {})
        await self.state.commit(
            plan.vectors, plan.signatures, plan.accepted, self.window, cascade=read
        )
        self.summary.vectors += sum(len(v) for v in plan.vectors.values())
        self.summary.lexical += sum(len(v) for v in plan.signatures.values())
        self.summary.blocked += await self._carry_blocks(plan)
        return plan

    async def _not_erased(self, records: list[Accepted]) -> list[Accepted]:
        """Prompts erased in the source namespace stay erased (docs/privacy.md)."""
        if not records:
            return records
        hits = await self.redis.smismember(Keys(self.source).erased, [r.prompt_id for r in records])
        self.summary.erased += sum(bool(h) for h in hits)
        return [r for r, hit in zip(records, hits, strict=True) if not hit]

    async def _carry_blocked_ids(self, pids: list[str]) -> None:
        """Prompt ids blocked in the source namespace stay blocked (rejected at ingest)."""
        if not pids or self.source == self.s.namespace:
            return
        hits = await self.redis.smismember(Keys(self.source).blocked_ids, pids)
        blocked = [p for p, hit in zip(pids, hits, strict=True) if hit]
        if blocked:
            await self.redis.sadd(self.keys.blocked_ids, *blocked)

    async def _carry_blocks(self, plan: Plan) -> int:
        """Prompts whose vectors are in the source namespace's blocklist index get their new
        vectors in the target's ``blocklist`` log (once: ``<ns>:fb:blocked`` says which are
        there). Only prompts embedded by this run: a prompt blocked after it is not re-embedded."""
        pids = list(plan.embedded)
        if not pids or self.source == self.s.namespace:
            return 0
        source = Keys(self.source)
        had_vector = await self.redis.smismember(source.blocklisted, pids)
        with_vector = [p for p, hit in zip(pids, had_vector, strict=True) if hit]
        if not with_vector:
            return 0
        there = await self.redis.smismember(self.keys.blocklisted, with_vector)
        new = [p for p, hit in zip(with_vector, there, strict=True) if not hit]
        if not new:
            return 0
        entries = [(p, plan.embedded[p], "feedback") for p in new]
        await self.vlog.check_model(BLOCKLIST_INDEX)
        async with self.redis.pipeline(transaction=True) as pipe:
            self.vlog.queue_append(pipe, BLOCKLIST_INDEX, entries)
            pipe.sadd(self.keys.blocklisted, *new)
            await pipe.execute()
        return len(new)


async def reindex(
    redis: aioredis.Redis,
    settings: Settings,
    encoder: Encoder,
    topics: TopicModel,
    source_namespace: str,
    progress: Callable[[str], None] | None = None,
    progress_every_s: float = 2.0,
) -> Summary:
    """Reindex ``settings.topic_annotation`` into ``settings.namespace`` (module docstring).
    Raises ``ModelMismatch`` on a target of another model or centroids of another model."""
    if topics.dim != encoder.dim:
        raise ModelMismatch(
            f"the topic centroids {topics.version} are {topics.dim}-d, the model gives "
            f"{encoder.dim}-d vectors (FLYWHEEL_TOPICS_PATH)"
        )
    if topics.model:
        topics.check(encoder.fingerprint)
    t0 = time.monotonic()
    job = Reindexer(redis, settings, encoder, topics, source_namespace)
    await job.check_target()
    reader = AnnotationReader(settings.kafka_bootstrap, settings.topic_annotation)
    summary = job.summary
    summary.total = reader.total
    shown = t0
    try:
        for batch in reader.batches():
            records = []
            for value, headers in batch:
                if value is None:  # an erased prompt's tombstone
                    continue
                try:
                    records.append(parse_record(value, headers))
                except ValueError:
                    summary.invalid += 1
            summary.read += len(batch)
            await job.add(records)
            summary.seconds = time.monotonic() - t0
            if progress is not None and time.monotonic() - shown >= progress_every_s:
                progress(summary.progress())
                shown = time.monotonic()
    finally:
        reader.close()
    summary.seconds = time.monotonic() - t0
    if progress is not None:
        progress(summary.progress())
    return summary
