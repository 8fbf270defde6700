"""Router handlers: QueryRequested in; RoutePlan to an aggregator, DomainTasks to the domains out.

When the router has heard an aggregator replica announce itself, it sends that replica the plan and
dispatches the plan's tasks at the same time; otherwise (or when that replica turns out to be gone)
it asks the aggregator queue group first and dispatches once a replica has accepted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from faststream import AckPolicy
from faststream.nats import NatsRouter, PullSub
from faststream.nats.annotations import NatsBroker, NatsMessage
from nats.errors import NoRespondersError
from opentelemetry import trace
from pydantic import ValidationError

from contracts import (
    AggregatorPresence,
    DomainTask,
    ErrorEvent,
    PlanAccepted,
    QueryRequested,
    RoutePlan,
    Turn,
    subjects,
)
from contracts.messages import new_id, utcnow
from services.router.aggregators import Aggregators
from services.router.logic import Router
from services.router.settings import RouterSettings
from shared.broker import Handling, Spawner, connection, error_event, raised, request, store
from shared.context import build_context
from shared.memory import ConversationMemory, MemoryUnavailable
from shared.metrics import get_metrics
from shared.streams import declare, intake_stream, task_stream

log = logging.getLogger(__name__)
tracer = trace.get_tracer("accel.router")
SERVICE = "router"


@dataclass
class RouterState:
    settings: RouterSettings
    router: Router
    memory: ConversationMemory
    planned: OrderedDict[str, None] = field(default_factory=OrderedDict)
    in_flight: set[str] = field(default_factory=set)  # durable-intake queries being planned now
    aggregators: Aggregators = field(default_factory=Aggregators)  # heard on accel.v1.aggregators
    work: Spawner = field(default_factory=lambda: Spawner(CONCURRENCY))  # core queries being planned
    tasks_declared: bool = False

    @staticmethod
    def key(query: QueryRequested) -> str:
        return f"{query.tenant_id}/{query.query_id}"

    def seen(self, query: QueryRequested) -> bool:
        """Whether this replica already planned the query, or is planning it now (idempotent
        redelivery, duplicate events)."""
        key = self.key(query)
        return key in self.planned or key in self.in_flight

    def remember(self, query: QueryRequested, keep: int = 100_000) -> None:
        self.planned[self.key(query)] = None
        while len(self.planned) > keep:
            self.planned.popitem(last=False)


class AggregatorUnavailable(Exception):
    """No aggregator replica accepted the plan in time."""


class PlanRefused(Exception):
    """An aggregator refused the plan (e.g. its query id is already in flight); retrying won't help."""


MAX_DELIVERIES = 5
CONCURRENCY = 32  # queries handled at once; each mostly awaits memory, the aggregator and NATS
INTAKE_BATCH = 16  # durable-intake queries one fetch takes at most (one round trip to JetStream)


def build_handlers(state: RouterState) -> NatsRouter:
    nats = NatsRouter()
    current = Handling(nats)

    async def handle(query: QueryRequested, reply_to: str | None, broker: NatsBroker) -> None:
        """Route one query and dispatch it, in a ``route`` span that carries the decision (the
        consuming span of a core query has ended by then: it only hands the query to a task);
        raises AggregatorUnavailable if no aggregator takes it."""
        with tracer.start_as_current_span("route"):
            await plan_and_dispatch(query, reply_to, broker)

    async def plan_and_dispatch(query: QueryRequested, reply_to: str | None, broker: NatsBroker) -> None:
        latest = utcnow() + timedelta(seconds=state.settings.max_deadline_s)
        if query.deadline > latest:  # bounded: every open plan holds memory until its deadline
            query = query.model_copy(update={"deadline": latest})
        warnings: list[str] = []

        async def recent() -> list[Turn]:
            if query.new_conversation or not (state.settings.history_turns and query.text.strip()):
                return []  # a new conversation has no history: no round trip to Redis
            try:
                return await state.memory.recent(
                    query.tenant_id, query.conversation_id, state.settings.history_turns
                )
            except MemoryUnavailable as exc:
                warnings.append(f"{exc}; answered without conversation history")
                return []

        t0 = time.perf_counter()  # the history is read from Redis while the fast path classifies
        history, (fast, unsure) = await asyncio.gather(recent(), state.router.fast_async(query.text))
        outcome = await state.router.settle(query.text, fast, unsure, history, t0=t0)
        decision, routes = outcome.decision, outcome.routes
        span = trace.get_current_span()
        span.set_attribute("accel.query_id", query.query_id)
        span.set_attribute("accel.route.rejected", decision.rejected)
        span.set_attribute("accel.route.path", decision.path)
        span.set_attribute("accel.route.domains", [r.domain for r in routes])
        span.set_attribute("accel.route.sub_queries", [r.sub_query for r in routes])
        if decision.declined:
            span.set_attribute("accel.route.declined", decision.declined)
        span.set_attribute("accel.route.decision_ms", decision.decision_ms)
        span.set_attribute("accel.route.scores", json.dumps(decision.scores))
        if decision.reason_code:
            span.set_attribute("accel.route.reason_code", decision.reason_code)
        m = get_metrics()
        m.hop_duration.record(decision.decision_ms, {"hop": "route", "path": decision.path})
        if decision.rejected:
            m.rejections.add(1, {"reason": decision.reason_code or "unknown"})
        for r in routes:
            m.routes.add(1, {"domain": r.domain, "path": decision.path})
        plan = RoutePlan(
            query_id=query.query_id,
            conversation_id=query.conversation_id,
            tenant_id=query.tenant_id,
            deadline=query.deadline,
            text=query.text,
            routes=routes,
            decision=decision,
            reply_to=reply_to,
            stream=query.stream,
            warnings=warnings,
        )
        stream_subject = subjects.stream(query.query_id) if query.stream else None

        def tasks(plan: RoutePlan, partial_subject: str) -> list[DomainTask]:
            return [
                DomainTask(
                    query_id=query.query_id,
                    conversation_id=query.conversation_id,
                    tenant_id=query.tenant_id,
                    deadline=query.deadline,
                    task_id=route.task_id,
                    domain=route.domain,
                    sub_query=route.sub_query,
                    text=query.text,
                    reply_subject=partial_subject,
                    stream_subject=stream_subject,
                    history=build_context(
                        history,
                        role="domain",
                        domain=route.domain,
                        budget_tokens=state.settings.context_budget_tokens,
                    ),
                    embedding=outcome.embedding(route, state.router.classifier.embedder.tokens),
                )
                for route in plan.routes
            ]

        failures: Sequence[object] = []
        target = state.aggregators.pick() if state.settings.direct_plans else None
        if target is not None:  # plan and tasks at once: the replica keeps parts that beat the plan
            # Tasks first: they go out in the same write, and the domain (the longer way) wakes first.
            *failures, offered = await asyncio.gather(
                *(dispatch(task, broker) for task in tasks(plan, target.partial_subject)),
                offer(plan, target.plan_subject, broker),
                return_exceptions=True,
            )
            if isinstance(offered, NoRespondersError):  # gone: its tasks answer to nobody
                gone = target.aggregator_id
                log.info("aggregator %s is gone; planning %s through the group", gone, query.query_id)
                state.aggregators.forget(gone)
                plan = plan.model_copy(
                    update={"routes": [r.model_copy(update={"task_id": new_id()}) for r in plan.routes]}
                )
                target = None
            elif isinstance(offered, BaseException):
                raise offered
        if target is None:
            accepted = await offer(plan, subjects.PLAN, broker)
            failures = await asyncio.gather(
                *(dispatch(task, broker) for task in tasks(plan, accepted.partial_subject))
            )
        for failure in failures:  # after the plan is held, so that its part fails at once
            if isinstance(failure, ErrorEvent):
                await broker.publish(failure, subjects.ERRORS)
        state.remember(query)

    async def offer(plan: RoutePlan, subject: str, broker: NatsBroker) -> PlanAccepted:
        """Hand the plan to an aggregator. Raises NoRespondersError when ``subject`` is one
        replica's own and nobody serves it, AggregatorUnavailable when no replica took the plan in
        time, PlanRefused when one refused it."""
        try:
            reply = await request(broker, plan, subject, state.settings.plan_timeout_s)
        except NoRespondersError:
            if subject != subjects.PLAN:
                raise
            raise AggregatorUnavailable("no aggregator replica is running (no responders)") from None
        except Exception as exc:
            raise AggregatorUnavailable(f"no aggregator accepted the plan ({type(exc).__name__})") from exc
        try:
            return PlanAccepted.model_validate_json(reply)
        except ValidationError:
            try:
                refusal = ErrorEvent.model_validate_json(reply)
            except ValidationError:
                raise AggregatorUnavailable(
                    "an aggregator answered the plan with something unreadable"
                ) from None
            raise PlanRefused(refusal.detail) from None

    async def dispatch(task: DomainTask, broker: NatsBroker) -> ErrorEvent | None:
        """Store one task in the durable task stream (deduplicated by task id). If it cannot be
        stored, the error event to publish (its part of the plan then fails at once with the reason
        instead of waiting for the deadline)."""
        subject = subjects.task(task.domain)
        try:
            if not state.tasks_declared:
                await declare(connection(broker).jetstream(), task_stream())
                state.tasks_declared = True
            timeout = state.settings.plan_timeout_s
            await store(broker, task, subject, subjects.TASK_STREAM, task.task_id, timeout)
        except Exception as exc:
            log.warning("task %s for %s not queued: %s", task.task_id, task.domain, exc)
            return ErrorEvent(
                service=SERVICE, subject=subject, code="unavailable",
                detail=f"the {task.domain} task could not be queued ({type(exc).__name__}: {exc})",
                query_id=task.query_id, task_id=task.task_id,
            )  # fmt: skip
        return None

    async def tell(broker: NatsBroker, event: ErrorEvent, reply_to: str | None, *extra: str) -> None:
        for subject in (subjects.ERRORS, *extra, *([reply_to] if reply_to else [])):
            await broker.publish(event, subject)

    @nats.subscriber(subjects.AGGREGATORS, no_reply=True, title="aggregators")
    async def on_presence(presence: AggregatorPresence) -> None:
        """Every router replica hears every aggregator's announcements (no queue group)."""
        state.aggregators.heard(presence)

    async def answer(query: QueryRequested, reply_to: str | None, broker: NatsBroker) -> None:
        """Plan one core-subject query; whatever goes wrong, the caller hears back."""
        try:
            await handle(query, reply_to, broker)
        except AggregatorUnavailable as exc:  # the caller must still hear back
            log.warning("query %s: %s", query.query_id, exc)
            event = ErrorEvent(
                service=SERVICE, subject=subjects.QUERY, code="unavailable",
                detail=f"{exc}; try again shortly", query_id=query.query_id,
            )  # fmt: skip
            await tell(broker, event, reply_to)
        except PlanRefused as exc:
            event = ErrorEvent(
                service=SERVICE, subject=subjects.QUERY, code="invalid_message", detail=str(exc),
                query_id=query.query_id,
            )  # fmt: skip
            await tell(broker, event, reply_to)
        except Exception as exc:  # what the error middleware says for a handler that raised
            log.exception("query %s failed", query.query_id)
            event = error_event(SERVICE, subjects.QUERY, "internal", raised(exc), query_id=query.query_id)
            await tell(broker, event, reply_to)

    @nats.subscriber(subjects.QUERY, queue=SERVICE, no_reply=True, title="query")
    async def on_query(query: QueryRequested) -> None:
        """Sequential subscriber; up to CONCURRENCY queries are planned at once as tasks (see
        ``shared.broker.Spawner``: FastStream's ``max_workers`` costs ~150 µs more a message)."""
        reply_to = current.message.reply_to or query.reply_to
        await state.work.spawn(answer(query, reply_to, current.broker))

    async def plan_intake(query: QueryRequested, msg: NatsMessage, broker: NatsBroker, key: str) -> None:
        """Plan one durable-intake query, then ack it; when no aggregator takes it, nack it for a
        later delivery, and after MAX_DELIVERIES dead-letter it and tell its sender."""
        reply_to = query.reply_to
        try:
            await handle(query, reply_to, broker)
        except PlanRefused as exc:
            event = ErrorEvent(
                service=SERVICE, subject=subjects.INTAKE, code="invalid_message", detail=str(exc),
                query_id=query.query_id,
            )  # fmt: skip
            await tell(broker, event, reply_to)
        except AggregatorUnavailable as exc:
            delivered = msg.raw_message.metadata.num_delivered
            if delivered < MAX_DELIVERIES:
                with contextlib.suppress(Exception):  # NATS gone: redelivered after the ack wait
                    await msg.nack(delay=min(2.0**delivered * 0.25, 5.0))
                return
            event = ErrorEvent(
                service=SERVICE, subject=subjects.INTAKE, code="unavailable",
                detail=f"{exc}, after {delivered} deliveries; moved to {subjects.DEAD_LETTER}",
                query_id=query.query_id,
            )  # fmt: skip
            await tell(broker, event, reply_to, subjects.DEAD_LETTER)
        except Exception as exc:  # what the error middleware says for a handler that raised
            log.exception("query %s failed", query.query_id)
            event = error_event(SERVICE, subjects.INTAKE, "internal", raised(exc), query_id=query.query_id)
            await tell(broker, event, reply_to)
        finally:
            state.in_flight.discard(key)
        with contextlib.suppress(Exception):  # NATS gone: redelivered, and planned once (``seen``)
            await msg.ack()

    # Sequential pull subscriber, acks by hand (as the domains' task subscriber): a fetch takes up
    # to INTAKE_BATCH queries at once, each is planned as a Spawner task and acked once planned.
    # A malformed query is acked by the error middleware, which answers it.
    @nats.subscriber(
        subjects.INTAKE,
        stream=intake_stream(),
        durable=SERVICE,  # one pull consumer shared by every replica: each query goes to one of them
        pull_sub=PullSub(batch_size=INTAKE_BATCH, timeout=1.0),
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        title="intake",
    )
    async def on_intake(query: QueryRequested) -> None:
        """Durable intake (JetStream): acked once planned, redelivered on failure, dead-lettered
        after MAX_DELIVERIES; a duplicate (same id) is planned once. Up to CONCURRENCY queries are
        planned at once, together with those of the core subject."""
        msg, broker = current.message, current.broker
        if not query.reply_to:
            raise ValueError("reply_to: a query sent to the durable intake needs a reply_to subject")
        if state.seen(query):  # planned, or being planned by another task: acked, not answered twice
            await msg.ack()
            return
        key = state.key(query)
        state.in_flight.add(key)
        await state.work.spawn(plan_intake(query, msg, broker, key))

    return nats
