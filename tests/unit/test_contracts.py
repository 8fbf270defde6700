"""Contracts: versioning, validation, subjects, and drift of the committed schema files."""

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from accel.contracts_export import drift
from contracts import ErrorEvent, FinalAnswer, QueryRequested, RouteDecision, parse_reply, subjects


def test_query_round_trips_and_defaults_ids_and_deadline() -> None:
    q = QueryRequested(text="hello")
    again = QueryRequested.model_validate_json(q.model_dump_json())
    assert again == q
    assert q.v == 1 and q.type == "query.requested"
    assert q.deadline > datetime.now(UTC)


@pytest.mark.parametrize(
    "bad",
    [
        {"text": "hi", "v": 2},  # unknown version
        {"text": "hi", "surprise": 1},  # unknown field
        {"text": 5},  # wrong type
        {"text": "hi", "query_id": "has space"},  # not subject-safe
        {"text": "x" * 40_000},  # over the hard limit
    ],
)
def test_invalid_queries_are_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        QueryRequested.model_validate(bad)


def test_a_query_without_a_conversation_id_starts_a_new_conversation_on_the_wire_too() -> None:
    new = QueryRequested(text="bags?")
    assert new.new_conversation and new.conversation_id  # an id all the same, for local use
    sent = QueryRequested.model_validate_json(new.wire())
    assert "conversation_id" not in json.loads(new.wire()) and sent.new_conversation
    assert sent.query_id == new.query_id and sent.conversation_id != new.conversation_id
    assert sent.model_copy(update={"text": "bags? (2)"}).new_conversation
    going_on = QueryRequested(text="and for business?", conversation_id="c1")
    assert not going_on.new_conversation
    again = QueryRequested.model_validate_json(going_on.wire())
    assert again.conversation_id == "c1" and not again.new_conversation


def test_parse_reply_tells_answers_from_errors() -> None:
    err = ErrorEvent(service="router", subject="s", code="invalid_message", detail="bad")
    assert isinstance(parse_reply(err.model_dump_json()), ErrorEvent)
    ans = FinalAnswer(
        query_id="q",
        conversation_id="c",
        deadline=datetime.now(UTC),
        status="rejected",
        text="no",
        took_ms=1.0,
        decision=RouteDecision(rejected=True, reason="r", path="guard", decision_ms=0.1),
    )
    assert isinstance(parse_reply(ans.model_dump_json()), FinalAnswer)


def test_subjects_are_built_from_validated_tokens() -> None:
    assert subjects.task("travel") == "accel.v1.task.travel"
    assert subjects.stream("abc-1") == "accel.v1.stream.abc-1"
    for bad in ("a.b", "*", ">", "", "a b"):
        with pytest.raises(ValueError, match="subject token"):
            subjects.task(bad)


def test_committed_schema_files_match_the_models() -> None:
    assert drift() == [], "run `accel contracts export` (make contracts) and commit the result"
