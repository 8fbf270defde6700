"""Aggregator handlers: plans (request/reply: on the queue group's subject, or on this replica's own
when a router picked it from its announcements), partial answers for this replica, errors; and the
replica's presence announcements."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faststream.nats import NatsRouter
from opentelemetry import trace
from pydantic import BaseModel

from contracts import (
    AggregatorPresence,
    DomainAnswer,
    ErrorEvent,
    FinalAnswer,
    MissingPart,
    PlanAccepted,
    RoutePlan,
    Turn,
    subjects,
)
from services.aggregator.fanin import FanIn, build_final, with_declined
from services.aggregator.synthesis import Synthesizer
from shared.broker import Spawner
from shared.memory import ConversationMemory, MemoryUnavailable, PendingWrite
from shared.metrics import get_metrics

log = logging.getLogger(__name__)
SERVICE = "aggregator"
CONCURRENCY = 32  # fan-ins finished at once: the work is short and mostly awaits I/O


@dataclass
class AggregatorState:
    aggregator_id: str
    titles: dict[str, str]
    memory: ConversationMemory
    fanin: FanIn | None = None
    synthesizer: Synthesizer | None = None
    publish: Callable[[BaseModel, str], Awaitable[object]] | None = None
    work: Spawner = field(default_factory=lambda: Spawner(CONCURRENCY))  # fan-ins being finished
    memory_ok: bool = True  # the last conversation write succeeded


def presence(state: AggregatorState, every_s: float, alive: bool = True) -> AggregatorPresence:
    """This replica's announcement on ``accel.v1.aggregators``."""
    return AggregatorPresence(
        aggregator_id=state.aggregator_id,
        plan_subject=subjects.plan_to(state.aggregator_id),
        partial_subject=subjects.partial(state.aggregator_id),
        alive=alive,
        every_s=every_s,
    )


def build_handlers(state: AggregatorState) -> NatsRouter:
    nats = NatsRouter()
    partial_subject = subjects.partial(state.aggregator_id)

    async def finalize(plan: RoutePlan, parts: list[DomainAnswer], missing: list[MissingPart]) -> None:
        warnings = list(plan.warnings)
        final = build_final(plan, parts, missing, state.titles, warnings, plan.created_at.timestamp())
        if state.synthesizer is not None and not missing and len(parts) > 1:
            merged, why = await state.synthesizer.merge(plan.text, parts, state.titles)
            if merged is None:
                warnings.append(why)
            else:
                merged = with_declined(merged, plan.decision.declined)
            final = final.model_copy(update={"text": merged or final.text, "warnings": warnings})
        turn = None
        if not plan.decision.rejected:
            domains = [p.domain for p in parts]
            turn = Turn(query_id=plan.query_id, question=plan.text, answer=final.text, domains=domains)
        # While Redis answers, the turn's write is sent before the reply and its acknowledgement
        # awaited after it: the caller does not wait for Redis, and a follow-up's read reaches
        # Redis after the write (see ``ConversationMemory.send_append``). While the last write
        # failed, the turn is written first, so that the reply can say it was not kept.
        pending: PendingWrite | None = None
        if turn is not None and state.memory_ok:
            try:
                pending = await state.memory.send_append(plan.tenant_id, plan.conversation_id, turn)
            except MemoryUnavailable as exc:
                final = forgotten(final, exc)
        elif turn is not None:
            final = await remember(plan, turn, final)
        with trace.get_tracer("accel.aggregator").start_as_current_span("aggregate") as span:
            span.set_attribute("accel.aggregate.parts", len(parts))
            span.set_attribute("accel.aggregate.missing", [m.domain for m in missing])
            span.set_attribute("accel.aggregate.status", final.status)
            span.set_attribute("accel.query.cost", final.cost)
            m = get_metrics()
            m.hop_duration.record(final.took_ms, {"hop": "end_to_end", "status": final.status})
            m.cost.record(final.cost, {"status": final.status})
            if plan.reply_to:  # the caller first: it is waiting
                await send(plan, final, plan.reply_to)
            if pending is not None:  # the answers event says whether the turn was kept
                try:
                    await pending.done()
                    state.memory_ok = True
                except MemoryUnavailable as exc:
                    final = forgotten(final, exc)
            await send(plan, final, subjects.ANSWERS)

    async def remember(plan: RoutePlan, turn: Turn, final: FinalAnswer) -> FinalAnswer:
        """Write the turn; the answer with a warning added when it could not be."""
        try:
            await state.memory.append(plan.tenant_id, plan.conversation_id, turn)
        except MemoryUnavailable as exc:
            return forgotten(final, exc)
        state.memory_ok = True
        return final

    def forgotten(final: FinalAnswer, exc: MemoryUnavailable) -> FinalAnswer:
        """The answer with a warning that its turn was not remembered; later turns are written
        before their reply until a write succeeds again."""
        if state.memory_ok:
            log.warning("conversation memory unavailable: %s", exc)
        state.memory_ok = False
        return final.model_copy(
            update={"warnings": [*final.warnings, f"{exc}; this turn was not remembered"]}
        )

    async def send(plan: RoutePlan, final: FinalAnswer, subject: str) -> None:
        assert state.publish is not None, "the app factory sets the publisher"
        try:
            await state.publish(final, subject)
        except Exception:
            log.exception("could not publish the answer of %s to %s", plan.query_id, subject)

    fanin = FanIn(finalize)
    state.fanin = fanin

    # Sequential subscribers: a plan is taken without awaiting anything, and a partial's fan-in
    # (the memory write, the replies) runs as a task, up to CONCURRENCY at once (see
    # ``shared.broker.Spawner``: FastStream's ``max_workers`` costs ~150 µs more a message).
    @nats.subscriber(subjects.PLAN, queue=SERVICE, title="plan")
    @nats.subscriber(subjects.plan_to(state.aggregator_id), title="plan.direct")
    async def on_plan(plan: RoutePlan) -> PlanAccepted:
        if not fanin.add(plan):
            raise ValueError(f"query_id {plan.query_id!r} is already being answered; use a new query id")
        return PlanAccepted(
            query_id=plan.query_id, aggregator_id=state.aggregator_id, partial_subject=partial_subject
        )

    @nats.subscriber(partial_subject, title="partial")
    async def on_partial(answer: DomainAnswer) -> None:
        await state.work.spawn(fanin.part(answer))

    @nats.subscriber(subjects.ERRORS, title="errors")
    async def on_error(event: ErrorEvent) -> None:
        if event.query_id and (event.query_id in fanin or event.task_id):
            await fanin.failed(event.query_id, event.task_id, f"{event.service} error: {event.detail}")

    return nats
