"""Every Redis key Flywheel uses, in one place.

All keys start with the namespace (``FLYWHEEL_NAMESPACE``), so several deployments or test runs
share one Redis. Keys and values hold hashes, ids, vectors and counts only: never prompt text,
user ids or other personal data (the exceptions are ``recent``, a capped list of accepted
prompts that were redacted before they got there, served only with the read token,
``topics_sample``, a capped sample of the same redacted accepted texts with their vectors, from
which the topic model learns its clusters and their characteristic words, and, with the cascade
backend only, ``cascade_text``: the redacted text of each accepted prompt, which the
transformer reads when a later prompt comes close to it; and ``evalset_items``, the public
evaluation items registered with ``flywheel evalsets add``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LogKeys:
    """The keys of one family of append-only logs (services/state/log.py): ``<prefix><name>``
    is the list of one index's entries, and beside it, per name, how many entries were trimmed
    from its head (``base:``), the dedup horizon (``horizon:``) and its time marks (``marks:``)."""

    prefix: str

    def log(self, name: str) -> str:
        return self.prefix + name

    def base(self, name: str) -> str:
        return f"{self.prefix}base:{name}"

    def horizon(self, name: str) -> str:
        return f"{self.prefix}horizon:{name}"

    def marks(self, name: str) -> str:
        return f"{self.prefix}marks:{name}"


RECENT_MAX = 50  # accepted prompts kept under ``Keys.recent``
STATS_TTL_S = 60  # a worker's stats, and its place among the live workers (``Keys.workers``)


def text(raw: bytes | str) -> str:
    """A Redis key, field or small value as text (the clients answer bytes)."""
    return raw.decode() if isinstance(raw, bytes) else str(raw)


@dataclass(frozen=True)
class Keys:
    namespace: str

    def _k(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    # ingest: exact duplicates and the abuse guards
    def seen(self, prompt_id: str) -> str:
        """The input message that first claimed the prompt."""
        return self._k("seen", prompt_id)

    def event(self, digest: str) -> str:
        """The input message that first carried an event id (``digest``: its sha256)."""
        return self._k("eid", digest)

    def rate(self, user: str) -> str:
        """One user's token bucket (services/clean/guards.py)."""
        return self._k("rate", user)

    def flood(self, user: str, shape: str) -> str:
        """How often one user sent prompts of one shape within the flood window."""
        return self._k("flood", user, shape)

    @property
    def blocked_ids(self) -> str:
        """Set of prompt_ids annotators marked spam/unsafe (rejected at ingest)."""
        return self._k("blocklist", "ids")

    @property
    def preambles(self) -> str:
        """Hash: sha256 prefix of a prompt's leading text -> prompts that began with it."""
        return self._k("preambles")

    # curate: the logs the indexes are rebuilt from, the quota window, accepted prompts
    @property
    def vectors_prefix(self) -> str:
        """``<prefix><index name>`` = the vector log of one index; ``<prefix>snap:...`` snapshots."""
        return self._k("vectors", "")

    @property
    def vectors(self) -> LogKeys:
        return LogKeys(self.vectors_prefix)

    def vector_log(self, name: str) -> str:
        return self.vectors.log(name)

    @property
    def vectors_model(self) -> str:
        """The fingerprint of the model that wrote the namespace's vector logs."""
        return self._k("vectors", "model")

    def vector_snapshot(self, name: str, pos: int | None = None) -> str:
        """Without ``pos``: the position of the current snapshot of one index; with it, the
        hash of the snapshot covering log positions ``[0, pos)``."""
        key = self._k("vectors", "snap", name)
        return key if pos is None else f"{key}:{pos}"

    def minhash(self, tag: str) -> LogKeys:
        """The signature logs of one MinHash configuration (``tag``)."""
        return LogKeys(self._k("minhash", tag, ""))

    def window(self, bucket: int) -> str:
        """Hash of one quota window bucket: acceptances in total, synthetic, per cluster."""
        return self._k("window", str(bucket))

    def accepted(self, prompt_id: str) -> str:
        """Cluster and vector of an accepted prompt, for the feedback stage."""
        return self._k("acc", prompt_id)

    # the cascade backend (services/dedup/cascade.py)
    def cascade_text(self, prompt_id: str) -> str:
        """Redacted text of an accepted prompt, for the transformer to verify candidates."""
        return self._k("cascade", "text", prompt_id)

    def cascade_vector(self, model: str, prompt_id: str) -> str:
        """float16 transformer vector of an accepted prompt; ``model``: a digest of the
        transformer's fingerprint, so another model's vectors are never read."""
        return self._k("cascade", "vec", model, prompt_id)

    # coverage gaps and the synthetic balance (services/diversity/gaps.py)
    def bias(self, bucket: int) -> str:
        """Per window bucket, curate decisions per cluster and origin
        (``n:<tag>:<cluster>:<syn|real>`` decided, ``d:…`` of them duplicates)."""
        return self._k("bias", str(bucket))

    @property
    def bias_noted(self) -> str:
        """Per input partition, the highest offset whose outcome the bias buckets hold."""
        return self._k("bias", "noted")

    def examples(self, tag: str, cluster: int) -> str:
        """Capped list of the latest accepted prompt_ids of one cluster (gap examples)."""
        return self._k("examples", tag or "v1", str(cluster))

    @property
    def examples_pattern(self) -> str:
        return self._k("examples", "*")

    def crowd(self, tag: str, cluster: int, bucket: int) -> str:
        """HyperLogLog of the keyed user hashes with real prompts accepted in one cluster in
        one window bucket (services/diversity/crowd.py); it holds no recoverable hash."""
        return self._k("crowd", tag or "v1", str(cluster), str(bucket))

    @property
    def gaps_target(self) -> str:
        """The operator's target distribution over clusters (JSON); absent = uniform."""
        return self._k("gaps", "target")

    @property
    def gaps_lock(self) -> str:
        """Held for one interval by the ops server that publishes the gaps on the timer."""
        return self._k("gaps", "lock")

    @property
    def gaps_round(self) -> str:
        """Publication counter (part of each gap_id)."""
        return self._k("gaps", "round")

    @property
    def gaps_last(self) -> str:
        """The last publication: ``{"round", "at", "gaps"}`` (JSON)."""
        return self._k("gaps", "last")

    # topic clusters learned from the accepted stream (services/diversity/topics.py)
    @property
    def topics_current(self) -> str:
        """The version of the topic model every curate worker uses (swapped atomically)."""
        return self._k("topics", "current")

    def topics_model(self, version: str) -> str:
        """One topic model (npz bytes: centroids, labels, weights, model fingerprint)."""
        return self._k("topics", "model", version)

    @property
    def topics_sample(self) -> str:
        """Capped list of the latest acceptances: float16 vector + redacted text."""
        return self._k("topics", "sample")

    @property
    def topics_accepted(self) -> str:
        """Acceptances counted since the first one (when to re-train)."""
        return self._k("topics", "accepted")

    @property
    def topics_trained_at(self) -> str:
        """The ``topics_accepted`` count of the latest training."""
        return self._k("topics", "trained_at")

    @property
    def topics_lock(self) -> str:
        return self._k("topics", "lock")

    # exactly-once outputs
    def ledger(self, stage: str) -> str:
        return self._k("ledger", stage)

    # feedback
    def fb_item(self, prompt_id: str) -> str:
        """Hash of one prompt's votes: annotator -> class (``pos``/``neg``); TTL feedback_ttl_s."""
        return self._k("fb", "item", prompt_id)

    def fb_meta(self, prompt_id: str) -> str:
        """One prompt's agreement state: ``state``, extra ``rounds`` asked for, ``asked_m``
        (votes when the last round was asked), ``asked_src`` (the result that asked) and
        ``bias`` (its ``fb_bias`` field prefix); TTL feedback_ttl_s."""
        return self._k("fb", "meta", prompt_id)

    @property
    def fb_hist(self) -> str:
        """Hash ``<cluster|all>:<n_pos>:<n_neg>`` -> prompts with that tally of votes."""
        return self._k("fb", "hist")

    @property
    def fb_annotators(self) -> str:
        """Hash ``votes:<a>``, ``pairs:<a>``, ``agree:<a>`` per annotator."""
        return self._k("fb", "annotators")

    @property
    def fb_agreement(self) -> str:
        """Hash: prompts per state (``items:agreed|review|unresolved``), ``review_requests``,
        and the settings in use (``mode``, ``agree_min``, ``max_rounds``)."""
        return self._k("fb", "agreement")

    @property
    def fb_bias(self) -> str:
        """Hash ``t:<tag>:<cluster>:<syn|real>:<pos|neg>``: votes per learned topic cluster and
        origin of the prompt."""
        return self._k("fb", "bias")

    @property
    def vote_counts(self) -> str:
        return self._k("fb", "counts")

    @property
    def weights(self) -> str:
        return self._k("fb", "weights")

    @property
    def blocklisted(self) -> str:
        """Prompt_ids whose vectors are in the blocklist index already."""
        return self._k("fb", "blocked")

    # privacy: who an accepted prompt came from, and what was erased (services/state/privacy.py)
    def privacy_user(self, user: str) -> str:
        """Set of the prompt_ids accepted from one user (``user``: the keyed user hash, never the
        raw id); TTL the retention period."""
        return self._k("privacy", "user", user)

    def privacy_prompt(self, prompt_id: str) -> str:
        """``<index name>\t<user hash>\t<event hash>`` of an accepted prompt; TTL the
        retention period."""
        return self._k("privacy", "prompt", prompt_id)

    def privacy_event(self, event: str) -> str:
        """The prompt_id an event was accepted as (``event``: a hash of its event_id); TTL the
        retention period."""
        return self._k("privacy", "event", event)

    def privacy_request(self, request: str) -> str:
        """The prompts one erasure request resolved to (JSON), so a replay after a crash
        announces what the first attempt erased; TTL the retention period."""
        return self._k("privacy", "request", request)

    @property
    def erased(self) -> str:
        """Set of the prompt_ids erased (within the retention period): a reindex leaves them
        out."""
        return self._k("privacy", "erased")

    @property
    def erasures(self) -> str:
        """Log (list) of ``<index name> <prompt_id>`` erased: every worker applies its tail to
        the indexes it holds in memory."""
        return self._k("privacy", "erasures")

    # evaluation sets the contamination check matches against (services/state/evalsets.py)
    @property
    def evalsets(self) -> str:
        """Hash: set name -> its metadata (JSON: items, bytes, sha256, added_at)."""
        return self._k("evalsets")

    @property
    def evalsets_version(self) -> str:
        """Incremented by every add and remove: workers reload the sets when it changes."""
        return self._k("evalsets", "version")

    def evalset_items(self, name: str) -> str:
        """One set's items: zlib JSON ``[[item_id, text], ...]`` (public benchmark text,
        normalized and redacted)."""
        return self._k("evalsets", "items", name)

    def evalset_vectors(self, name: str) -> str:
        """Hash: model digest -> float16 vectors of one set's items."""
        return self._k("evalsets", "vec", name)

    @property
    def evalset_hits(self) -> str:
        """Hash: set name -> prompts found copying one of its items."""
        return self._k("evalsets", "hits")

    def evalset_seen(self, name: str) -> str:
        """HyperLogLog of the item ids of one set found in traffic."""
        return self._k("evalsets", "seen", name)

    # operations: worker stats, recent acceptances, operator overrides, consumer lag
    def stats(self, worker: str) -> str:
        return self._k("stats", worker)

    @property
    def workers(self) -> str:
        """Sorted set: worker id -> when it last published its stats (readers list the live
        workers from it instead of scanning the keyspace)."""
        return self._k("workers")

    @property
    def recent(self) -> str:
        """The latest accepted prompts (redacted), at most ``RECENT_MAX``, for the ops API."""
        return self._k("recent")

    @property
    def overrides(self) -> str:
        return self._k("overrides")

    def lag(self, group: str) -> str:
        """Hash ``<topic>|<partition>`` -> the lag tracker of one consumer group."""
        return self._k("lag", group)

    # webhook receivers
    def webhook_delivery(self, source: str, digest: str) -> str:
        """A delivery already published (value ``1``, TTL the signature tolerance); ``digest``
        is a hash of the delivery id, never the id or payload data."""
        return self._k("webhook", source, digest)

    @property
    def everything(self) -> str:
        """Pattern of every key of the namespace."""
        return self._k("*")
