"""Role-aware conversation context under a token budget (the idea of RCR-Router).

Every service gets only the part of the conversation its role needs, newest first, until the
budget is spent:

- ``router``: the questions of recent turns and the domains that answered them (enough to route a
  follow-up); answers are dropped;
- ``domain``: turns this domain took part in, plus always the latest turn (the one a follow-up
  points at), with answers trimmed; other domains' turns are dropped.

Tokens are estimated at 4 characters each, the same estimate the cost metric uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from contracts import Turn

Role = Literal["router", "domain"]


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


def turn_tokens(turn: Turn) -> int:
    return tokens(turn.question) + tokens(turn.answer)


def build_context(
    history: Sequence[Turn],
    *,
    role: Role,
    budget_tokens: int,
    domain: str | None = None,
    answer_chars: int = 400,
) -> list[Turn]:
    """The turns (oldest first) a service in ``role`` should see, within ``budget_tokens``."""
    chosen: list[Turn] = []
    used = 0
    for i, turn in enumerate(reversed(history)):
        latest = i == 0
        if role == "domain" and not latest and domain not in turn.domains:
            continue
        view = turn.model_copy(update={"answer": "" if role == "router" else turn.answer[:answer_chars]})
        cost = turn_tokens(view)
        if used + cost > budget_tokens:
            break
        chosen.append(view)
        used += cost
    return list(reversed(chosen))
