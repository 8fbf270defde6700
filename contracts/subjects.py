"""NATS subject names, declared once. Every subject is versioned with the message schema."""

import re

PREFIX = "accel.v1"

QUERY = f"{PREFIX}.query"
"""QueryRequested, request/reply: the reply is a FinalAnswer or an ErrorEvent. Router queue group."""

PLAN = f"{PREFIX}.plan"
"""RoutePlan, request/reply from router to any aggregator replica (queue group): the reply is a
PlanAccepted naming the replica's partial subject."""

AGGREGATORS = f"{PREFIX}.aggregators"
"""AggregatorPresence events: each aggregator replica says it is up (and where to send it plans and
partial answers), or that it is leaving. Every router replica listens."""

INTAKE = f"{PREFIX}.intake"
"""QueryRequested (with reply_to), published to JetStream: durable intake. The stream's PubAck says the
query is accepted; the answer goes to reply_to and accel.v1.answers. Set the Nats-Msg-Id header to the
query id: duplicates within the window are dropped by the stream."""

INTAKE_STREAM = "ACCEL_INTAKE"
INTAKE_DUPLICATE_WINDOW_S = 120.0

TASK_STREAM = "ACCEL_TASKS"
"""JetStream work-queue stream over accel.v1.task.*: a task stays until a domain replica acks its
answer; a replica that dies mid-task gets it redelivered to another (or restarted) replica."""
TASK_MAX_AGE_S = 600.0
"""Tasks are dropped from the stream after this long (deadlines are capped at 300 s)."""

DEAD_LETTER = f"{PREFIX}.dead"
"""ErrorEvent for intake messages that kept failing, with the reason (their sender is told too)."""

ANSWERS = f"{PREFIX}.answers"
"""FinalAnswer events, for backends that listen instead of waiting on a reply."""

ERRORS = f"{PREFIX}.errors"
"""ErrorEvent: every rejected input message on any subject, with the reason."""

TASK_PATTERN = f"{PREFIX}.task.{{domain}}"
RETRIEVE_PATTERN = f"{PREFIX}.retrieve.{{domain}}"
PLAN_DIRECT_PATTERN = f"{PREFIX}.plan.{{aggregator_id}}"
PARTIAL_PATTERN = f"{PREFIX}.partial.{{aggregator_id}}"
STREAM_PATTERN = f"{PREFIX}.stream.{{query_id}}"

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
"""What may stand in a subject token: domain names, aggregator ids and query ids."""


def _token(value: str, what: str) -> str:
    if not TOKEN_RE.fullmatch(value):
        raise ValueError(f"{what} {value!r} is not a valid subject token (letters, digits, '_' or '-')")
    return value


def task(domain: str) -> str:
    """DomainTask for one domain's workers (JetStream stream ACCEL_TASKS, a durable consumer per domain)."""
    return TASK_PATTERN.format(domain=_token(domain, "domain"))


def retrieve(domain: str) -> str:
    """RetrievalRequest, request/reply to the retriever: the reply is a RetrievalResult."""
    return RETRIEVE_PATTERN.format(domain=_token(domain, "domain"))


def plan_to(aggregator_id: str) -> str:
    """RoutePlan, request/reply to one aggregator replica (the one a router picked from the
    replicas it has heard on ``accel.v1.aggregators``): the reply is a PlanAccepted."""
    return PLAN_DIRECT_PATTERN.format(aggregator_id=_token(aggregator_id, "aggregator id"))


def partial(aggregator_id: str) -> str:
    """DomainAnswer for the aggregator replica that accepted the plan."""
    return PARTIAL_PATTERN.format(aggregator_id=_token(aggregator_id, "aggregator id"))


def stream(query_id: str) -> str:
    """TokenDelta events of one query, for its caller to render as they arrive."""
    return STREAM_PATTERN.format(query_id=_token(query_id, "query id"))
