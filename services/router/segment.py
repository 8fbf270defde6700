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
    r"one more thing|another thing|meanwhile)\b[\s,:]*",
    re.IGNORECASE,
)
_BETWEEN = re.compile(r"\bbetween\b", re.IGNORECASE)
MIN_WORDS = 2
MAX_SEGMENTS = 4
SENTENCE, COMMA = ".", ","
# What joins a clause to the one before without starting another request: a sentence boundary, a
# bare comma, or a word that carries the same thought on ("so", "but").
_CONTINUING = {"", SENTENCE, COMMA, "so", "but"}
_QUESTION = re.compile(
    r"^(?:what|what's|whats|how|why|who|whom|whose|where|when|which|is|are|was|were|am|do|does|did|"
    r"can|could|will|would|should|shall|may|might|must|have|has|had|isn't|aren't|don't|doesn't|"
    r"didn't|can't|won't|wouldn't|shouldn't|any|please)\b",
    re.IGNORECASE,
)
# A statement about the asker or their circle: a first- or third-person subject, or a possessive.
_STATEMENT = re.compile(
    r"^(?:i|i'm|im|i've|ive|i'd|i'll|we|we're|we've|we'd|my|our|he|she|they|he's|she's|they're|his|her|"
    r"their|it|it's|there's|someone|somebody)\b",
    re.IGNORECASE,
)
# ... unless it asks for something ("I need a hotel", "we'd like a refund"): a request is not context.
_REQUEST = re.compile(
    r"^(?:(?:i|we)(?:\s+(?:really|just|also|still|now))?\s*(?:'d|\s+would)\s+(?:like|love|prefer)|"
    r"(?:i|we)(?:\s+(?:really|just|also|still|now))?\s+(?:need|want|wanna|wish)|"
    r"(?:i'm|im|we're|i\s+am|we\s+are)\s+looking\s+for)\b|"
    r"^(?:need|want|wanna)\b",
    re.IGNORECASE,
)


def _strength(join: str) -> int:
    """How much a join says: none < a bare comma < a sentence boundary < a word that carries the
    thought on ("so", "but") < a connector ("and", "also", "separately"…)."""
    order = ("", COMMA, SENTENCE, "so", "but")
    return min(order.index(join), 3) if join in order else 4


def _clean(part: str) -> tuple[str, str]:
    """The part without its leading connector word, capitalised, and that word ('' if none)."""
    part = part.strip(" ,;")
    m = _LEADING.match(part)
    lead = " ".join(m.group(0).strip(" ,:").lower().split()) if m else ""
    part = part[m.end() :].strip() if m else part
    return (part[:1].upper() + part[1:] if part else part), lead


def _merge_short(parts: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for p, lead in parts:
        if (out and len(p.split()) < MIN_WORDS) or (out and len(out[-1][0].split()) < MIN_WORDS):
            out[-1] = (f"{out[-1][0]} {p}", out[-1][1])
        else:
            out.append((p, lead))
    return out


def _clauses(sentence: str) -> list[tuple[str, str]]:
    """The sentence cut at its connectors, each clause with the connector before it (lowercased;
    ',' for a bare comma, '' for the first), except the "and" of "between A and B", which joins two
    things being compared rather than two requests, and a capitalised "Plus" inside the sentence,
    which names a plan or a product ("how much is the Plus mobile plan?")."""
    out: list[tuple[str, str]] = []
    start = scanned = pending = 0
    lead = ""
    for m in _CONNECTOR.finditer(sentence):
        pending += len(_BETWEEN.findall(sentence, scanned, m.start()))
        scanned = m.end()
        word = " ".join(m.group(0).strip(" ,").lower().split())
        if pending and word in ("and", "&"):
            pending -= 1
            continue
        if word == "plus" and "Plus" in m.group(0):
            continue  # a name inside a sentence: "the Plus plan", "Disney Plus"
        out.append((sentence[start : m.start()], lead))
        start = m.end()
        lead = word or COMMA
        pending = 0
    out.append((sentence[start:], lead))
    return out


def cut(text: str) -> list[tuple[str, str]]:
    """Candidate sub-queries, in order, each with what joined it to the one before: the connector
    word ('and', 'also', 'separately'…), ',' for a bare comma, '.' for a sentence boundary, '' for
    the first. ``[(text, '')]`` when there is nothing to split."""
    parts: list[tuple[str, str]] = []
    for s, sentence in enumerate(_SENTENCE.split(text.strip())):
        carried = SENTENCE if s else ""
        for clause, lead in _clauses(sentence):
            piece, word = _clean(clause)
            # what joins a piece: its own leading word ("Separately, …"), else the stronger of the
            # connector before it and what an empty piece before it carried over
            carried = max(carried, lead, word, key=_strength)
            if piece:
                parts.append((piece, carried))
                carried = ""
    parts = _merge_short(parts)
    if len(parts) <= 1 or len(parts) > MAX_SEGMENTS:
        return [(text.strip(), "")]
    return [(p, lead if i else "") for i, (p, lead) in enumerate(parts)]


def segments(text: str) -> list[str]:
    """Candidate sub-queries, in order; ``[text]`` when there is nothing to split."""
    return [p for p, _ in cut(text)]


def is_question(part: str) -> bool:
    """Whether a part is a question: it ends in "?" or begins as one ("who won the world cup in
    2018"), not a request ("please explain step by step") or a report."""
    part = part.strip()
    return part.endswith("?") or (bool(_QUESTION.match(part)) and not part.lower().startswith("please"))


def asks_something(part: str) -> bool:
    """Whether a part asks something by itself: a question or a request, not a report or a bare
    fragment ("Downloads limit reached")."""
    part = part.strip()
    return part.endswith("?") or bool(_QUESTION.match(part) or _REQUEST.match(part))


def _statement(part: str) -> bool:
    return bool(_STATEMENT.match(part)) and not _QUESTION.match(part) and not _REQUEST.match(part)


def context(parts: list[str], leads: list[str]) -> list[bool]:
    """Which parts (with ``leads``, as ``cut`` gives them) are background to the part after them
    rather than requests of their own: "I'm a freelance lawyer and bill 120k a year. Should I make
    quarterly tax payments?".

    A statement is a part that starts with a personal subject or a possessive ("I'm…", "my dad's…",
    "there's…") and is neither a question nor a request ("I need…", "we'd like…"); a clause that
    goes on after one with "and" and no subject of its own ("…and bill 120k a year") is one too.
    A statement is background when the part after it follows with nothing that starts another
    request (a sentence boundary, a bare comma, "so", "but") and is not a statement with a subject
    of its own (two such side by side are two reports: "My subscription went up, my phone bill went
    up"), or when the clause that goes on from it is background. After "also", "separately" or
    "and <question>" comes a request of its own ("My flight got cancelled. Also, how do I cancel my
    streaming plan?"), so the statement before it is not background.
    """
    n = len(parts)
    own = [_statement(p) for p in parts]
    statement, elliptic = own[:], [False] * n
    for i in range(1, n):
        p = parts[i]
        if not own[i] and leads[i] == "and" and statement[i - 1]:
            elliptic[i] = statement[i] = not _QUESTION.match(p) and not _REQUEST.match(p)
    out = [False] * n
    for i in range(n - 2, -1, -1):
        if statement[i]:
            nxt = i + 1
            out[i] = out[nxt] if elliptic[nxt] else leads[nxt] in _CONTINUING and not own[nxt]
    return out
