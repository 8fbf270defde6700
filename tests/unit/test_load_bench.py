"""The load bench's hop-by-hop critical path, from the timestamps the messages carry."""

from datetime import UTC, datetime, timedelta

import pytest

from bench.load import critical_path
from contracts import DomainAnswer, FinalAnswer, RouteDecision


def test_the_hops_of_one_answer_add_up_to_its_end_to_end_time() -> None:
    sent = datetime(2026, 12, 3, 12, 0, 0, tzinfo=UTC)
    at = lambda ms: sent + timedelta(milliseconds=ms)  # noqa: E731
    part = DomainAnswer(
        query_id="q1", conversation_id="c1", deadline=at(30_000), task_id="t1", domain="travel",
        sub_query="bags?", status="answered", text="23 kg.", created_at=at(20.0),
        timings_ms={"queued": 1.5, "retrieve": 3.0, "grade": 1.0, "generate": 4.0, "ttft": 2.0},
    )  # fmt: skip
    final = FinalAnswer(
        query_id="q1", conversation_id="c1", deadline=at(30_000), status="answered", text="23 kg.",
        parts=[part], decision=RouteDecision(rejected=False, reason="travel", path="fast", decision_ms=1.0),
        took_ms=19.0, created_at=at(24.0),
    )  # fmt: skip
    hops = critical_path(final, sent.timestamp(), at(27.0).timestamp())
    expected = {
        "to plan": 5.0, "task wait": 1.5, "domain agents": 8.0, "domain rest": 5.5,
        "to final": 4.0, "to caller": 3.0,
    }  # fmt: skip
    assert hops == pytest.approx(
        expected,
        abs=1e-3,  # epoch seconds in a float: about a microsecond of rounding
    )
    assert sum(hops.values()) == pytest.approx(27.0, abs=1e-3)
