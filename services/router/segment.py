"""Splitting a query into candidate sub-queries: sentences, then clauses at coordinating connectors.

The router classifies every candidate; a split is kept only when the parts go to different domains,
so a single-domain query is never cut into fragments.
"""

from __future__ import annotations

import re

_SENTENCE = re.compile(r"(?<=[?!.;])\s+")
_CONNECTOR = re.compile(
    r"\s*,?\s+(?:and\s+also|and\s+then|as\s+well\s+as|also|plus|then|and|separately|btw|oh\s+and)\s+|\s+[+&]\s+|"
    r"\s*,\s+(?=\S+\s+\S+)|\s*,\s+(?=(?:what|how|can|could|is|are|do|does|where|when|which|will|should|also|plus|then)\b)",
    re.IGNORECASE,
)
_LEADING = re.compile(
    r"^(?:and|also|plus|then|but|so|as well as|separately|additionally|btw|by the way|oh and|"
    r"one more thing|another thing)\b[\s,:]*",
    re.IGNORECASE,
)
_BETWEEN = re.compile(r"\bbetween\b", re.IGNORECASE)
MIN_WORDS = 2
MAX_SEGMENTS = 4


def _clean(part: str) -> str:
    part = _LEADING.sub("", part.strip(" ,;")).strip()
    return part[:1].upper() + part[1:] if part else part


def _merge_short(parts: list[str]) -> list[str]:
    out: list[str] = []
    for p in parts:
        if (out and len(p.split()) < MIN_WORDS) or (out and len(out[-1].split()) < MIN_WORDS):
            out[-1] = f"{out[-1]} {p}"
        else:
            out.append(p)
    return out


def _clauses(sentence: str) -> list[str]:
    """The sentence cut at its connectors, except the "and" of "between A and B", which joins two
    things being compared rather than two requests."""
    out: list[str] = []
    start = scanned = pending = 0
    for m in _CONNECTOR.finditer(sentence):
        pending += len(_BETWEEN.findall(sentence, scanned, m.start()))
        scanned = m.end()
        if pending and m.group(0).strip(" ,").lower() in ("and", "&"):
            pending -= 1
            continue
        out.append(sentence[start : m.start()])
        start = m.end()
        pending = 0
    out.append(sentence[start:])
    return out


def segments(text: str) -> list[str]:
    """Candidate sub-queries, in order; ``[text]`` when there is nothing to split."""
    parts: list[str] = []
    for sentence in _SENTENCE.split(text.strip()):
        pieces = [_clean(p) for p in _clauses(sentence)]
        parts.extend(p for p in pieces if p)
    parts = _merge_short(parts)
    if len(parts) <= 1 or len(parts) > MAX_SEGMENTS:
        return [text.strip()]
    return parts
