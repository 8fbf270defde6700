"""Prompt building and citation extraction for grounded answers."""

from __future__ import annotations

import re
from functools import lru_cache

from contracts import Passage, Turn
from shared.domains import DomainDefinition
from shared.text import unmark

_TABLE_RULE = re.compile(r"\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?)?")


@lru_cache(maxsize=4096)  # passages recur across questions; four regex passes cost ~50 µs a passage
def clean_passage(text: str) -> str:
    """Markdown emphasis and table rules confuse a small model: keep only the words (and what a code
    span holds: "dial *#06#")."""
    text = unmark(text)
    text = _TABLE_RULE.sub(" ", text)
    text = re.sub(r"\s*\|\s*", " | ", text)
    return re.sub(r"\s+", " ", text).strip(" |")


def build_messages(
    domain: DomainDefinition, question: str, passages: list[Passage], history: list[Turn] | None = None
) -> list[dict[str, str]]:
    """Passages go into the system message (small instruction models follow that best), numbered."""
    context = "\n".join(f"[{i}] {clean_passage(p.text)}" for i, p in enumerate(passages, start=1))
    messages = [
        {"role": "system", "content": f"{domain.generation.system_prompt.strip()}\n\nPassages:\n{context}"}
    ]
    for turn in (history or [])[-2:]:
        messages.append({"role": "user", "content": turn.question})
        messages.append({"role": "assistant", "content": turn.answer[:400]})
    messages.append({"role": "user", "content": question})
    return messages


def abstention(domain: DomainDefinition, question: str) -> str:
    return f"The {domain.display} knowledge base does not say anything about this, so I cannot answer it."
