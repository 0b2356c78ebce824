"""The public contract: the records on Flywheel's topics, as pydantic models.

JSON Schemas in ``docs/schemas/`` are generated from these models (``flywheel schemas``);
docs/contract.md explains them. Change policy: adding an optional field is a minor change;
renaming, removing or retyping a field bumps ``SCHEMA_VERSION``'s major number.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictStr,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from services.contract.conversation import (
    MAX_MESSAGES,
    MAX_TOOLS,
    ChatMessage,
    Tool,
    shape_errors,
)

SCHEMA_VERSION = "1.5"


class Reason(StrEnum):
    """Why a prompt was rejected. Documented in docs/contract.md."""

    EMPTY = "empty"  # nothing left after normalization
    TOO_SHORT = "too_short"  # fewer than FLYWHEEL_MIN_CHARS characters or MIN_TOKENS tokens
    TOO_LONG = "too_long"  # more than FLYWHEEL_MAX_CHARS characters or MAX_TOKENS tokens
    LOW_INFORMATION = "low_information"  # greetings and tests: "hi", "test", "1", "你好"
    URL_ONLY = "url_only"  # nothing but links
    EMOJI_ONLY = "emoji_only"  # no letters or digits, emoji
    SPECIAL_CHARACTERS = "special_characters"  # mostly symbols
    REPETITIVE = "repetitive"  # one character or word repeated
    GIBBERISH = "gibberish"  # keyboard mashing
    LOW_QUALITY = "low_quality"  # generic code of a custom filter
    LANGUAGE = "language"  # language not allowed, or detected with too low a score
    BLOCKLISTED = "blocklisted"  # matches a blocklist pattern or a blocked prompt_id
    RATE_LIMITED = "rate_limited"  # the user exceeded the per-user token bucket
    USER_FLOOD = "user_flood"  # the user sent too many near-identical prompts
    DUPLICATE_EVENT = "duplicate_event"  # another message already carried this event_id
    EXACT_DUPLICATE = "exact_duplicate"  # same normalized text seen before
    NEAR_DUPLICATE = "near_duplicate"  # cosine to an accepted prompt >= threshold
    QUOTA = "quota"  # the prompt's topic cluster holds its share of the recent accepted window
    MIX = "mix"  # synthetic prompts hold their share of the recent accepted window
    MIX_CLUSTER = "mix_cluster"  # synthetic prompts hold their share of the prompt's cluster
    NEEDS_CONTEXT = "needs_context"  # a follow-up that came without the turns it depends on
    CONTAMINATED = "contaminated"  # copies an item of a registered evaluation set (1.5)


class ChatEvent(BaseModel):
    """One message on ``chat.events``. Unknown fields are ignored (forward compatible)."""

    model_config = ConfigDict(extra="ignore")

    event_id: StrictStr = Field(
        min_length=1,
        max_length=256,
        description="the event's identity: unique per event; a second message with the same "
        "event_id (within FLYWHEEL_SEEN_TTL_S) is rejected as duplicate_event",
    )
    prompt: StrictStr | None = Field(
        None,
        description="the user's prompt, raw; optional when messages carries the turn (1.5)",
    )
    messages: list[ChatMessage] | None = Field(
        None,
        max_length=MAX_MESSAGES,
        description="the conversation in the OpenAI chat format (1.5): the last user message "
        "is the turn curated, the system messages and tools its context, the turns before it "
        "its history, a trailing assistant message the answer it got",
    )
    tools: list[Tool] | None = Field(
        None, max_length=MAX_TOOLS, description="tool (function) definitions offered (1.5)"
    )
    user_id: StrictStr | None = None
    session_id: StrictStr | None = None
    ts: Annotated[
        datetime | None,
        WithJsonSchema(  # the model takes both forms; the published schema says so
            {
                "anyOf": [
                    {"type": "string", "format": "date-time"},
                    {"type": "number", "description": "epoch milliseconds"},
                    {"type": "null"},
                ]
            }
        ),
    ] = Field(None, description="RFC 3339 string or epoch milliseconds")
    source: Literal["real", "synthetic"] = "real"
    channel: StrictStr | None = None
    lang: StrictStr | None = Field(None, description="language hint from the product")
    response: StrictStr | None = Field(
        None, description="the answer the product gave (cleaned like the prompt; 1.5 keeps it)"
    )
    feedback: Any = None
    meta: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _a_turn(self) -> ChatEvent:
        if self.prompt is None and self.messages is None:
            raise ValueError("prompt or messages is required")
        if self.messages is not None:
            problem = shape_errors(self.messages, self.prompt is not None)
            if problem:
                raise ValueError(problem)
        return self

    @field_validator("ts", mode="before")
    @classmethod
    def _epoch_millis(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("ts must be RFC 3339 or epoch milliseconds")
        if isinstance(value, int | float):
            try:
                return datetime.fromtimestamp(value / 1000, tz=UTC)
            except (OverflowError, OSError, ValueError) as exc:  # found by fuzzing
                raise ValueError("ts out of range") from exc
        return value


class RecordMessage(BaseModel):
    """One message of an accepted prompt's conversation: cleaned and redacted."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str


class Nearest(BaseModel):
    prompt_id: str
    similarity: float


class Scores(BaseModel):
    model_config = ConfigDict(extra="allow")

    novelty: float | None = Field(
        description="1 - max cosine to the accepted set (1.0 when it is empty); null when the "
        "semantic check was skipped (see semantic_check)"
    )
    quality: float | None = Field(
        None, description="heuristic quality in [0, 1] (docs/scoring.md); orders candidates"
    )
    difficulty: float | None = Field(
        None, description="heuristic difficulty in [0, 1] (docs/scoring.md); orders candidates"
    )


class AnnotationRecord(BaseModel):
    """One accepted prompt on ``prompts.annotation``; Kafka key = ``prompt_id``."""

    prompt_id: str = Field(description="stable id of the normalized text (sha256, 32 hex)")
    event_id: str
    text: str = Field(description="the cleaned prompt")
    lang: str
    source: Literal["real", "synthetic"]
    user: str | None = Field(description="keyed hash of user_id, never the raw id")
    scores: Scores
    nearest: Nearest | None
    pii: list[str] = Field(
        default_factory=list,
        description="kinds of personal data redacted from text, sorted: EMAIL, PHONE, "
        "CREDIT_CARD, IP, IBAN, CN_ID, SSN, PASSPORT, TAX_ID, NATIONAL_ID, DATE_OF_BIRTH, PERSON, "
        "ADDRESS, AWS_KEY, GITHUB_TOKEN, API_KEY, JWT, PRIVATE_KEY, URL_CREDENTIALS; each value "
        "is {{KIND}} in text",
    )
    semantic_check: Literal["faiss", "minhash", "skipped_unknown_tokens"] = Field(
        "faiss",
        description="faiss: embedding near-duplicate check; minhash: lexical check for texts "
        "the model cannot read (mostly [UNK] tokens); skipped_unknown_tokens: neither ran",
    )
    cluster: int | None = Field(
        None,
        description="topic cluster: nearest centroid of the topic model named by topics_version "
        "(learned from the accepted stream, or the cold-start set in services/embed/data); "
        "null for texts without an embedding",
    )
    topics_version: str | None = Field(
        None,
        description="the topic model the cluster belongs to (learned-<digest> once the clusters "
        "are learned from the product's own accepted prompts); added in 1.3",
    )
    context_id: str | None = Field(
        None,
        description="the conversation context the prompt was curated in: a hash of its system "
        "messages and tool definitions, or of a learned shared preamble; near duplicates are "
        "judged within it (1.5)",
    )
    messages: list[RecordMessage] | None = Field(
        None,
        description="for events sent as messages: the conversation up to and including the "
        "prompt (system messages, the latest FLYWHEEL_HISTORY_TURNS earlier turns, the turn "
        "itself, which is text), cleaned and redacted (1.5)",
    )
    tools: list[dict[str, Any]] | None = Field(
        None, description="the tool definitions the conversation offered (1.5)"
    )
    follows: bool = Field(
        False,
        description="the prompt is a follow-up: it depends on the earlier turns in messages (1.5)",
    )
    response: str | None = Field(
        None, description="the answer the product gave, cleaned and redacted (1.5)"
    )
    accepted_at: datetime
    schema_version: str = SCHEMA_VERSION


class ContaminatedBy(BaseModel):
    """The evaluation-set item a ``contaminated`` prompt copies (docs/decontamination.md)."""

    evalset: str = Field(description="the set's name (flywheel evalsets add NAME FILE)")
    item_id: str = Field(description="the item's id in its file (an id field, else its row)")
    method: Literal["ngram", "embedding"] = Field(
        description="ngram: the prompt covers this share of the item's words in shared word "
        "n-grams; embedding: the cosine of the two vectors"
    )
    score: float = Field(description="the coverage (ngram) or cosine (embedding), 0 to 1")


class RejectionRecord(BaseModel):
    """One rejected event on ``prompts.rejected``; Kafka key = ``event_id``. Never holds the text."""

    event_id: str
    reason: Reason
    duplicate_of: str | None = Field(None, description="prompt_id, for duplicates")
    similarity: float | None = Field(None, description="cosine, for near duplicates")
    contaminated_by: ContaminatedBy | None = Field(
        None, description="for contaminated: the evaluation item it copies, never its text (1.5)"
    )
    lang: str | None = None
    ts: datetime = Field(description="when the decision was made")
    schema_version: str = SCHEMA_VERSION


class CurateItem(BaseModel):
    """Internal record on the ingest -> curate topic (not part of the public contract)."""

    event_id: str
    prompt_id: str
    text: str
    lang: str
    source: Literal["real", "synthetic"]
    user: str | None
    pii: list[str] = Field(default_factory=list)
    vector: str | None = Field(description="base64 float32 unit vector; None = skip semantic check")
    verify_text: str | None = Field(
        None,
        description="cascade backend: what the transformer reads when it is not ``text`` (the "
        "text the static vector was computed from, a shared preamble stripped)",
    )
    cluster: int | None = Field(None, description="topic cluster (None without a vector)")
    shard: int | None = Field(None, description="curate shard = partition (None: lexical path)")
    quality: float | None = None
    difficulty: float | None = None
    src: str = Field(description="topic/partition/offset of the input message (replay identity)")
    in_ts_ms: int | None = Field(None, description="timestamp of the input message, for latency")
    context_id: str | None = Field(None, description="the conversation context (see the record)")
    space: str | None = Field(
        None, description="the index family it is judged in (routing.space); None = lang"
    )
    messages: list[RecordMessage] | None = None
    tools: str | None = Field(None, description="the tool definitions, canonical JSON")
    follows: bool = False
    response: str | None = None


class AnnotationResult(BaseModel):
    """One annotator decision on ``annotations.results``; Kafka key = ``prompt_id``.

    Produced by the webhook receiver from Label Studio / Argilla payloads (or by any tool that
    writes this record); consumed by the feedback agent.
    """

    model_config = ConfigDict(extra="ignore")

    prompt_id: StrictStr = Field(min_length=1, max_length=128)
    label: StrictStr = Field(
        min_length=1,
        max_length=64,
        description="the annotator's verdict, lower case: accept, reject, spam, unsafe, ...",
    )
    score: float | None = Field(None, description="optional rating, tool-specific scale")
    annotator: StrictStr | None = Field(None, description="annotator id in the tool")
    ts: datetime = Field(description="when the annotation was made")
    meta: dict[str, Any] = Field(
        default_factory=dict, description="free form: tool, project, task id, raw choice"
    )
    schema_version: str = SCHEMA_VERSION


class GapRecord(BaseModel):
    """A topic cluster the accepted window holds less of than its target share, on
    ``flywheel.gaps``; Kafka key = ``<topics_version>:<cluster>``.

    Published by the ops server on a timer and on demand (services/diversity/gaps.py) for a
    synthetic-prompt generator to fill; ``clients/gaps`` turns one into a generation request.
    """

    gap_id: str = Field(description="unique per publication: <topics_version>:<cluster>:<round>")
    cluster: int = Field(description="cluster number in the topic model ``topics_version``")
    topics_version: str = Field(description="the topic model the cluster belongs to")
    words: list[str] = Field(description="the cluster's characteristic words (its label)")
    examples: list[str] = Field(description="prompt_ids of a few accepted prompts in the cluster")
    withheld: bool = Field(
        False,
        description="the cluster had fewer distinct users in the window than FLYWHEEL_MIN_CROWD: "
        "words and examples are left empty, as they would describe those few people (1.5)",
    )
    target_share: float = Field(description="the cluster's target share of the accepted window")
    share: float = Field(description="its share of the accepted window now")
    deficit: int = Field(description="accepted prompts the cluster lacks to reach its target")
    real: int = Field(description="real prompts of the cluster in the window")
    synthetic: int = Field(description="synthetic prompts of the cluster in the window")
    synthetic_room: int = Field(
        description="synthetic prompts the per-cluster mix rule still admits in the cluster"
    )
    window_total: int = Field(description="accepted prompts in the window, all clusters")
    ts: datetime = Field(description="when the gap was measured")
    schema_version: str = SCHEMA_VERSION


class ReviewRequest(BaseModel):
    """An accepted prompt whose annotators disagree, sent back for one more round, on
    ``prompts.review``; Kafka key = ``prompt_id``. The annotation tool already holds the
    prompt (it was exported from ``prompts.annotation``): the request asks it for one more
    annotator (``clients/label_studio_rounds.py`` does it for Label Studio)."""

    prompt_id: str
    round: int = Field(description="the round requested: 2 = the first extra round")
    reason: Literal["annotators_disagree"] = "annotators_disagree"
    votes: dict[str, str] = Field(description="annotator -> class (pos / neg) so far")
    cluster: int | None = Field(None, description="the prompt's topic cluster, if it has one")
    ts: datetime = Field(description="when the request was made")
    schema_version: str = SCHEMA_VERSION


class ErasureRequest(BaseModel):
    """One request on ``privacy.erasure``: forget a user, an event or a prompt (docs/privacy.md).
    ``flywheel forget`` writes them; so may any system that handles data-subject requests."""

    model_config = ConfigDict(extra="ignore")

    request_id: StrictStr | None = Field(
        None, max_length=256, description="the caller's reference (kept only as a hash)"
    )
    user_id: StrictStr | None = Field(
        None, max_length=4096, description="the raw user id, as on chat events (hashed at once)"
    )
    user: StrictStr | None = Field(
        None, max_length=64, description="or the keyed user hash, as accepted records carry it"
    )
    event_id: StrictStr | None = Field(None, max_length=256)
    prompt_id: StrictStr | None = Field(None, pattern="^[0-9a-f]{32}$")
    requested_at: datetime | None = Field(None, description="when the subject asked")

    @model_validator(mode="after")
    def _names_something(self) -> ErasureRequest:
        if not (self.user_id or self.user or self.event_id or self.prompt_id):
            raise ValueError("one of user_id, user, event_id or prompt_id is required")
        return self


class ErasedRecord(BaseModel):
    """One erased prompt on ``prompts.erased``; Kafka key = ``prompt_id``. The same key gets a
    tombstone (null value) on ``prompts.annotation``: downstream stores delete the prompt."""

    prompt_id: str
    reason: Literal["user", "event", "prompt"] = Field(
        description="what the request named: the prompt's user, its event, or the prompt itself"
    )
    requested_at: datetime
    done_at: datetime
    schema_version: str = SCHEMA_VERSION


class AuditRecord(BaseModel):
    """One erasure request done, on ``privacy.audit``: hashes and counts, never an id or text."""

    request: str = Field(description="sha256 of the request's reference or input coordinate")
    user: str | None = Field(None, description="the keyed user hash the request named")
    event: str | None = Field(None, description="the hash of the event id the request named")
    prompt_id: str | None = None
    erased: list[str] = Field(description="prompt_ids erased")
    removed: dict[str, int] = Field(description="what was removed, by store")
    requested_at: datetime
    done_at: datetime
    schema_version: str = SCHEMA_VERSION


def now_utc() -> datetime:
    return datetime.now(tz=UTC)


PUBLIC_MODELS: dict[str, type[BaseModel]] = {
    "chat_event": ChatEvent,
    "annotation_record": AnnotationRecord,
    "rejection_record": RejectionRecord,
    "annotation_result": AnnotationResult,
    "gap_record": GapRecord,
    "review_request": ReviewRequest,
    "erasure_request": ErasureRequest,
    "erased_record": ErasedRecord,
    "audit_record": AuditRecord,
}
