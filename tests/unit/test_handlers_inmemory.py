"""Handlers on FastStream's in-memory broker: fast checks of wiring (the integration tier uses real NATS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faststream.nats import TestNatsBroker
from pydantic import BaseModel

from contracts import (
    DomainAnswer,
    DomainRoute,
    FinalAnswer,
    PlanAccepted,
    RouteDecision,
    RoutePlan,
    subjects,
)
from services.aggregator.fanin import declined_line
from services.aggregator.handlers import AggregatorState, build_handlers
from services.aggregator.synthesis import Synthesizer
from shared.broker import make_broker
from shared.inference import Completion
from shared.memory import MemoryUnavailable


class Written:
    """A write Redis took: its acknowledgement is there at once."""

    async def done(self) -> None:
        return None


class NoMemory:
    async def append(self, *args: object) -> None:
        return None

    async def send_append(self, *args: object) -> Written:
        return Written()


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


class FlakyMemory:
    """Records the order of events with ``log``; fails while ``down``."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.down = False

    async def append(self, *args: object) -> None:
        self.log.append("memory")
        if self.down:
            raise MemoryUnavailable("conversation memory unavailable (ConnectionError)")

    async def send_append(self, *args: object) -> FlakyMemory:
        """The write goes out; whether Redis took it shows in ``done`` (a timeout, say)."""
        self.log.append("send")
        return self

    async def done(self) -> None:
        self.log.append("ack")
        if self.down:
            raise MemoryUnavailable("conversation memory unavailable (TimeoutError)")


async def test_the_reply_does_not_wait_for_redis_unless_the_last_write_failed() -> None:
    """While Redis answers, the turn's write is sent before the caller's reply (a follow-up's read
    comes after it) and its acknowledgement awaited after the reply, before the answers event. Once
    a write fails, the next turns are written first, so that their replies say the turn was not
    remembered, until a write succeeds again."""
    events: list[str] = []
    memory = FlakyMemory(events)
    state = AggregatorState(aggregator_id="agg1", titles={}, memory=memory)  # type: ignore[arg-type]
    sent: dict[str, list[FinalAnswer]] = {"caller": [], subjects.ANSWERS: []}

    async def publish(message: BaseModel, subject: str) -> None:
        assert isinstance(message, FinalAnswer)
        events.append(subject)
        sent[subject].append(message)

    state.publish = publish
    build_handlers(state)
    assert state.fanin is not None

    async def ask(n: int) -> None:
        plan = RoutePlan(
            query_id=f"q{n}", conversation_id="c1", deadline=datetime.now(UTC) + timedelta(seconds=5),
            text="t", reply_to="caller",
            routes=[DomainRoute(task_id=f"t{n}", domain="travel", sub_query="t", score=0.9)],
            decision=RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0),
        )  # fmt: skip
        assert state.fanin is not None and state.fanin.add(plan)
        await state.fanin.part(
            DomainAnswer(
                query_id=plan.query_id,
                conversation_id="c1",
                deadline=plan.deadline,
                task_id=f"t{n}",
                domain="travel",
                sub_query="t",
                status="answered",
                text="yes",
            )
        )

    await ask(1)
    assert events == ["send", "caller", "ack", subjects.ANSWERS]
    memory.down = True
    events.clear()
    await ask(2)  # the failure is not yet known when the reply goes: only the answers event says it
    assert events == ["send", "caller", "ack", subjects.ANSWERS]
    assert sent["caller"][-1].warnings == []
    assert "not remembered" in sent[subjects.ANSWERS][-1].warnings[0]
    events.clear()
    await ask(3)  # now known: written first, and the reply says so
    assert events == ["memory", "caller", subjects.ANSWERS]
    assert "not remembered" in sent["caller"][-1].warnings[0]
    memory.down = False
    events.clear()
    await ask(4)
    await ask(5)
    assert events == ["memory", "caller", subjects.ANSWERS, "send", "caller", "ack", subjects.ANSWERS]
    assert sent["caller"][-1].warnings == [] and sent["caller"][-2].warnings == []
    await state.fanin.close()


class MergingModel:
    """A synthesis model that merges faithfully (every domain named, no number invented)."""

    async def complete(self, *args: object, **kwargs: object) -> Completion:
        return Completion(text="Travel says yes; Fintech says yes too.", prompt_tokens=1, completion_tokens=1)


async def test_llm_synthesis_keeps_what_the_answer_says_of_a_declined_part() -> None:
    state = AggregatorState(
        aggregator_id="agg1",
        titles={"travel": "Travel", "fintech": "Fintech"},
        memory=NoMemory(),  # type: ignore[arg-type]
        synthesizer=Synthesizer(MergingModel()),  # type: ignore[arg-type]
    )
    sent: list[FinalAnswer] = []

    async def publish(message: BaseModel, subject: str) -> None:
        assert isinstance(message, FinalAnswer)
        sent.append(message)

    state.publish = publish
    build_handlers(state)
    asked = "Who painted the Mona Lisa?"
    plan = RoutePlan(
        query_id="q1", conversation_id="c1", deadline=datetime.now(UTC) + timedelta(seconds=5), text="t",
        routes=[DomainRoute(task_id=f"t{i}", domain=d, sub_query="t", score=0.9)
                for i, d in enumerate(("travel", "fintech"))],
        decision=RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0, declined=[asked]),
    )  # fmt: skip
    assert state.fanin is not None and state.fanin.add(plan)
    for i, domain in enumerate(("travel", "fintech")):
        await state.fanin.part(
            DomainAnswer(
                query_id="q1",
                conversation_id="c1",
                deadline=plan.deadline,
                task_id=f"t{i}",
                domain=domain,
                sub_query="t",
                status="answered",
                text="yes",
            )
        )
    final = sent[-1]
    assert final.text == f"Travel says yes; Fintech says yes too.\n\n{declined_line(asked)}"
    assert final.status == "partial"
    await state.fanin.close()
