"""Small text helpers shared by the retriever (BM25) and the domain agents (verification)."""

from __future__ import annotations

import re
from pathlib import Path

STOPWORDS = frozenset((Path(__file__).with_name("stopwords.txt")).read_text(encoding="utf-8").split())
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")


def words(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


def stem(word: str) -> str:
    """A light suffix stripper: enough to match 'bags' with 'bag' and 'charged' with 'charge'."""
    for suffix in ("ing", "ies", "es", "s", "ed", "ly"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word
