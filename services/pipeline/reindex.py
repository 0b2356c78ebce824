"""``flywheel reindex``: the accepted set re-embedded into a new namespace with another model.

The accepted prompts are the records of ``prompts.annotation`` (their text is the cleaned,
redacted text the curate stage decided on). Reindexing reads that topic from its earliest
retained offset to its end (the larger of ListOffsets and the fetch high watermark,
services/kafka/offsets.py: the dev broker lists ends too small), with a consumer of its own
(no group, nothing committed), and writes into the target namespace what the curate stage
would have written had the target model accepted the same prompts:

- texts the target model can read (unknown-token ratio at most ``max_unknown_token_ratio``)
  are embedded in batches, given their v1 topic cluster and semantic shard from the target
  backend's centroids (``TopicModel.shards``, as ingest routes them), and appended to the vector
  log ``<ns>:vectors:<lang>:<shard>``, which records the target model's fingerprint;
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np
import redis.asyncio as aioredis
from kafka import KafkaConsumer, TopicPartition
from pydantic import ValidationError

from services.contract.envelope import ORIGIN_HEADER, SRC_HEADER
from services.contract.records import AnnotationRecord
from services.dedup.index import VectorIndex
from services.dedup.lsh import LshIndex
from services.dedup.minhash import MinHasher
from services.diversity.quota import QuotaPolicy, Window
from services.embed.clusters import TopicModel
from services.embed.fingerprint import ModelMismatch
from services.embed.preamble import Preambles, RedisPreambleCounts
from services.kafka.offsets import end_offsets_sync
from services.keys import Keys
from services.settings import Settings
from services.state.accepted import BLOCKLIST_INDEX, encode_accepted
from services.state.cascade_store import RedisCascadeStore, retention_s
from services.state.curate_state import RedisCurateState
from services.state.seen import RedisSeenStore
from services.state.vector_log import RedisVectorLog

log = logging.getLogger(__name__)

UNKNOWN_OWNER = "reindex"  # owner of an entry whose record carries no coordinate header
LOG_SUFFIXES = ("model",)  # keys under <ns>:vectors: that are not logs (besides the prefixed)
LOG_PREFIXES = ("snap:", "base:", "horizon:", "marks:")


class Encoder(Protocol):
    """The target embedding model (``services.embed.embedder.Embedder``)."""

    dim: int
    fingerprint: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...

    def unknown_token_ratio(self, texts: Sequence[str]) -> list[float]: ...


@dataclass(frozen=True)
class Accepted:
    """What reindexing needs of one ``prompts.annotation`` record."""

    prompt_id: str
    text: str
    lang: str
    owner: str  # the chat.events coordinate it was accepted from
    synthetic: bool = False


def parse_record(value: bytes | None, headers: Sequence[tuple[str, bytes]] | None) -> Accepted:
    """An annotation record as ``Accepted``; raises ``ValueError`` when it is not one."""
    try:
        rec = AnnotationRecord.model_validate_json(value or b"")
    except ValidationError as exc:
        raise ValueError(f"not an annotation record ({exc.error_count()} errors)") from None
    found = dict(headers or [])
    raw = found.get(ORIGIN_HEADER) or found.get(SRC_HEADER)
    owner = raw.decode("utf-8", "replace") if raw else UNKNOWN_OWNER
    return Accepted(rec.prompt_id, rec.text, rec.lang, owner, rec.source == "synthetic")


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
    encoder: Encoder,
    topics: TopicModel,
    shard_of: np.ndarray,
    max_unknown_token_ratio: float,
    hasher: MinHasher,
) -> Plan:
    """Route and encode one batch as ingest and curate would: ``model_texts`` (the texts after
    preamble stripping) are embedded when the model can read them, and the vectors go to the
    log of ``<lang>:<shard of their v1 cluster>``; the rest get signatures of their whole text
    in ``<lang>:lex``. Pure apart from the encoder."""
    plan = Plan()
    ratios = encoder.unknown_token_ratio(model_texts)
    readable = [i for i, r in enumerate(ratios) if r <= max_unknown_token_ratio]
    lexical = [i for i, r in enumerate(ratios) if r > max_unknown_token_ratio]
    if readable:
        vecs = np.asarray(encoder.encode([model_texts[i] for i in readable]), dtype=np.float32)
        clusters = topics.assign(vecs).tolist()
        for i, vec, cluster in zip(readable, vecs, clusters, strict=True):
            rec = records[i]
            name = f"{rec.lang}:{int(shard_of[cluster])}"
            plan.vectors[name].append((rec.prompt_id, vec, rec.owner))
            plan.accepted[rec.prompt_id] = encode_accepted(int(cluster), vec, rec.synthetic)
            plan.embedded[rec.prompt_id] = vec
    if lexical:
        sigs = hasher.signatures([records[i].text for i in lexical])
        for i, sig in zip(lexical, sigs, strict=True):
            rec = records[i]
            plan.signatures[f"{rec.lang}:lex"].append((rec.prompt_id, sig, rec.owner))
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


class AnnotationReader:
    """The records of one topic from the beginning to the end it had when opened, in batches
    of ``(value, headers)`` (headers as ``(str, bytes)`` pairs)."""

    def __init__(self, bootstrap: str, topic: str, batch: int = 512, stall_s: float = 60.0) -> None:
        self.topic = topic
        self.batch = batch
        self.stall_s = stall_s
        self.consumer = KafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            group_id=None,
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        parts = self.consumer.partitions_for_topic(topic)
        if not parts:
            self.consumer.close()
            raise LookupError(f"topic {topic} does not exist (FLYWHEEL_TOPIC_ANNOTATION)")
        self.tps = [TopicPartition(topic, p) for p in sorted(parts)]
        self.ends = end_offsets_sync(self.consumer, self.tps)
        self.consumer.seek_to_beginning(*self.tps)
        self.starts = {tp: self.consumer.position(tp) for tp in self.tps}

    @property
    def total(self) -> int:
        return sum(max(self.ends[tp] - self.starts[tp], 0) for tp in self.tps)

    def batches(self) -> Iterator[list[tuple[bytes | None, list[tuple[str, bytes]]]]]:
        todo = {tp for tp in self.tps if self.consumer.position(tp) < self.ends[tp]}
        out: list[tuple[bytes | None, list[tuple[str, bytes]]]] = []
        moved = time.monotonic()
        while todo:
            polled = self.consumer.poll(timeout_ms=1000, max_records=self.batch)
            if polled:
                moved = time.monotonic()
            elif time.monotonic() - moved > self.stall_s:
                raise TimeoutError(
                    f"{self.topic}: nothing read for {self.stall_s:g} s before its end "
                    f"({', '.join(f'{tp.partition}@{self.consumer.position(tp)}' for tp in todo)})"
                )
            for tp, records in polled.items():
                for rec in records:
                    if rec.offset < self.ends[tp]:
                        out.append((rec.value, list(rec.headers or [])))
            todo = {tp for tp in todo if self.consumer.position(tp) < self.ends[tp]}
            if len(out) >= self.batch or (out and not todo):
                yield out
                out = []

    def close(self) -> None:
        self.consumer.close()


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
        self.topics = topics
        self.source = source_namespace
        self.keys = Keys(s.namespace)
        self.shard_of = topics.shards(s.curate_partitions, s.shard_slack)
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
        self.preambles = (
            Preambles(
                RedisPreambleCounts(redis, s.namespace, s.preamble_ttl_s), s.preamble_min_count
            )
            if s.preamble_min_count
            else None
        )
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
            key = raw.decode() if isinstance(raw, bytes) else str(raw)
            name = key[len(prefix) :]
            if name in LOG_SUFFIXES or name.startswith(LOG_PREFIXES):
                continue
            if await self.redis.type(key) in (b"list", "list") and await self.redis.llen(key):
                names.append(name)
        return sorted(names)

    async def _load_language(self, lang: str) -> None:
        """The target's indexes of ``lang`` (every shard and the lexical one), for membership."""
        if lang in self._langs:
            return
        for shard in range(self.s.curate_partitions):
            index = VectorIndex(self.encoder.dim, ann_after=None)
            await self.state.sync_vectors(f"{lang}:{shard}", index)
            self._indexes.append(index)
        lindex = LshIndex.for_threshold(self.s.lexical_threshold)
        await self.state.sync_signatures(f"{lang}:lex", lindex)
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
            await self._load_language(rec.lang)
            fresh.append(rec)
        present = self._present([r.prompt_id for r in fresh])
        todo = [r for r, there in zip(fresh, present, strict=True) if not there]
        self.summary.present += len(fresh) - len(todo)
        await self._carry_blocked_ids([r.prompt_id for r in fresh])
        if not todo:
            return Plan()
        texts = [r.text for r in todo]
        if self.preambles is not None:  # the model reads the question, not the boilerplate
            texts = await self.preambles.strip(texts)
        plan = plan_batch(
            todo,
            texts,
            self.encoder,
            self.topics,
            self.shard_of,
            self.s.max_unknown_token_ratio,
            self.hasher,
        )
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
