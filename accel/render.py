"""Rendering a streamed answer in a terminal: the domains' deltas one task after another.

The domains of a multi-domain query stream at the same time, so their deltas arrive interleaved.
Printed as they come, one domain's sentences would land under another's name. ``StreamView``
shows the first task to stream live and holds the others' deltas until it is done, then shows
them in the order they started.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from contracts import FinalAnswer, TokenDelta

Kind = Literal["header", "text", "restart", "revision"]


@dataclass
class _Task:
    domain: str
    attempt: int
    held: list[str] = field(default_factory=list)  # deltas not shown yet
    said: list[str] = field(default_factory=list)  # this attempt's whole text so far
    done: bool = False


class StreamView:
    """Calls ``show(kind, domain, text)`` for what to print: a ``header`` when a task's text
    starts, its ``text`` pieces, ``restart`` when a task being shown was redelivered after its
    worker died (its earlier text is then void: see ``TokenDelta.attempt``), and ``revision``
    when a task being shown replaces what it streamed with a revised answer
    (``TokenDelta.revision``)."""

    def __init__(self, show: Callable[[Kind, str, str], None]) -> None:
        self.show = show
        self.order: list[str] = []  # task ids, in the order they are (to be) shown
        self.tasks: dict[str, _Task] = {}
        self.live = -1  # index in ``order`` of the task shown last

    def add(self, delta: TokenDelta) -> None:
        t = self.tasks.get(delta.task_id)
        if t is None:
            t = self.tasks[delta.task_id] = _Task(delta.domain, delta.attempt)
            self.order.append(delta.task_id)
        elif delta.attempt < t.attempt:
            return  # a late delta of an attempt that was given up
        elif delta.attempt > t.attempt:
            self._restart(delta.task_id, t, delta.attempt)
        if delta.revision:
            t.said, t.held = [], []
            if self._is_live(delta.task_id):
                self.show("revision", t.domain, "")
        t.said.append(delta.text)
        if self._is_live(delta.task_id):
            self.show("text", t.domain, delta.text)
        else:
            t.held.append(delta.text)
        t.done = t.done or delta.done
        self._advance()

    def finish(self) -> None:
        """Show what is still held (tasks that never finished streaming), in order."""
        for t in self.tasks.values():
            t.done = True
        self._advance()

    def streamed(self, task_id: str) -> str:
        """The text a task streamed in its last attempt."""
        t = self.tasks.get(task_id)
        return "".join(t.said) if t else ""

    def _is_live(self, task_id: str) -> bool:
        return 0 <= self.live < len(self.order) and self.order[self.live] == task_id

    def _restart(self, task_id: str, t: _Task, attempt: int) -> None:
        t.attempt, t.said, t.held, t.done = attempt, [], [], False
        if self._is_live(task_id):
            self.show("restart", t.domain, "")
        elif self.order.index(task_id) < self.live:  # shown and finished before: show it again later
            self.order.remove(task_id)
            self.order.append(task_id)
            self.live -= 1

    def _advance(self) -> None:
        """Move on from a finished task to the next one, showing what each held."""
        while self.live < len(self.order) - 1 and (self.live < 0 or self.tasks[self.order[self.live]].done):
            self.live += 1
            t = self.tasks[self.order[self.live]]
            self.show("header", t.domain, "")
            for text in t.held:
                self.show("text", t.domain, text)
            t.held = []


def _plain(text: str) -> str:
    return " ".join(text.split())


def streamed_everything(final: FinalAnswer, view: StreamView) -> bool:
    """Whether the stream already showed the answer: every part's text, as it is in the final
    answer (the template merge). Then only what the stream cannot show is left to print (declined
    and missing parts); not after an LLM synthesis, a failed part, or a part that did not stream."""
    if not final.parts:
        return False
    text = _plain(final.text)
    return all(
        p.status != "failed" and _plain(view.streamed(p.task_id)) == _plain(p.text) and _plain(p.text) in text
        for p in final.parts
    )
