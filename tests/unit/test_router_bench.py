"""The declined-parts probe of ``python -m bench router``: its data and its counting."""

from __future__ import annotations

from types import SimpleNamespace

from bench.router import DeclinedRow, declined_probe, load_declined
from contracts import DomainRoute, RouteDecision


class _Router:
    """Declines one part of every query that says "Also", routes everything to ``travel``."""

    async def decide(self, text: str, use_llm: bool = True) -> SimpleNamespace:
        declined = [text.split("Also")[-1]] if "Also" in text else []
        decision = RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0, declined=declined)
        route = DomainRoute(task_id="t", domain="travel", sub_query=text, score=0.9)
        return SimpleNamespace(decision=decision, routes=[route])


def test_the_probe_pairs_questions_with_unrelated_ones_and_has_controls() -> None:
    rows = load_declined()
    mixed = [r for r in rows if r["declined"]]
    controls = [r for r in rows if not r["declined"]]
    assert len(mixed) == 24 and len(controls) == 16
    assert {d for r in rows for d in r["domains"]} == {"ecommerce", "fintech", "media", "mobile", "travel"}


async def test_the_probe_counts_declines_and_routes() -> None:
    rows: list[DeclinedRow] = [
        {
            "id": "m1",
            "text": "Where do I check in? Also who wrote Hamlet?",
            "domains": ["travel"],
            "declined": 1,
        },
        {
            "id": "m2",
            "text": "Where is my parcel? And why is the sky blue?",
            "domains": ["ecommerce"],
            "declined": 1,
        },
        {"id": "c1", "text": "Hi! Where do I check in?", "domains": ["travel"], "declined": 0},
        {"id": "c2", "text": "Where is my parcel? Also thanks", "domains": ["ecommerce"], "declined": 0},
    ]
    probe = await declined_probe(_Router(), rows)  # type: ignore[arg-type]
    assert (probe.mixed, probe.mixed_declined, probe.mixed_right) == (2, 1, 1)
    assert (probe.controls, probe.controls_kept, probe.controls_right) == (2, 1, 1)
    assert "declined in 1/2" in probe.line() and "nothing declined 1/2" in probe.line()
