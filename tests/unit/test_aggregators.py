"""The router's view of the aggregator replicas that announced themselves."""

import pytest

from contracts import AggregatorPresence, subjects
from services.router.aggregators import MAX_REPLICAS, Aggregators


def presence(agg: str, alive: bool = True, every_s: float = 2.0) -> AggregatorPresence:
    return AggregatorPresence(
        aggregator_id=agg,
        plan_subject=subjects.plan_to(agg),
        partial_subject=subjects.partial(agg),
        alive=alive,
        every_s=every_s,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_replicas_are_taken_in_turn() -> None:
    seen = Aggregators()
    assert seen.pick() is None
    seen.heard(presence("a"))
    seen.heard(presence("b"))
    seen.heard(presence("a"))  # a repeated announcement changes nothing
    picks = [p.aggregator_id for p in (seen.pick() for _ in range(4)) if p is not None]
    assert sorted(picks) == ["a", "a", "b", "b"] and picks[0] != picks[1]


def test_a_replica_is_forgotten_when_it_leaves_is_gone_or_falls_silent() -> None:
    clock = Clock()
    seen = Aggregators(clock)
    seen.heard(presence("a", every_s=2.0))
    seen.heard(presence("b", every_s=2.0))
    seen.heard(presence("c", every_s=10.0))
    seen.heard(presence("a", alive=False))
    seen.forget("b")  # e.g. no responders on its plan subject
    assert len(seen) == 1
    clock.now += 29.0
    assert seen.pick() is not None
    clock.now += 2.0  # three missed announcements
    assert seen.pick() is None and len(seen) == 0


def test_an_announcement_of_subjects_that_are_not_the_replicas_own_is_refused() -> None:
    seen = Aggregators()
    bad = presence("a").model_copy(update={"plan_subject": subjects.ANSWERS})
    with pytest.raises(ValueError, match="not its own"):
        seen.heard(bad)
    assert seen.pick() is None


def test_the_number_of_replicas_is_bounded() -> None:
    clock = Clock()
    seen = Aggregators(clock)
    for i in range(MAX_REPLICAS):
        seen.heard(presence(f"r{i}"))
    with pytest.raises(ValueError, match="more than"):
        seen.heard(presence("one-too-many"))
    clock.now += 60.0  # the others fell silent: room again
    seen.heard(presence("one-too-many"))
    assert len(seen) == 1
