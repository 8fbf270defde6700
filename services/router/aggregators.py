"""The aggregator replicas this router has heard from on ``accel.v1.aggregators``.

A router that knows a live replica sends it the plan directly and dispatches the plan's domain tasks
at the same time, instead of waiting for a replica of the queue group to accept the plan first (a
round trip on every query's critical path). Replicas are taken in turn; one that has not announced
itself for three of its intervals, said it is leaving, or had no responder on its plan subject is
forgotten until it announces itself again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from contracts import AggregatorPresence, subjects

MAX_REPLICAS = 1024
MISSED = 3  # announcements a replica may miss before it is forgotten


class Aggregators:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._live: dict[str, tuple[float, AggregatorPresence]] = {}
        self._turn = 0

    def __len__(self) -> int:
        return len(self._live)

    def heard(self, presence: AggregatorPresence) -> None:
        """Record an announcement. Raises ValueError when its subjects are not the replica's own
        (``subjects.plan_to`` and ``subjects.partial`` of its id): plans go nowhere else."""
        agg = presence.aggregator_id
        own = (subjects.plan_to(agg), subjects.partial(agg))
        if (presence.plan_subject, presence.partial_subject) != own:
            raise ValueError(
                f"aggregator {agg!r} announced subjects that are not its own: expected "
                f"{own[0]!r} and {own[1]!r}"
            )
        if not presence.alive:
            self._live.pop(agg, None)
            return
        if agg not in self._live and len(self._live) >= MAX_REPLICAS:
            self._expire()
            if len(self._live) >= MAX_REPLICAS:
                raise ValueError(f"more than {MAX_REPLICAS} aggregator replicas announced; {agg!r} ignored")
        self._live[agg] = (self._clock() + MISSED * presence.every_s, presence)

    def forget(self, aggregator_id: str) -> None:
        self._live.pop(aggregator_id, None)

    def _expire(self) -> None:
        now = self._clock()
        for agg in [a for a, (until, _) in self._live.items() if until < now]:
            del self._live[agg]

    def pick(self) -> AggregatorPresence | None:
        """The next live replica in turn, or None when none is known."""
        self._expire()
        if not self._live:
            return None
        self._turn += 1
        replicas = list(self._live.values())
        return replicas[self._turn % len(replicas)][1]
