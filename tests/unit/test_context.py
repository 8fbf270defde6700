"""Role-aware context under a budget."""

from contracts import Turn
from shared.context import build_context, turn_tokens


def conversation() -> list[Turn]:
    return [
        Turn(
            query_id="1",
            question="What is the checked bag allowance?",
            answer="One bag of 23 kg. " * 10,
            domains=["travel"],
        ),
        Turn(
            query_id="2",
            question="How do I send money abroad?",
            answer="Use Send abroad in the app. " * 10,
            domains=["fintech"],
        ),
        Turn(
            query_id="3",
            question="And cabin bags?",
            answer="One cabin bag of 8 kg. " * 10,
            domains=["travel"],
        ),
        Turn(
            query_id="4",
            question="What does it cost?",
            answer="0.5% of the amount. " * 10,
            domains=["fintech"],
        ),
    ]


def test_domain_sees_its_own_turns_and_the_latest_one() -> None:
    ctx = build_context(conversation(), role="domain", domain="travel", budget_tokens=10_000)
    assert [t.query_id for t in ctx] == ["1", "3", "4"]  # 2 is another domain's; 4 is the latest


def test_router_sees_questions_and_domains_only() -> None:
    ctx = build_context(conversation(), role="router", budget_tokens=10_000)
    assert [t.query_id for t in ctx] == ["1", "2", "3", "4"]
    assert all(t.answer == "" and t.domains for t in ctx)


def test_budget_keeps_the_newest_turns_and_cuts_tokens() -> None:
    history = conversation()
    full = sum(turn_tokens(t) for t in history)
    for role, domain in (("router", None), ("domain", "travel"), ("domain", "fintech")):
        ctx = build_context(history, role=role, domain=domain, budget_tokens=60)  # type: ignore[arg-type]
        used = sum(turn_tokens(t) for t in ctx)
        assert used <= 60 and ctx and ctx[-1].query_id == "4"
        assert used < 0.7 * full  # at least the ~30% cut RCR-Router reports, here far more


def test_empty_history_and_zero_budget() -> None:
    assert build_context([], role="domain", domain="travel", budget_tokens=100) == []
    assert build_context(conversation(), role="router", budget_tokens=0) == []
