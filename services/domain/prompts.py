"""Prompt building and citation extraction for grounded answers."""

from __future__ import annotations

import re

from contracts import Citation, Passage, Turn
from shared.domains import DomainDefinition

_REF = re.compile(r"\[(\d{1,2})\]")
_MARKUP = re.compile(r"[*_`#>]+")
_TABLE_RULE = re.compile(r"\|?(\s*:?-{3,}:?\s*\|)+\s*(:?-{3,}:?)?")


def clean_passage(text: str) -> str:
    """Markdown emphasis and table rules confuse a small model: keep only the words."""
    text = _MARKUP.sub("", text)
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


def cited_refs(answer: str, n_passages: int) -> list[int]:
    refs = []
    for m in _REF.finditer(answer):
        r = int(m.group(1))
        if 1 <= r <= n_passages and r not in refs:
            refs.append(r)
    return refs


def citations(answer: str, passages: list[Passage]) -> list[Citation]:
    """The passages the answer cites; if it cites none, the passages it was given (best first)."""
    refs = cited_refs(answer, len(passages)) or list(range(1, len(passages) + 1))
    return [
        Citation(
            ref=r,
            doc_id=passages[r - 1].doc_id,
            title=passages[r - 1].title,
            chunk=passages[r - 1].chunk,
            source=passages[r - 1].source,
            score=passages[r - 1].score,
        )
        for r in refs
    ]


def abstention(domain: DomainDefinition, question: str) -> str:
    return f"The {domain.display} knowledge base does not say anything about this, so I cannot answer it."
