"""Fan-in of the partial answers of one plan, up to its deadline, into one final answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from contracts import DomainAnswer, FinalAnswer, MissingPart, RoutePlan
from contracts.messages import FinalStatus, utcnow
from shared.text import courtesy

log = logging.getLogger(__name__)

DEADLINE = "no answer by the deadline"
Finalize = Callable[[RoutePlan, list[DomainAnswer], list[MissingPart]], Awaitable[None]]


@dataclass
class Pending:
    plan: RoutePlan
    parts: dict[str, DomainAnswer] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    timer: asyncio.Task[None] | None = None

    @property
    def expected(self) -> set[str]:
        return {r.task_id for r in self.plan.routes}

    def complete(self) -> bool:
        return self.expected <= (set(self.parts) | set(self.failures))


@dataclass(frozen=True)
class EarlyFailure:
    """An error event about a task whose plan has not arrived yet."""

    query_id: str
    task_id: str
    reason: str


EARLY_KEEP_S = 10.0
"""How long a partial answer that arrived before its plan is kept for the plan to claim."""
EARLY_MAX = 10_000
ENDED_KEEP = 10_000


class FanIn:
    """Tracks open plans. Every plan ends exactly once: complete, failed, or at its deadline.

    A router that sends a plan straight to this replica dispatches the plan's tasks at the same time,
    so a fast domain's answer can arrive before the plan: such early parts are kept (up to
    ``EARLY_KEEP_S``) and claimed when the plan comes. Parts of plans that already ended are late."""

    def __init__(self, finalize: Finalize, early_keep_s: float = EARLY_KEEP_S) -> None:
        self._finalize = finalize
        self._pending: dict[str, Pending] = {}
        self._early: OrderedDict[str, list[tuple[float, DomainAnswer | EarlyFailure]]] = OrderedDict()
        self._ended: OrderedDict[str, None] = OrderedDict()
        self._early_keep_s = early_keep_s
        self.late = 0

    def __contains__(self, query_id: str) -> bool:
        return query_id in self._pending

    @property
    def open(self) -> int:
        return len(self._pending)

    def add(self, plan: RoutePlan) -> bool:
        """Track a plan; False if a plan with this query id is already open (nothing changes)."""
        if plan.query_id in self._pending:
            log.warning("duplicate plan for %s refused", plan.query_id)
            return False
        pending = Pending(plan=plan)
        self._pending[plan.query_id] = pending
        for _, early in self._early.pop(plan.query_id, []):
            if early.task_id not in pending.expected:
                self.late += 1
            elif isinstance(early, EarlyFailure):
                pending.failures.setdefault(early.task_id, early.reason)
            else:
                pending.parts[early.task_id] = early
        if not plan.routes or pending.complete():
            asyncio.get_running_loop().create_task(self._end(plan.query_id))
            return True
        delay = max(0.0, (plan.deadline - utcnow()).total_seconds())
        pending.timer = asyncio.get_running_loop().create_task(self._deadline(plan.query_id, delay))
        return True

    async def _deadline(self, query_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await self._end(query_id, timed_out=True)

    @property
    def early(self) -> int:
        """Parts waiting for their plan."""
        return sum(len(v) for v in self._early.values())

    def _keep_early(self, answer: DomainAnswer | EarlyFailure) -> None:
        now = time.monotonic()
        while self._early:  # oldest first: drop what no plan claimed in time
            query_id, parts = next(iter(self._early.items()))
            if now - parts[0][0] < self._early_keep_s and len(self._early) < EARLY_MAX:
                break
            del self._early[query_id]
            self.late += len(parts)
            log.info("part(s) of %s dropped: no plan came for them", query_id)
        self._early.setdefault(answer.query_id, []).append((now, answer))

    async def part(self, answer: DomainAnswer) -> None:
        pending = self._pending.get(answer.query_id)
        if pending is None and answer.query_id not in self._ended:
            self._keep_early(answer)
            return
        if pending is None or answer.task_id not in pending.expected:
            self.late += 1
            log.info("late or unknown part %s/%s dropped", answer.query_id, answer.task_id)
            return
        pending.parts[answer.task_id] = answer
        if pending.complete():
            await self._end(answer.query_id)

    async def failed(self, query_id: str, task_id: str | None, reason: str) -> None:
        """An error event about a task (or, without task id, the whole query) ends that part now."""
        pending = self._pending.get(query_id)
        if pending is None:
            if task_id is not None and query_id not in self._ended:  # may be a task of a plan on its way
                self._keep_early(EarlyFailure(query_id, task_id, reason))
            return
        for tid in (
            [task_id] if task_id in pending.expected else sorted(pending.expected - set(pending.parts))
        ):
            assert tid is not None
            pending.failures.setdefault(tid, reason)
        if pending.complete():
            await self._end(query_id)

    async def _end(self, query_id: str, timed_out: bool = False) -> None:
        pending = self._pending.pop(query_id, None)
        if pending is None:
            return
        self._ended[query_id] = None
        while len(self._ended) > ENDED_KEEP:
            self._ended.popitem(last=False)
        current = asyncio.current_task()
        if pending.timer is not None and pending.timer is not current:
            pending.timer.cancel()
        missing = []
        for route in pending.plan.routes:
            if route.task_id in pending.parts:
                continue
            reason = pending.failures.get(route.task_id) or (DEADLINE if timed_out else "no answer")
            missing.append(MissingPart(domain=route.domain, sub_query=route.sub_query, reason=reason))
        parts = [pending.parts[r.task_id] for r in pending.plan.routes if r.task_id in pending.parts]
        try:
            await self._finalize(pending.plan, parts, missing)
        except Exception:
            log.exception("finalizing %s failed", query_id)

    async def close(self) -> None:
        """On shutdown, answer every open plan with what it has rather than leave callers waiting."""
        for query_id in list(self._pending):
            await self.failed(query_id, None, "the aggregator shut down before the answer was complete")


def final_status(plan: RoutePlan, parts: list[DomainAnswer], missing: list[MissingPart]) -> FinalStatus:
    if plan.decision.rejected:
        return "rejected"
    answered = sum(p.status == "answered" for p in parts)
    if answered == len(plan.routes):
        return "partial" if plan.decision.declined else "answered"
    if answered:
        return "partial"
    if not parts and missing and all(m.reason == DEADLINE for m in missing):
        return "timeout"
    if parts and not missing and all(p.status == "abstained" for p in parts):
        return "abstained"
    return "failed"


def compose_text(
    plan: RoutePlan, parts: list[DomainAnswer], missing: list[MissingPart], titles: dict[str, str]
) -> str:
    """The template merge: one paragraph per domain that says which domain said what."""
    if plan.decision.rejected:
        if plan.decision.reason_code == "courtesy":
            return courtesy_reply(plan.text, titles)
        return f"Sorry, I can't help with that: {plan.decision.reason}."
    if len(plan.routes) == 1 and parts and not missing:
        part = parts[0]
        if part.status != "failed":
            return with_declined(part.text, plan.decision.declined)
        return f"The {titles.get(part.domain, part.domain)} service failed: {part.error}"
    lines = []
    for p in parts:
        title = titles.get(p.domain, p.domain)
        body = p.text if p.status != "failed" else f"(failed: {p.error})"
        lines.append(f"{title}: {body}")
    for m in missing:
        lines.append(f"{titles.get(m.domain, m.domain)}: (no answer: {m.reason})")
    return "\n\n".join([*lines, *map(declined_line, plan.decision.declined)])


_OPENERS = {
    "greeting": "Hello!",
    "thanks": "You're welcome!",
    "acknowledgement": "Glad to help.",
    "request for help": "Happy to help.",
}


def courtesy_reply(text: str, titles: dict[str, str]) -> str:
    """The reply to a greeting, thanks, goodbye or request for help with nothing to help with yet
    (see ``shared.text.courtesy``): no domain is asked, and the caller is told what can be asked."""
    kind = courtesy(text)
    if kind == "goodbye":
        return "Goodbye!"
    topics = ", ".join(sorted(titles.values()))
    return f"{_OPENERS.get(kind or 'greeting', 'Hello!')} Ask me anything about {topics}."


def declined_line(part: str) -> str:
    """What the answer says of a part of the query that no domain covers."""
    return f"Not answered: {part!r}: none of the configured domains covers it."


def with_declined(text: str, declined: list[str]) -> str:
    """An answer's text followed by what it says of each part of the query no domain covers."""
    return "\n\n".join([text, *map(declined_line, declined)])


def build_final(
    plan: RoutePlan,
    parts: list[DomainAnswer],
    missing: list[MissingPart],
    titles: dict[str, str],
    warnings: list[str],
    started: float,
) -> FinalAnswer:
    return FinalAnswer(
        query_id=plan.query_id,
        conversation_id=plan.conversation_id,
        tenant_id=plan.tenant_id,
        deadline=plan.deadline,
        status=final_status(plan, parts, missing),
        text=compose_text(plan, parts, missing, titles),
        parts=parts,
        missing=missing,
        decision=plan.decision,
        took_ms=round((time.time() - started) * 1000, 2),
        warnings=warnings,
        cost=round(sum(p.cost for p in parts), 6),
    )
