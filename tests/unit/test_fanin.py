"""Fan-in: every plan ends exactly once, with the right status and the missing parts named."""

import asyncio
from datetime import UTC, datetime, timedelta

from contracts import DomainAnswer, DomainRoute, MissingPart, RouteDecision, RoutePlan
from services.aggregator.fanin import FanIn, build_final, compose_text, final_status


def plan(domains: list[str], deadline_s: float = 5.0, rejected: bool = False) -> RoutePlan:
    return RoutePlan(
        query_id="q1",
        conversation_id="c1",
        deadline=datetime.now(UTC) + timedelta(seconds=deadline_s),
        text="question",
        routes=[DomainRoute(task_id=f"t{i}", domain=d, sub_query=f"about {d}", score=0.9) for i, d in enumerate(domains)],
        decision=RouteDecision(rejected=rejected, reason="why", path="fast", decision_ms=1.0,
                               reason_code="out_of_scope" if rejected else None),
    )  # fmt: skip


def answer(p: RoutePlan, i: int, status: str = "answered") -> DomainAnswer:
    r = p.routes[i]
    return DomainAnswer(
        query_id=p.query_id, conversation_id=p.conversation_id, deadline=p.deadline, task_id=r.task_id,
        domain=r.domain, sub_query=r.sub_query, status=status, text=f"{r.domain} says yes",  # type: ignore[arg-type]
    )  # fmt: skip


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[RoutePlan, list[DomainAnswer], list[MissingPart]]] = []

    async def __call__(self, p: RoutePlan, parts: list[DomainAnswer], missing: list[MissingPart]) -> None:
        self.calls.append((p, parts, missing))


async def test_completes_when_every_part_arrives_and_only_once() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel", "fintech"])
    fan.add(p)
    await fan.part(answer(p, 1))
    assert rec.calls == []
    await fan.part(answer(p, 0))
    await fan.part(answer(p, 0))  # duplicate after completion: dropped
    assert len(rec.calls) == 1 and fan.late == 1 and fan.open == 0
    _, parts, missing = rec.calls[0]
    assert [x.domain for x in parts] == ["travel", "fintech"] and missing == []


async def test_deadline_ends_the_plan_with_missing_parts() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel", "fintech"], deadline_s=0.2)
    fan.add(p)
    await fan.part(answer(p, 0))
    await asyncio.sleep(0.4)
    assert len(rec.calls) == 1
    _, parts, missing = rec.calls[0]
    assert [x.domain for x in parts] == ["travel"]
    assert [(m.domain, m.reason) for m in missing] == [("fintech", "no answer by the deadline")]
    assert final_status(p, parts, missing) == "partial"


async def test_error_event_fails_a_part_immediately() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel"])
    fan.add(p)
    await fan.failed("q1", "t0", "domain error: boom")
    assert len(rec.calls) == 1
    assert rec.calls[0][2][0].reason == "domain error: boom"
    assert final_status(p, [], rec.calls[0][2]) == "failed"


async def test_rejected_plan_is_answered_at_once() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    fan.add(plan([], rejected=True))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert len(rec.calls) == 1


async def test_shutdown_answers_open_plans() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    fan.add(plan(["travel"]))
    await fan.close()
    assert len(rec.calls) == 1 and "shut down" in rec.calls[0][2][0].reason


def test_statuses_and_merged_text() -> None:
    p = plan(["travel", "fintech"])
    both = [answer(p, 0), answer(p, 1)]
    assert final_status(p, both, []) == "answered"
    assert final_status(p, [answer(p, 0, "abstained"), answer(p, 1, "abstained")], []) == "abstained"
    assert (
        final_status(
            p, [], [MissingPart(domain="travel", sub_query="s", reason="no answer by the deadline")] * 2
        )
        == "timeout"
    )
    text = compose_text(p, both[:1], [MissingPart(domain="fintech", sub_query="s", reason="no answer by the deadline")],
                        {"travel": "Travel", "fintech": "Fintech"})  # fmt: skip
    assert "Travel: travel says yes" in text and "Fintech: (no answer: no answer by the deadline)" in text
    final = build_final(plan([], rejected=True), [], [], {}, [], 0.0)
    assert final.status == "rejected" and final.text.startswith("Sorry")


def test_a_declined_part_makes_the_answer_partial_and_is_named_in_it() -> None:
    p = plan(["travel"])
    asked = "Who won the world cup in 2018?"
    declined = p.model_copy(update={"decision": p.decision.model_copy(update={"declined": [asked]})})
    final = build_final(declined, [answer(declined, 0)], [], {"travel": "Travel"}, [], 0.0)
    assert final.status == "partial"
    assert (
        final.text == f"travel says yes\n\nNot answered: {asked!r}: none of the configured domains covers it."
    )
    assert final.decision is not None and final.decision.declined == [asked]
    two = plan(["travel", "fintech"])
    two = two.model_copy(update={"decision": two.decision.model_copy(update={"declined": [asked]})})
    text = compose_text(two, [answer(two, 0), answer(two, 1)], [], {"travel": "Travel", "fintech": "Fintech"})
    assert text.endswith(
        f"Fintech: fintech says yes\n\nNot answered: {asked!r}: none of the configured domains covers it."
    )
    assert final_status(plan(["travel"]), [answer(p, 0)], []) == "answered"  # nothing declined


async def test_a_part_that_beats_its_plan_is_kept_and_claimed() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel", "fintech"])
    await fan.part(answer(p, 0))  # the router dispatched the tasks with the plan: one was quicker
    assert rec.calls == [] and fan.early == 1 and fan.late == 0
    fan.add(p)
    assert fan.early == 0
    await fan.part(answer(p, 1))
    assert len(rec.calls) == 1
    assert [x.domain for x in rec.calls[0][1]] == ["travel", "fintech"] and rec.calls[0][2] == []


async def test_a_plan_whose_every_part_came_first_ends_when_it_arrives() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel"])
    await fan.part(answer(p, 0))
    fan.add(p)
    for _ in range(3):
        await asyncio.sleep(0)
    assert len(rec.calls) == 1 and fan.open == 0 and rec.calls[0][2] == []


async def test_early_parts_no_plan_claims_expire_and_parts_of_ended_plans_are_late() -> None:
    rec = Recorder()
    fan = FanIn(rec, early_keep_s=0.0)
    p = plan(["travel"])
    stray = answer(p, 0).model_copy(update={"query_id": "q-never-planned"})
    await fan.part(stray)
    await fan.part(stray.model_copy(update={"query_id": "q-another"}))  # expires the first
    assert fan.early == 1 and fan.late == 1
    fan.add(p)
    await fan.part(answer(p, 0))
    await fan.part(answer(p, 0))  # its plan has ended: late, not kept
    assert len(rec.calls) == 1 and fan.late == 2 and fan.early == 1


async def test_an_early_part_of_another_task_is_not_taken_for_the_plans_own() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel"])
    await fan.part(answer(p, 0).model_copy(update={"task_id": "t-from-an-abandoned-dispatch"}))
    fan.add(p)
    assert fan.open == 1 and fan.late == 1
    await fan.close()


async def test_an_error_event_that_beats_its_plan_fails_the_part_when_the_plan_comes() -> None:
    rec = Recorder()
    fan = FanIn(rec)
    p = plan(["travel", "fintech"])
    await fan.failed("q1", "t1", "domain error: boom")
    await fan.failed("q1", None, "no task named: not kept")  # about the whole query: nothing to keep
    assert fan.early == 1
    fan.add(p)
    await fan.part(answer(p, 0))
    assert len(rec.calls) == 1
    assert [(m.domain, m.reason) for m in rec.calls[0][2]] == [("fintech", "domain error: boom")]


def test_a_courtesy_message_gets_a_courtesy_reply_naming_what_can_be_asked() -> None:
    titles = {"travel": "Travel", "fintech": "Fintech"}
    rejected = plan(["travel"])
    thanks = rejected.model_copy(
        update={
            "text": "ok thanks",
            "routes": [],
            "decision": RouteDecision(
                rejected=True, reason_code="courtesy", reason="a thanks: nothing to look up", path="fast",
                decision_ms=1.0,
            ),
        }
    )  # fmt: skip
    final = build_final(thanks, [], [], titles, [], 0.0)
    assert (
        final.status == "rejected" and final.text == "You're welcome! Ask me anything about Fintech, Travel."
    )
    bye = thanks.model_copy(update={"text": "bye!"})
    assert build_final(bye, [], [], titles, [], 0.0).text == "Goodbye!"
    asked = thanks.model_copy(update={"text": "Hi, can you help me?"})
    assert build_final(asked, [], [], titles, [], 0.0).text == (
        "Happy to help. Ask me anything about Fintech, Travel."
    )
