"""Versioned pydantic v2 models for every message on the bus.

Every message carries ``v`` (the schema version), ``type`` (a discriminator), a ``message_id`` and a
``created_at`` timestamp. Messages about a query also carry its ``query_id``, ``conversation_id``,
``tenant_id`` and absolute ``deadline``. Unknown fields and unknown versions are rejected, so a
producer that drifts from the contract gets an ErrorEvent instead of silent misbehaviour.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

SCHEMA_VERSION = 1

Id = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Subject-safe identifier.")]
Subject = Annotated[
    str,
    Field(pattern=r"^[^\s*>]+$", min_length=1, max_length=256, description="A concrete NATS subject."),
]
DomainName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{0,31}$", description="Configured domain name.")]

MAX_QUERY_CHARS = 32_768
"""Hard contract limit; the router rejects far smaller queries as oversize with a reason."""
# Base64 (standard alphabet): in the exported schema for other consumers; ``_packed`` checks it here
BASE64 = r"^[A-Za-z0-9+/]+={0,2}$"


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


def deadline_in(seconds: float) -> datetime:
    return utcnow() + timedelta(seconds=seconds)


class Message(BaseModel):
    """Fields every message has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    v: Literal[1] = Field(default=1, description="Schema version of this message.")
    message_id: Id = Field(default_factory=new_id)
    created_at: datetime = Field(default_factory=utcnow)


class QueryScoped(Message):
    """Fields of every message that belongs to one query."""

    query_id: Id
    conversation_id: Id
    tenant_id: Id = "default"
    deadline: datetime = Field(description="Absolute time by which the caller must have its answer.")


class QueryRequested(Message):
    """A backend asks a question (subject ``accel.v1.query``)."""

    type: Literal["query.requested"] = "query.requested"
    query_id: Id = Field(default_factory=new_id)
    conversation_id: Id = Field(
        default_factory=new_id,
        description="The conversation this query continues. Omit it to start a new one: the router "
        "makes a fresh id (the answer carries it) and reads no history.",
    )
    tenant_id: Id = "default"
    deadline: datetime = Field(default_factory=lambda: deadline_in(60.0))
    text: str = Field(max_length=MAX_QUERY_CHARS)
    stream: bool = Field(default=True, description="Publish TokenDelta events on accel.v1.stream.<query_id>.")
    reply_to: Subject | None = Field(
        default=None,
        description="Where to publish the FinalAnswer when the message was not sent as a NATS request.",
    )

    @property
    def new_conversation(self) -> bool:
        """Whether the sender gave no conversation id (this message made one): nothing to recall."""
        return "conversation_id" not in self.model_fields_set

    def wire(self) -> bytes:
        """The JSON to send: without ``conversation_id`` when this query starts a new conversation,
        so that the router sees it as new (a made-up id would look like one to read history for)."""
        return self.model_dump_json(exclude={"conversation_id"} if self.new_conversation else None).encode()


class DomainRoute(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: Id
    domain: DomainName
    sub_query: str
    score: float


RejectReason = Literal[
    "out_of_scope",
    "empty",
    "oversize",
    "not_text",
    "unsafe",
    "injection",
    "no_domains",
    "courtesy",
    "language",
]
RoutePath = Literal["fast", "llm", "context", "guard"]


class RouteDecision(BaseModel):
    """Why the router did what it did: kept in the plan, the final answer and the trace."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rejected: bool
    reason_code: RejectReason | None = None
    reason: str
    scores: dict[str, float] = Field(default_factory=dict)
    threshold: float | None = None
    path: RoutePath
    decision_ms: float
    declined: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="Parts of a query that asks several things which no configured domain covers: "
        "routed nowhere, and the answer says so.",
    )


class RoutePlan(QueryScoped):
    """The router's plan (subject ``accel.v1.plan``): which domains the aggregator must wait for."""

    type: Literal["route.plan"] = "route.plan"
    text: str
    routes: list[DomainRoute]
    decision: RouteDecision
    reply_to: Subject | None = None
    stream: bool = True
    warnings: list[str] = Field(default_factory=list)


class PlanAccepted(Message):
    """An aggregator replica took the plan; domain answers go to ``partial_subject``."""

    type: Literal["plan.accepted"] = "plan.accepted"
    query_id: Id
    aggregator_id: Id
    partial_subject: Subject


class AggregatorPresence(Message):
    """An aggregator replica announces itself on ``accel.v1.aggregators`` when it starts, every
    ``every_s`` seconds while it runs, and once more with ``alive`` false when it stops. A router that
    has heard from a replica sends it plans directly (``plan_subject``) and dispatches their domain
    tasks, with ``partial_subject`` as their reply subject, without waiting for the acceptance."""

    type: Literal["aggregator.presence"] = "aggregator.presence"
    aggregator_id: Id
    plan_subject: Subject
    partial_subject: Subject
    alive: bool = True
    every_s: float = Field(gt=0, le=3600, description="Seconds until the next announcement.")


class Turn(BaseModel):
    """One exchange of a conversation, as kept in memory."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    query_id: Id
    question: str
    answer: str
    domains: list[DomainName] = Field(default_factory=list)
    at: datetime = Field(default_factory=utcnow)


class QueryEmbedding(BaseModel):
    """A query's sentence vector, computed once (by the router) and carried so that later hops
    (grader, retriever) need not embed the same text again. A receiver uses it only when the model
    id and the digest of the exact text match what it would embed itself; otherwise it re-embeds."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model: str = Field(min_length=1, max_length=128, description="Embedding model id.")
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the UTF-8 text embedded.")
    vector: str = Field(
        min_length=4,
        max_length=21_848,
        json_schema_extra={"pattern": BASE64},
        description="The vector as little-endian float32, base64-encoded (standard alphabet).",
    )
    tokens: str | None = Field(
        default=None,
        max_length=65_536,
        json_schema_extra={"pattern": BASE64},
        description="The text's contextual token vectors (without [CLS] and [SEP], each of unit "
        "length), row after row, as little-endian float16, base64-encoded; only for short texts. "
        "The grader's coverage uses them instead of running the model on the text again.",
    )

    @field_validator("vector")
    @classmethod
    def _whole_floats(cls, v: str) -> str:
        return _packed(v, "vector", 4, "float32")

    @field_validator("tokens")
    @classmethod
    def _whole_halves(cls, v: str | None) -> str | None:
        return None if v is None else _packed(v, "tokens", 2, "float16")


def _packed(value: str, field: str, width: int, kind: str) -> str:
    """``value`` if it is base64 of a whole number of ``width``-byte numbers (what ``BASE64``
    says, checked once: strict decoding refuses any other character and misplaced padding)."""
    if not value or value.endswith("==="):
        raise ValueError(f"{field} is not valid base64: empty or over-padded")
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError as exc:  # binascii.Error, or a character outside ASCII
        raise ValueError(f"{field} is not valid base64: {exc}") from None
    if len(raw) % width:
        raise ValueError(f"{field} must decode to a whole number of {kind} values")
    return value


class DomainTask(QueryScoped):
    """One sub-query for one domain (subject ``accel.v1.task.<domain>``)."""

    type: Literal["domain.task"] = "domain.task"
    task_id: Id = Field(default_factory=new_id)
    domain: DomainName
    sub_query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    text: str = Field(description="The caller's whole query, for context.")
    reply_subject: Subject = Field(description="Where the DomainAnswer goes.")
    stream_subject: Subject | None = None
    history: list[Turn] = Field(default_factory=list)
    embedding: QueryEmbedding | None = Field(default=None, description="The router's vector of sub_query.")


class RetrievalRequest(Message):
    """Search one domain's knowledge base (subject ``accel.v1.retrieve.<domain>``)."""

    type: Literal["retrieval.request"] = "retrieval.request"
    query_id: Id | None = None
    tenant_id: Id = "default"
    domain: DomainName
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    top_k: int = Field(default=4, ge=1, le=50)
    doc_ids: list[str] | None = Field(
        default=None, max_length=1000, description="Metadata filter: search only these documents."
    )
    embedding: QueryEmbedding | None = Field(
        default=None, description="A vector of ``query`` already computed upstream (used if it matches)."
    )
    sentence_scores: bool = Field(
        default=False,
        description="Also score each passage's evidence sentences against the query (for the grader).",
    )


class SentenceScore(BaseModel):
    """One evidence sentence of a passage and its cosine similarity to the query."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str
    score: float


class Passage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    doc_id: str
    title: str
    chunk: int
    text: str
    score: float
    source: str
    sentences: list[SentenceScore] | None = Field(
        default=None,
        description="The passage's evidence sentences scored against the query (when requested).",
    )


class RetrievalResult(Message):
    type: Literal["retrieval.result"] = "retrieval.result"
    query_id: Id | None = None
    domain: DomainName
    passages: list[Passage]
    took_ms: float


class TokenDelta(Message):
    """A piece of a domain's streamed answer (subject ``accel.v1.stream.<query_id>``).

    ``seq`` counts from 0 per task; the last delta of a task has ``done`` set.
    """

    type: Literal["token.delta"] = "token.delta"
    query_id: Id
    task_id: Id
    domain: DomainName
    seq: int = Field(ge=0)
    text: str
    done: bool = False
    attempt: int = Field(
        default=1,
        ge=1,
        description="Delivery attempt of the task. A task redelivered after its worker died streams "
        "again from seq 0 with a higher attempt: drop what earlier attempts of that task streamed.",
    )
    revision: bool = Field(
        default=False,
        description="This delta starts the domain's revised answer: drop what the task streamed "
        "before it in this attempt. A domain revises when the verified sentences it streamed do not "
        "answer the question (none cites a source, or none gives the number asked for) and answers "
        "from its sources instead, or abstains.",
    )


class Citation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: int = Field(ge=1, description="The [n] the answer uses.")
    doc_id: str
    title: str
    chunk: int
    source: str
    score: float


class Usage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: int = 0
    completion_tokens: int = 0


AnswerStatus = Literal["answered", "abstained", "failed"]


class DomainAnswer(QueryScoped):
    """A domain's partial answer, to the aggregator that accepted the plan."""

    type: Literal["domain.answer"] = "domain.answer"
    task_id: Id
    domain: DomainName
    sub_query: str
    status: AnswerStatus
    text: str
    citations: list[Citation] = Field(default_factory=list)
    error: str | None = None
    reason: str | None = Field(
        default=None,
        description="Why the domain abstained: the grader's figures against its thresholds and the "
        "question's least covered words, or why the revision found nothing to quote.",
    )
    model: str | None = None
    usage: Usage = Field(default_factory=Usage)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    support: float | None = Field(
        default=None, description="Share of the model's draft claims that the verifier found supported."
    )
    revised: bool = Field(
        default=False, description="The draft failed verification; this is the extractive revision."
    )
    cost: float = Field(
        default=0.0, description="Model cost of this part, from the endpoint's configured prices."
    )
    attempt: int = Field(default=1, ge=1, description="Delivery attempt of the task that produced it.")


class MissingPart(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: DomainName
    sub_query: str
    reason: str


FinalStatus = Literal["answered", "partial", "abstained", "rejected", "timeout", "failed"]


class FinalAnswer(QueryScoped):
    """The reply to the caller (its NATS reply subject, ``reply_to``, and ``accel.v1.answers``)."""

    type: Literal["final.answer"] = "final.answer"
    status: FinalStatus
    text: str
    parts: list[DomainAnswer] = Field(default_factory=list)
    missing: list[MissingPart] = Field(default_factory=list)
    decision: RouteDecision | None = None
    took_ms: float
    warnings: list[str] = Field(default_factory=list)
    cost: float = Field(default=0.0, description="Sum of the parts' model cost.")


ErrorCode = Literal["invalid_message", "unavailable", "timeout", "internal"]


class ErrorEvent(Message):
    """Something could not be processed (subject ``accel.v1.errors``, and the reply subject if any)."""

    type: Literal["error"] = "error"
    service: str
    subject: str
    code: ErrorCode
    detail: str
    query_id: str | None = None
    task_id: str | None = None


Reply = Annotated[FinalAnswer | ErrorEvent, Field(discriminator="type")]
_REPLY = TypeAdapter(Reply)


def parse_reply(data: bytes | str) -> FinalAnswer | ErrorEvent:
    """Parse what a caller receives on its reply subject."""
    return _REPLY.validate_json(data)


ALL_MESSAGES: tuple[type[Message], ...] = (
    QueryRequested,
    RoutePlan,
    PlanAccepted,
    AggregatorPresence,
    DomainTask,
    RetrievalRequest,
    RetrievalResult,
    TokenDelta,
    DomainAnswer,
    FinalAnswer,
    ErrorEvent,
)
