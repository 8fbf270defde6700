"""``AccelClient.stream`` on a real nats-server: every delta the server delivered before the final
answer is yielded before it, even when they come in a burst right before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import nats as nats_py
import pytest
from nats.aio.msg import Msg

from accel.client import AccelClient
from contracts import FinalAnswer, QueryRequested, RouteDecision, TokenDelta, subjects
from tests.helpers.servers import Server

pytestmark = pytest.mark.integration
BURST = 300


async def test_deltas_sent_before_the_answer_all_come_before_it(
    nats: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(subjects, "QUERY", "test.stream.burst")  # not the pipeline's routers
    backend = await nats_py.connect(nats.url)  # stands in for the domains and the aggregator

    async def answer(msg: Msg) -> None:
        query = QueryRequested.model_validate_json(msg.data)
        for seq in range(BURST):
            delta = TokenDelta(
                query_id=query.query_id, task_id="t1", domain="travel", seq=seq, text=f"{seq} "
            )
            await backend.publish(subjects.stream(query.query_id), delta.model_dump_json().encode())
        final = FinalAnswer(
            query_id=query.query_id, conversation_id="c", deadline=datetime.now(UTC) + timedelta(seconds=5),
            status="answered", text="done", took_ms=1.0,
            decision=RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0),
        )  # fmt: skip
        await msg.respond(final.model_dump_json().encode())

    await backend.subscribe(subjects.QUERY, cb=answer)
    await backend.flush()
    try:
        async with await AccelClient.connect(nats.url) as client:
            events = [e async for e in client.stream("hello", timeout_s=10)]
        assert isinstance(events[-1], FinalAnswer)
        assert [e.seq for e in events[:-1] if isinstance(e, TokenDelta)] == list(range(BURST))
    finally:
        await backend.close()
