"""Input guard: cheap checks that reject a query before any model sees it, each with a reason code."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from contracts.messages import RejectReason

_INJECTION = re.compile(
    r"(ignore|disregard|forget)\s+(all\s+|any\s+)?(your\s+|the\s+|previous\s+|prior\s+|above\s+)*"
    r"(instructions|rules|prompts?|guidelines)"
    r"|(reveal|print|show|repeat|leak)\s+(me\s+)?(your|the)\s+(system\s+)?(prompt|instructions)"
    r"|you\s+are\s+now\s+(in\s+)?(dan|developer\s+mode|jailbroken)"
    r"|\bjailbreak\b",
    re.IGNORECASE,
)
_UNSAFE = re.compile(
    r"\b(make|build|assemble|synthesi[sz]e|cook)\b.{0,40}"
    r"\b(bomb|explosive|nerve agent|meth|ricin|pipe bomb)s?\b"
    r"|\b(kill|hurt|poison)\s+(someone|somebody|my\s+\w+|a\s+person|people)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class GuardVerdict:
    reason_code: RejectReason
    reason: str


def check(text: str, max_chars: int) -> GuardVerdict | None:
    """None when the query may be routed, else why it may not."""
    stripped = text.strip()
    if not stripped:
        return GuardVerdict("empty", "the query is empty")
    if len(text) > max_chars:
        return GuardVerdict("oversize", f"the query has {len(text)} characters; the limit is {max_chars}")
    control = sum(
        1 for ch in stripped if unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\t\r"
    )
    letters = sum(1 for ch in stripped if ch.isalpha())
    if control or letters == 0:
        return GuardVerdict("not_text", "the query is not readable text")
    if _INJECTION.search(stripped):
        return GuardVerdict("injection", "the query tries to override the assistant's instructions")
    if _UNSAFE.search(stripped):
        return GuardVerdict("unsafe", "the query asks for help with something harmful")
    return None
