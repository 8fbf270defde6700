"""Router handlers: QueryRequested in; RoutePlan to an aggregator, DomainTasks to the domains out."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsBroker, NatsMessage
from opentelemetry import trace

from contracts import DomainTask, ErrorEvent, PlanAccepted, QueryRequested, RoutePlan, Turn, subjects
from services.router.logic import Router
from services.router.settings import RouterSettings
from shared.memory import ConversationMemory, MemoryUnavailable
from shared.metrics import get_metrics

log = logging.getLogger(__name__)
SERVICE = "router"


@dataclass
class RouterState:
    settings: RouterSettings
    router: Router
    memory: ConversationMemory


def build_handlers(state: RouterState) -> NatsRouter:
    nats = NatsRouter()

    @nats.subscriber(subjects.QUERY, queue=SERVICE, no_reply=True, title="query")
    async def on_query(query: QueryRequested, msg: NatsMessage, broker: NatsBroker) -> None:
        reply_to = msg.reply_to or query.reply_to
        warnings: list[str] = []
        history: list[Turn] = []
        if state.settings.history_turns and query.text.strip():
            try:
                history = await state.memory.recent(
                    query.tenant_id, query.conversation_id, state.settings.history_turns
                )
            except MemoryUnavailable as exc:
                warnings.append(f"{exc}; answered without conversation history")
        outcome = await state.router.decide(query.text, history)
        decision, routes = outcome.decision, outcome.routes
        span = trace.get_current_span()
        span.set_attribute("accel.query_id", query.query_id)
        span.set_attribute("accel.route.rejected", decision.rejected)
        span.set_attribute("accel.route.path", decision.path)
        span.set_attribute("accel.route.domains", [r.domain for r in routes])
        span.set_attribute("accel.route.sub_queries", [r.sub_query for r in routes])
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
        try:
            reply = await broker.request(plan, subjects.PLAN, timeout=state.settings.plan_timeout_s)
            accepted = PlanAccepted.model_validate_json(reply.body)
        except Exception as exc:  # no aggregator took it: the caller must still hear back
            log.warning("no aggregator took plan %s: %s", query.query_id, exc)
            err = ErrorEvent(
                service=SERVICE,
                subject=subjects.QUERY,
                code="unavailable",
                detail=f"no aggregator accepted the plan ({type(exc).__name__}); try again shortly",
                query_id=query.query_id,
            )
            await broker.publish(err, subjects.ERRORS)
            if reply_to:
                await broker.publish(err, reply_to)
            return
        stream_subject = subjects.stream(query.query_id) if query.stream else None
        await asyncio.gather(
            *(
                broker.publish(
                    DomainTask(
                        query_id=query.query_id,
                        conversation_id=query.conversation_id,
                        tenant_id=query.tenant_id,
                        deadline=query.deadline,
                        task_id=route.task_id,
                        domain=route.domain,
                        sub_query=route.sub_query,
                        text=query.text,
                        reply_subject=accepted.partial_subject,
                        stream_subject=stream_subject,
                        history=history,
                    ),
                    subjects.task(route.domain),
                )
                for route in routes
            )
        )

    return nats
