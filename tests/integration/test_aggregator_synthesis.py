"""LLM synthesis in a real aggregator replica (real NATS, Redis and an HTTP model endpoint): the
merged answer keeps the line that names a part no domain covers, and a merge that leaves a domain
out falls back to the template, with a warning."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats as nats_py
import pytest

from contracts import DomainAnswer, DomainRoute, FinalAnswer, PlanAccepted, RouteDecision, RoutePlan, subjects
from services.aggregator.app import create_app
from services.aggregator.fanin import declined_line
from services.aggregator.settings import AggregatorSettings
from tests.helpers.servers import Server
from tests.helpers.stub_model import StubModel

pytestmark = pytest.mark.integration

ASKED = "Who painted the Mona Lisa?"
DOMAINS = ("travel", "fintech")


@pytest.fixture
async def synthesis(nats: Server, valkey: Server, domains_dir: Path) -> AsyncIterator[StubModel]:
    """An aggregator replica ``synth-test`` that merges with the stub model (a fixed reply)."""
    with StubModel(reply="Travel says yes, and Fintech says yes too.") as model:
        model.mode = "fixed"
        settings = AggregatorSettings(
            nats_url=nats.url, domains_dir=domains_dir, redis_url=valkey.url,
            synthesis=model.url, instance_id="synth-test",
        )  # fmt: skip
        app = create_app(settings)
        await app.start()
        try:
            yield model
        finally:
            await app.stop()


async def fan_in(nats_url: str, query_id: str) -> FinalAnswer:
    """Send a two-domain plan with a declined part straight to the replica, then both parts; the
    final answer as the caller gets it."""
    nc = await nats_py.connect(nats_url)
    try:
        inbox = nc.new_inbox()
        replies = await nc.subscribe(inbox, max_msgs=1)
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        plan = RoutePlan(
            query_id=query_id, conversation_id=f"c-{query_id}", deadline=deadline, reply_to=inbox, stream=False,
            text=f"Can I fly to Rome and pay by card? {ASKED}",
            routes=[DomainRoute(task_id=f"{query_id}-{d}", domain=d, sub_query="yes?", score=0.9) for d in DOMAINS],
            decision=RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0, declined=[ASKED]),
        )  # fmt: skip
        reply = await nc.request(subjects.plan_to("synth-test"), plan.model_dump_json().encode(), timeout=5)
        accepted = PlanAccepted.model_validate_json(reply.data)
        for d in DOMAINS:
            part = DomainAnswer(
                query_id=query_id, conversation_id=plan.conversation_id, deadline=deadline,
                task_id=f"{query_id}-{d}", domain=d, sub_query="yes?", status="answered", text="Yes.",
            )  # fmt: skip
            await nc.publish(accepted.partial_subject, part.model_dump_json().encode())
        return FinalAnswer.model_validate_json((await replies.next_msg(timeout=10)).data)
    finally:
        await nc.close()


async def test_llm_synthesis_keeps_the_line_on_a_declined_part(nats: Server, synthesis: StubModel) -> None:
    final = await fan_in(nats.url, "synth-q1")
    assert final.status == "partial", final
    assert final.text == f"{synthesis.reply}\n\n{declined_line(ASKED)}"
    assert synthesis.calls == 1 and not final.warnings


async def test_a_merge_that_leaves_a_domain_out_falls_back_to_the_template(
    nats: Server, synthesis: StubModel
) -> None:
    synthesis.reply = "Travel says yes."
    final = await fan_in(nats.url, "synth-q2")
    assert final.status == "partial", final
    assert final.text.endswith(declined_line(ASKED)) and "Fintech: " in final.text, final.text
    assert any(w.startswith("synthesis rejected (left out ['fintech'])") for w in final.warnings), (
        final.warnings
    )
