"""The load bench's hop-by-hop critical path, from the timestamps the messages carry."""

from datetime import UTC, datetime, timedelta

import pytest

from bench.load import critical_path, summary
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


def test_the_summary_checks_each_level_against_its_targets() -> None:
    path = {"to plan": 2.6, "task wait": 1.7, "domain agents": 4.3, "domain rest": 0.2, "to final": 1.0,
            "to caller": 1.0}  # fmt: skip
    one = {"backends": 1, "throughput_qps": 92.4, "e2e_p50_ms": 10.9, "e2e_p99_ms": 23.3,
           "overhead_p50_ms": 8.2, "lost": 0, "duplicated": 0, "cpu_ms_per_query_total": 12.9,
           "path_p50_ms": path}  # fmt: skip
    many = {**one, "backends": 32, "throughput_qps": 312.0, "overhead_p50_ms": 90.0, "duplicated": 1}
    lines = summary([one, many]).splitlines()
    assert lines[0].split()[:3] == ["backends", "queries/s", "e2e"]
    assert lines[1].split()[:2] == ["1", "92.4"] and "overhead <= 5 ms: MISS" in lines[1]
    assert "lost/dup 0: ok" in lines[1] and "q/s" not in lines[1].split("targets")[-1]
    assert ">= 300 q/s: ok" in lines[2] and "lost/dup 0: MISS" in lines[2] and "overhead <=" not in lines[2]
    assert lines[3].startswith("critical path") and "to plan, task wait" in lines[3]
    assert lines[4].split(":")[1].split(" / ")[0].strip() == "2.6"
    assert ">= 300 q/s" not in summary([many], stub=False)  # the target is for the fast stub only


def test_the_summary_gives_the_overhead_of_seen_and_new_questions_apart() -> None:
    one = {"backends": 1, "throughput_qps": 92.4, "overhead_p50_ms": 5.3, "repeated_questions": 0.8,
           "overhead_p50_ms_seen_before": 4.9, "overhead_p50_ms_first_seen": 11.2}  # fmt: skip
    many = {**one, "backends": 32, "repeated_questions": 1.0, "overhead_p50_ms_first_seen": float("nan")}
    lines = summary([one, many]).splitlines()
    at = lines.index(next(x for x in lines if x.startswith("overhead p50 of questions")))
    assert lines[at + 1].split() == [
        "1",
        "backends:",
        "4.9",
        "ms",
        "/",
        "11.2",
        "ms",
        "(20%",
        "first",
        "seen)",
    ]
    assert lines[at + 2].split()[2:6] == ["4.9", "ms", "/", "none"]
