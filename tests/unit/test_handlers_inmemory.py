"""Handlers on FastStream's in-memory broker: fast checks of wiring (the integration tier uses real NATS)."""

from datetime import UTC, datetime, timedelta

from faststream.nats import TestNatsBroker

from contracts import DomainRoute, PlanAccepted, RouteDecision, RoutePlan, subjects
from services.aggregator.handlers import AggregatorState, build_handlers
from shared.broker import make_broker


class NoMemory:
    async def append(self, *args: object) -> None:
        return None


async def test_aggregator_accepts_a_plan_and_names_its_partial_subject() -> None:
    state = AggregatorState(aggregator_id="agg1", titles={}, memory=NoMemory())  # type: ignore[arg-type]
    broker = make_broker("nats://127.0.0.1:1", "aggregator")
    broker.include_router(build_handlers(state))
    state.publish = broker.publish
    plan = RoutePlan(
        query_id="q1",
        conversation_id="c1",
        deadline=datetime.now(UTC) + timedelta(seconds=5),
        text="t",
        routes=[DomainRoute(task_id="t0", domain="travel", sub_query="t", score=0.9)],
        decision=RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0),
    )
    async with TestNatsBroker(broker) as br:
        reply = await br.request(plan, subjects.PLAN)
        accepted = PlanAccepted.model_validate_json(reply.body)
        assert accepted.partial_subject == subjects.partial("agg1")
        assert state.fanin is not None and "q1" in state.fanin
        await state.fanin.close()
