"""The domain's agents: rewrite, search, grade, answer, verify (and revise once, or abstain).

Each agent is a small unit with one job. The model may be tiny (SmolLM2-135M here), so grounding
does not depend on the model behaving. The grader decides whether the knowledge base answers the
question at all. The verifier checks each sentence of the model's answer against the passages
*before* it is streamed, and drops what it cannot support. When nothing survives, the answer is
revised once, extractively, from the best evidence sentences, or the domain abstains.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from itertools import chain
from typing import NamedTuple

import numpy as np

from contracts import Passage, QueryEmbedding, RetrievalRequest, RetrievalResult, Turn
from services.domain.coverage import Coverage, TermWeights, TokenVectors, measure
from shared.embeddings import Embedder, VectorLRU
from shared.text import (
    NAME,
    asked_span,
    evidence_sentences,
    followed,
    heading_list,
    headings,
    is_row,
    plain,
    references,
    row_key,
    section_headings,
    section_of,
    stem,
    stopword,
    subheadings,
    without_list_marker,
    words,
)

Search = Callable[[RetrievalRequest, float], Awaitable[RetrievalResult]]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CITE = re.compile(r"\s*\[\d{1,2}\]")
_FOLLOW_UP = re.compile(
    r"^\s*(and|what about|how about|also|same)\b|\b(there|it|its|that|those|them|this|these|they)\b",
    re.IGNORECASE,
)


def content_words(text: str) -> set[str]:
    return {stem(w) for w in words(text) if not w[0].isdigit()}


_COUNTS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"]
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
]
_NUMBER_WORDS = {w: str(i) for ws in (_COUNTS, _ORDINALS) for i, w in enumerate(ws, start=1)}
_ORDINAL_SET = frozenset(_ORDINALS)
# A count or an ordinal said in words; not "First, …" (a step, not a quantity).
_NUMBER_WORD = re.compile(rf"\b(?:{'|'.join(_NUMBER_WORDS)})\b(?!,)", re.IGNORECASE)


def numbers(text: str) -> set[str]:
    """The numbers a text states, in digits or words ("second" and "2" are the same claim): a
    changed count is a changed fact ("a second checked bag" where the page says "a first")."""
    found = {n.replace(",", "") for n in _NUMBER.findall(text)}
    found.update(_NUMBER_WORDS[w.lower()] for w in _NUMBER_WORD.findall(text))
    return found


# An amount in digits standing alone ("20000", "€25,000", "27 kg"), not part of a code or a name
# ("MOB-402", "5G", "12-month"); and the words that make a sentence state a bound on one ("over"
# and "under" only before a number: "under Account > Plan" is a menu path).
_AMOUNT = re.compile(r"(?<![\w.,-])\d+(?:[.,]\d+)*(?![\w-]|[.,]\d)")
_BOUND = re.compile(
    r"\b(?:between|up to|at most|at least|maximum|minimum|no more than|more than|less than|or more|"
    r"or less)\b|\b(?:over|under|from)\s+[€$£]?\d|\d\s*[–-]\s*[€$£]?\d",
    re.IGNORECASE,
)
AMOUNT_FACTOR = 10  # a bound is on the question's amount when within this factor of it


def amounts(text: str) -> list[float]:
    """The amounts a text states in digits (``_AMOUNT``), as numbers."""
    return [float(a.replace(",", "")) for a in _AMOUNT.findall(text)]


def bounds_amount(sentence: str, asked: Sequence[float]) -> bool:
    """Whether ``sentence`` states a bound ("between €1,000 and €25,000", "up to 23 kg", "Minimum
    age 21.", "3 hours or more") on an amount of the size of one of ``asked`` (within a factor of
    ``AMOUNT_FACTOR``): it answers "Can I get a loan of 20000?" yes or no."""
    if not asked or not _BOUND.search(sentence):
        return False
    said = [b for b in amounts(sentence) if b > 0]  # once, not once per amount asked
    return any(a > 0 and 1 / AMOUNT_FACTOR <= b / a <= AMOUNT_FACTOR for a in asked for b in said)


_SUBJECT = re.compile(r"^(?:the|your|a|an|each|every)\s+(.+?)\s+(?:is|are|was|were)\b", re.IGNORECASE)


def subject_words(claim: str) -> set[str]:
    """The content words of a claim's subject, when it begins with one ("The cabin bag allowance is
    …"): what the claim is about."""
    m = _SUBJECT.match(claim)
    return content_words(m.group(1)) if m and len(m.group(1).split()) <= 5 else set()


def ordinals(text: str) -> set[str]:
    """The ordinals a text states in words ("a second checked bag": {"2"}); not "First, …"."""
    said = (w.lower() for w in _NUMBER_WORD.findall(text))
    return {_NUMBER_WORDS[w] for w in said if w in _ORDINAL_SET}


def names(text: str) -> set[str]:
    """The content words a sentence capitalises where a sentence does not begin: names of fares,
    plans, products and places ("Economy Light", "Premium", "Lisbon")."""
    return content_words(" ".join(NAME.findall(text)))


_QUANTITY = re.compile(
    r"\bhow (?:much|many|long|old|soon|quickly|fast|far|big|heavy|often|late|early)\b"
    r"|\bwhat (?:time|percentage|age)\b",
    re.IGNORECASE,
)


_OPEN = re.compile(r"^\W*(?:how|what|where|when|which|who|whom|whose|why)\b", re.IGNORECASE)


def asks_open(question: str) -> bool:
    """Whether the sentence that asks is a wh-question ("How do I…", "Where…"): its answer must say
    something the question does not. A yes/no question ("Can I pay with points?") is answered by
    saying its words back ("You can pay with points.")."""
    lo, hi = asked_span(question)
    return bool(_OPEN.match(question[lo:hi]))


_HOW_TO = re.compile(
    r"\bhow\s+(?:do|can|could|should|would)\s+(?:i|we)\s+([a-z]+)|\bhow\s+to\s+([a-z]+)", re.IGNORECASE
)


def asked_action(question: str) -> str | None:
    """The stem of what a question asks how to do ("How do I close my account?": 'close'), or None
    when it asks no such thing."""
    m = _HOW_TO.search(question)
    verb = (m.group(1) or m.group(2)).lower() if m else None
    return stem(verb) if verb and not stopword(verb) else None


def _names_other_action(heading: str, action: str) -> bool:
    """Whether a section heading begins with the -ing form of another verb than ``action`` (a
    stem): "Deleting your account" for 'cancel'. A sentence under it that says the action tells
    what to do about it while doing the heading's ("Cancel your subscription first.")."""
    first = heading.split(maxsplit=1)[0].lower() if heading.strip() else ""
    return len(first) > 5 and first.endswith("ing") and first.isalpha() and stem(first) != action


def asks_for_number(question: str) -> bool:
    """Whether a question asks for a quantity ("how much", "how long", "what time", …), whose answer
    states a number: the expected answer type of classic question answering."""
    return bool(_QUANTITY.search(question))


_LEAD_IN = re.compile(r":\s*(?:\d{1,2}[.)])?\s*$")  # "… includes:" or "… includes: 1." (a list never given)

_NEGATION = re.compile(r"\b(?:no|not|never|none|nothing|nobody|neither|nor|cannot)\b|n't\b", re.IGNORECASE)
_FREE = re.compile(r"\bfree\b", re.IGNORECASE)


def negated(text: str) -> bool:
    """Whether a sentence says no ("not", "never", "can't", …)."""
    return bool(_NEGATION.search(text))


# Where what a negation says no to ends: "Tickets can't be changed, but can be transferred".
_CLAUSE_END = re.compile(r"[,;:.!?()\u2013\u2014]|\b(?:but|however|although|though|whereas|unless|except)\b")
_COST = ("fee", "charge", "cost", "pay", "paid", "price", "extra")  # stems of what "free" says no to
_CONDITION = re.compile(r"\b(?:if|unless|when|whether|once)\b", re.IGNORECASE)
_WORD_END = re.compile(r"\w+$")


def _stems(text: str) -> list[str]:
    return [stem(w) for w in words(text) if w[0].isalpha()]


def _negations(text: str) -> list[tuple[str, list[str]]]:
    """For each negation of a sentence, the text of its clause before it (without the stem of a
    contracted one: "ca" of "can't") and the stems of the content words after it, to the end of
    its clause."""
    return [
        (
            _CLAUSE_END.split(_WORD_END.sub("", text[: cue.start()]))[-1],
            _stems(_CLAUSE_END.split(text[cue.end() :], maxsplit=1)[0]),
        )
        for cue in _NEGATION.finditer(text)
    ]


def _negated_clauses(text: str) -> list[list[str]]:
    """For each negation of a sentence, the stems of the content words after it, to the end of its
    clause: "No, travel insurance does not cover cancellation." -> [], ["cover", "cancellation"]."""
    return [after for _, after in _negations(text)]


def negated_scope(text: str) -> frozenset[str]:
    """The stems a sentence's negations cover: each one's content words up to the end of its
    clause ("… allowed only in cabin baggage, never *in checked bags*")."""
    return frozenset(w for clause in _negated_clauses(text) for w in clause)


def denied(text: str) -> frozenset[str]:
    """The stems a sentence says no to: the first content word after each negation ("Tickets
    cannot be *transferred*", "Change date or route: Not *allowed*", "There is no *fee*"). A claim
    that says such a word without saying no to it says the opposite of that sentence, however many
    of its words it shares ("This will allow you to change your flight's name" against the row
    "Change date or route … Not allowed …", 3 of 4 words). Within the negation's clause: "No,
    travel insurance does not cover cancellation." says no to covering, not to travel, and "…
    if you cannot travel because of illness …" did not support it."""
    return frozenset(clause[0] for clause in _negated_clauses(text) if clause)  # "No, travel …": none


_QUOTED_WHOLE = 0.6  # share of a claim's characters an evidence sentence quoted in it must make up


def _same_word(a: str, b: str) -> bool:
    """Stems of one word that the stemmer cuts differently ("verify" and "verification" -> "verifi"
    and "verif", "expiry" and "expire" -> "expiri" and "expir")."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    return len(short) >= 4 and len(long) - len(short) <= 2 and long.startswith(short)


def _says_denied(words: set[str], denied: frozenset[str], refuses: frozenset[str]) -> bool:
    """Whether a claim says a word a sentence says no to (``denied``) without saying no to it too
    (``refuses``: the words under the claim's negations)."""
    return any(
        any(_same_word(w, d) for d in denied) and not any(_same_word(w, r) for r in refuses) for w in words
    )


AFFIRMED_SCOPE = 0.5  # share of a negation's words a claim that says no to nothing may say

# What a sentence says no to, as (its subject's stems, the stems after the negation): ``denials``.
Denial = tuple[tuple[str, ...], tuple[str, ...]]


def denials(text: str) -> tuple[Denial, ...]:
    """Each negation of a sentence that says no to something: the stems before it in its clause
    (its subject) and after it to the clause's end, both non-empty. A negation in a condition ("If
    you cannot travel because of illness, …") says no to nothing."""
    out: list[Denial] = []
    for before, after in _negations(text):
        subject = _stems(before)
        if subject and after and not _CONDITION.search(before):
            out.append((tuple(subject), tuple(after)))
    return tuple(out)


def _affirms(claim: set[str], said_no: tuple[Denial, ...]) -> bool:
    """Whether a claim that says no to nothing says yes to what a sentence says no to
    (``denials``): all its subject and at least ``AFFIRMED_SCOPE`` of the words after the negation.
    "You can also claim compensation for delays caused by extraordinary circumstances, …" says
    "compensation" and 3 of the 5 words of "Compensation is not paid when the disruption is caused
    by extraordinary circumstances, …", and 15 of its 19 words are the sentence's: it was streamed
    as supported, though it says the opposite (it avoids the word said no to, "paid")."""

    def said(stems: tuple[str, ...]) -> int:
        return sum(any(_same_word(w, c) for c in claim) for w in stems)

    return any(
        said(subject) == len(subject) and said(after) >= AFFIRMED_SCOPE * len(after)
        for subject, after in said_no
    )


class _Lexical(NamedTuple):
    """What the verifier reads in an evidence sentence, worked out once per sentence text."""

    words: frozenset[str]  # content words
    numbers: frozenset[str]
    says_no: bool  # a negation ("not", "never", "can't", …)
    free: bool
    denied: frozenset[str]  # the words it says no to (``denied``)
    scope: frozenset[str]  # the words its negations cover (``negated_scope``)
    quantifiers: frozenset[str]  # ``quantifiers``
    denials: tuple[Denial, ...]  # what its negations say no to (``denials``)


def _says_no_to_it(scope: frozenset[str], refuses: frozenset[str], evidence: _Lexical) -> bool:
    """Whether an evidence sentence says no to what a claim says no to: the word it says no to is
    under the claim's negation, or the word the claim says no to is under its own ("Tickets cannot
    be transferred" for "You can't transfer your ticket"), or it says "free" and the claim says no
    to a cost ("Top-ups by bank transfer are free" for "There is no fee for top-ups"). Any negation
    was enough before, and "No, you cannot bring a power bank in your cabin bag." was streamed on
    the strength of "Power banks … are allowed only in cabin baggage, never in checked bags.": it
    says no to checked bags, the claim to bringing one in the cabin."""
    if evidence.says_no and (
        any(_same_word(w, d) for w in scope for d in evidence.denied)
        or any(_same_word(r, w) for r in refuses for w in evidence.scope)
    ):
        return True
    return evidence.free and any(_same_word(w, c) for w in scope | refuses for c in _COST)


@lru_cache(maxsize=8192)
def _lexical(sentence: str) -> _Lexical:
    """Content words, numbers, and what the sentence says is not so: a negation, or "free" ("no
    fee" is what "free" means; not "without": "Miles expire after 24 months without any activity"
    does not say that they do not expire)."""
    return _Lexical(
        frozenset(content_words(sentence)),
        frozenset(numbers(sentence)),
        negated(sentence),
        bool(_FREE.search(sentence)),
        denied(sentence),
        negated_scope(sentence),
        quantifiers(sentence),
        denials(sentence),
    )


# ---- rewriter -----------------------------------------------------------------------------------
class Rewriter:
    """Turns a follow-up into self-contained search queries using the conversation.

    A query that reads as a follow-up ("and for business?", "how much is it?") is searched both as
    it is and joined with the previous question; the searcher runs them in parallel. One the
    router read with the conversation carries the questions it follows in its sub-query
    (``shared.text.following``): those are joined instead, and the note itself is no part of the
    question ("follow" and "to" were question words the evidence had to cover).
    """

    def rewrite(self, question: str, history: Sequence[Turn]) -> list[str]:
        question, earlier = followed(question)
        if earlier is not None:
            return [question, f"{earlier} {question}"]
        if history and (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
            return [question, " ".join([*_chain(history), question])]
        return [question]


CHAIN_TURNS = 3  # earlier questions a follow-up is joined to, while each was itself a follow-up


def _chain(history: Sequence[Turn]) -> list[str]:
    """The earlier questions a follow-up is joined to: the last one, and the ones before it while
    each was itself a follow-up that says too little to stand alone (points back, at most 3 content
    words), as the router reads them. "Does it include 5G?" after "How much is the Unlimited
    plan?" and "and the Lite one?" was searched as "and the Lite one? Does it include 5G?", and
    abstained ('Lite' 0.25, 'one' 0.49)."""
    start = len(history) - 1
    while start > 0 and len(history) - start < CHAIN_TURNS:
        q = history[start].question
        if not (_FOLLOW_UP.search(q) and len(words(q)) <= 3):
            break
        start -= 1
    return [turn.question for turn in history[start:]]


# ---- searcher -----------------------------------------------------------------------------------
# A sentence that sends the reader to another page ("… depends on your plan (see Subscription
# plans).") is followed when it is among the best: within this much similarity of the best
# sentence, and among the first POINTERS_READ of them.
POINTER_MARGIN = 0.05
POINTERS_READ = 3


def pointed_titles(scored: Iterable[tuple[float, str]], titles: Iterable[str]) -> list[str]:
    """The pages of ``titles`` that the best of the (similarity, sentence) pairs send the reader to
    (``shared.text.references``), best sentence first, each page once."""
    ranked = sorted(scored, key=lambda x: -x[0])
    if not ranked:
        return []
    known = list(titles)
    out: list[str] = []
    for sim, text in ranked[:POINTERS_READ]:
        if sim < ranked[0][0] - POINTER_MARGIN:
            break
        out.extend(t for t in references(text, known) if t not in out)
    return out


class Searcher:
    """Runs one search per rewritten query, in parallel, and fuses the rankings (reciprocal rank)."""

    def __init__(self, search: Search, top_k: int = 5, timeout_s: float = 5.0) -> None:
        self.search = search
        self.top_k = top_k
        self.timeout_s = timeout_s

    async def run(
        self,
        queries: list[str],
        *,
        domain: str,
        tenant: str,
        query_id: str,
        embeddings: Mapping[str, QueryEmbedding] | None = None,
        score_against: str | None = None,
    ) -> list[Passage]:
        """``embeddings`` holds vectors already computed for some of the queries (sent along so the
        retriever does not embed them again). The search for ``score_against`` (the question the
        grader will judge by) also asks the retriever to score each passage's sentences."""
        import asyncio

        results = await asyncio.gather(
            *(
                self.search(
                    RetrievalRequest(
                        query_id=query_id,
                        tenant_id=tenant,
                        domain=domain,
                        query=q,
                        top_k=self.top_k,
                        embedding=(embeddings or {}).get(q),
                        sentence_scores=q == score_against,
                    ),
                    self.timeout_s,
                )
                for q in queries
            )
        )
        fused: dict[tuple[str, int], float] = {}
        best: dict[tuple[str, int], Passage] = {}
        scored: dict[tuple[str, int], Passage] = {}  # versions whose sentences are scored
        for result in results:
            for rank, p in enumerate(result.passages):
                key = (p.doc_id, p.chunk)
                fused[key] = fused.get(key, 0.0) + 1.0 / (60 + rank)
                if key not in best or p.score > best[key].score:
                    best[key] = p
                if p.sentences is not None:
                    scored[key] = p
        order = sorted(fused, key=lambda k: -fused[k])
        return [scored.get(k, best[k]) for k in order[: self.top_k]]

    async def fetch(
        self,
        question: str,
        doc_ids: list[str],
        *,
        domain: str,
        tenant: str,
        query_id: str,
        embedding: QueryEmbedding | None = None,
    ) -> list[Passage]:
        """The passage of each of ``doc_ids`` that best matches ``question``, its sentences scored:
        the pages the retrieved passages point to without being among them."""
        result = await self.search(
            RetrievalRequest(
                query_id=query_id,
                tenant_id=tenant,
                domain=domain,
                query=question,
                top_k=len(doc_ids),
                doc_ids=doc_ids,
                embedding=embedding,
                sentence_scores=True,
            ),
            self.timeout_s,
        )
        return [p for p in result.passages if p.doc_id in doc_ids]


# ---- grader -------------------------------------------------------------------------------------
@dataclass
class Evidence:
    """Passages kept by the grader, their sentences with their similarity to the question, and
    whether they answer it."""

    question: str
    passages: list[Passage]
    sentences: list[tuple[int, str]]  # (passage index, sentence)
    sims: np.ndarray  # similarity of each sentence to the question
    relevance: list[float]
    answerable: bool
    answerability: float  # the coverage, or 0 when the best sentence is below the similarity floor
    reason: str = ""
    computed: int = 0  # sentences the grader had to embed itself (not scored by the retriever)
    covers: np.ndarray | None = None  # each sentence's coverage of the question (None: not computed)
    # The content words of a follow-up as asked ("and for business?") when the question joins it
    # to the questions it follows: what an answer to it must be about.
    focus: frozenset[str] = frozenset()
    # The stems of the question's rare names (``Grader.rare_names``): a sentence that says one is on
    # the question, however far it embeds from it.
    rare: frozenset[str] = frozenset()
    # Each sentence's similarity to the question as read on its page ("Phone unlocking: How to
    # unlock: We process the request within 2 business days …"), or alone when that is higher or
    # under the grader's relevance floor (None: not computed; ``Grader.grade``).
    contexts: np.ndarray | None = None
    # Fragment items of a list under a heading that only their heading brings over the answer
    # threshold (``Grader._by_section``): quoted as their whole section.
    sections: frozenset[str] = frozenset()

    @property
    def coverage(self) -> float:
        """How well the kept passages cover the question's content words (0 when not computed)."""
        return self.answerability

    @cached_property
    def question_words(self) -> frozenset[str]:
        return frozenset(content_words(self.question))

    @cached_property
    def question_numbers(self) -> frozenset[str]:
        return frozenset(numbers(self.question))

    @cached_property
    def question_action(self) -> str | None:
        """The stem of what the question asks how to do (``asked_action``), or None."""
        return asked_action(self.question)

    @cached_property
    def question_quantifiers(self) -> frozenset[str]:
        return quantifiers(self.question)

    @cached_property
    def asks_open(self) -> bool:
        return asks_open(self.question)

    @cached_property
    def lexical(self) -> list[tuple[int, _Lexical]]:
        """Each sentence's passage index, content words, numbers and negations, worked out once for every
        claim the verifier checks against them (and once per sentence text: passages recur)."""
        return [(pi, _lexical(s)) for pi, s in self.sentences]

    def similarity_of(self, text: str) -> float | None:
        """The question's similarity to ``text`` when it is one of the evidence sentences (a model
        that copies one; evidence sentences are plain text without list markers, as the verifier's
        form of a claim becomes), or quotes one whole with little else (a heading or a lead-in
        before it: "Online check-in Online check-in opens 24 hours before departure…"): already
        known, so no model run is needed to weigh it. None otherwise."""
        text = without_list_marker(text)
        found = [
            sim
            for (_, s), sim in zip(self.sentences, self.sims.tolist(), strict=True)
            if s == text or (s in text and len(s) >= _QUOTED_WHOLE * len(text))
        ]
        return max(found) if found else None

    @cached_property
    def keyed(self) -> list[bool]:
        """Whether each sentence is a table row the question picks out of its table by the row's
        first cell: "Plan: Plus — Interest rate (AER, variable): 2.25%." for "How much interest do
        I get on a Vault with the Plus plan?", where the question names no other plan of the
        table (another row of the same passage, its first cell under the same header)."""
        keys = [row_key(text) for _, text in self.sentences]
        said = [bool(k and content_words(k[1]) & self.question_words) for k in keys]
        others = {(pi, k[0]) for (pi, _), k, s in zip(self.sentences, keys, said, strict=True) if k and not s}
        return [
            bool(s and k and (pi, k[0]) in others)
            for (pi, _), k, s in zip(self.sentences, keys, said, strict=True)
        ]

    @cached_property
    def off_section(self) -> list[bool]:
        """For a question that asks how to do something ("How do I close my Northwind Pay
        account?"), whether each sentence sits in a section of its page whose heading lacks that
        action where another section heading of the page says it with all the question's words
        the first says ("Opening an account" against "Closing your account"): the steps for
        opening an account were quoted for closing one. A sentence that says the action itself
        is not, unless its heading begins with another verb's -ing form ("Cancel your
        subscription first." under "Deleting your account" led the answer to "How do I cancel my
        media subscription?"). MiniLM embeds opening and closing alike (0.82 against 0.63
        similar, read on their page); the headings of one page tell them apart by a word. The
        page's title is no section heading: it says what every section is about. For any
        question word, not only the action, it lost as many expected facts of `python -m bench
        rag` as it gained: "How long can I use a gift card before it expires?" is answered under
        "Buying a gift card", not "Using a gift card"."""
        action = self.question_action
        out = [False] * len(self.sentences)
        if action is None:
            return out
        asked = self.question_words | {action}
        said: dict[str, set[frozenset[str]]] = {}
        for p in self.passages:
            said.setdefault(p.title, set()).update(asked & content_words(h) for h in subheadings(p.text))
        for k, ((pi, lex), (_, text)) in enumerate(zip(self.lexical, self.sentences, strict=True)):
            passage = self.passages[pi]
            heading = section_headings(passage.text).get(text)
            if heading is None or heading not in subheadings(passage.text):
                continue
            if action in lex.words and not _names_other_action(heading, action):
                continue
            own = asked & content_words(heading)
            others = said[passage.title]
            out[k] = action not in own and any(own < other and action in other for other in others)
        return out

    @cached_property
    def how_to(self) -> list[bool]:
        """For a question that asks how to do something ("How do I dispute a card payment?"),
        whether each sentence is, or sits under, a section heading that itself says how to do it:
        it asks how to do something and names the question's action ("How to raise a dispute",
        with its steps). The page's other sections tell when or before what, not how: "When you
        can dispute a payment" led, 1.80 against 1.78 (similarity read on the page plus coverage)."""
        action = self.question_action
        out = [False] * len(self.sentences)
        if action is None:
            return out
        for k, (pi, text) in enumerate(self.sentences):
            passage = self.passages[pi]
            heading = text if text in subheadings(passage.text) else section_headings(passage.text).get(text)
            out[k] = bool(heading and asked_action(heading) and action in content_words(heading))
        return out

    def names_rare(self, sentence: str, words: Iterable[str] | None = None) -> bool:
        """Whether ``sentence`` (with these content words) is a table row that says one of the
        question's rare names."""
        return row_names(sentence, self.rare, words)

    def best_sentences(self, n: int = 2, floor: float = -1.0) -> list[tuple[int, str, float]]:
        """The ``n`` best sentences among those at least ``floor`` similar to the question (as read
        on its page, ``contexts``, when the grader computed that; returned with each), ranked by
        that similarity plus the sentence's own coverage of the question (``covers``): similarity
        finds the sentence on the topic, coverage the one that holds what was asked ("Calls, texts
        and data stop within 15 minutes." for "…how quickly does it stop working?", where the most
        similar sentence is about blocking the SIM). A sentence leaves to its page what it is
        about: "We process the request within 2 business days and confirm by email." is 0.38
        similar to "How long does unlocking my phone take?", and 0.72 as "Phone unlocking: How to
        unlock: We process …"; "Removing the phone from the blacklist can take up to 24 hours."
        0.60 either way. Each
        text once (chunks overlap, so a sentence can come in two passages: the first, best
        ranked, is cited), those that hold the codes the question names first (words with
        digits: error codes, flight and model numbers). Table rows embed alike ("Code: MOB-204 —
        Meaning: …" and "Code: MOB-402 — …"), and only the code tells the row that answers "What
        does error MOB-402 mean?"; when the best holds such a code, the rest must hold one too.
        Plain names are not enough: preferring sentences that say "Northwind Travel" or "TV"
        lost more answers than it found (session 26, `python -m bench rag`: 3 gained, 5 lost).
        Headings are never quoted: "Using a gift card." names a section and answers nothing;
        one right above a list is, with its list (``shared.text.heading_list``): "Parcel marked
        delivered but not received" and its steps for "My parcel says delivered but I don't have
        it.", where the steps alone ("Check your safe place and ask your neighbours.") say nothing
        of a parcel marked delivered; not for a question that asks for a quantity when the list
        states none ("Making a warranty claim" and its steps for "How long is the warranty on a
        laptop?").
        Sentences with a number are not preferred for a question that asks for a quantity: where
        the sentence that answers it is not among the evidence, the nearest number answers another
        question ("We email you a reminder 2 days before the trial ends" for "How long does the free
        trial last?"; session 27, `python -m bench rag`: 1 answer gained, 4 led by a wrong number).
        A sentence about another ordinal than the question's comes after those that are not ("…when
        you add a first checked bag…" for "How much does a second checked bag cost?"). For a
        follow-up joined to what it follows, sentences that say one of its own words (``focus``),
        or sit under a heading that does, come first ("Business — Checked baggage: …" for "and for
        business?" after the economy allowance). So do table rows that say one of the question's
        rare names (``rare``) and cover the question as well as any sentence over ``floor`` does,
        below ``floor`` too: "Zone: Zone 2 — Countries: United Kingdom, Switzerland, USA, Canada,
        Turkey; …" for "Can I use my phone in Turkey?", 0.25 similar. A row names a value where a
        sentence does not, and MiniLM embeds a list of values far from a question about one of
        them; preferring every sentence that says a rare name of the question led with "… an ID
        document …" for "Can I use my driving licence as ID …?" and lost 4 expected facts of
        `python -m bench rag` (73.6% -> 70.0%). A sentence that states a bound on an amount the
        question names comes next (``bounds_amount``): "… borrow between €1,000 and €25,000 …" for
        "Can I get a loan of 20000?", which led with "Apply under Borrow > Personal loan.".
        Preferring rows that cover less than the best
        sentence led with the game consoles row for "Can I download shows … on my smart TV or
        Xbox?" ("You cannot download on TVs, game consoles …": coverage 0.69 against 0.28)."""
        lexical = self.lexical
        asked = {n for n in names(self.question) if any(c.isdigit() for c in n)}
        held = [len(asked & lex.words) for _, lex in lexical]  # codes asked about, per sentence
        focus = self.focus
        on_focus = [
            bool(
                focus
                and focus
                & (lex.words | content_words(section_headings(self.passages[pi].text).get(text, "")))
            )
            for (pi, lex), (_, text) in zip(lexical, self.sentences, strict=True)
        ]
        sizes = amounts(self.question)
        bounding = [bounds_amount(text, sizes) for _, text in self.sentences]
        nth = ordinals(self.question)
        other = [bool(nth and (o := ordinals(text)) and not nth & o) for _, text in self.sentences]
        quantity = asks_for_number(self.question)
        titles = {
            h
            for p in self.passages
            for h in headings(p.text)
            if not (listed := heading_list(p.text, h))
            or (quantity and not any(numbers(without_list_marker(item)) for item in listed))
        }
        sims = self.sims if self.contexts is None else self.contexts
        naming = [False] * len(self.sentences)
        keyed = self.keyed
        off, how = self.off_section, self.how_to
        if (self.rare or any(keyed)) and self.covers is not None:
            covers = self.covers.tolist()
            over = [
                c for i, c in enumerate(covers) if sims[i] >= floor and self.sentences[i][1] not in titles
            ]
            top = max(over, default=0.0)
            naming = [
                covers[i] >= top and ((keyed[i] and sims[i] >= floor) or self.names_rare(text, lex.words))
                for i, ((_, lex), (_, text)) in enumerate(zip(lexical, self.sentences, strict=True))
            ]
        merit = sims if self.covers is None else sims + self.covers
        rank = sorted(
            (
                i
                for i, (_, text) in enumerate(self.sentences)
                if (sims[i] >= floor or naming[i]) and text not in titles
            ),
            key=lambda i: (
                -held[i],
                not on_focus[i],
                not naming[i],
                not bounding[i],
                other[i],
                off[i],
                not how[i],
                -float(merit[i]),
                i,
            ),
        )
        out: list[tuple[int, str, float]] = []
        seen: set[str] = set()
        for i in rank:
            passage, text = self.sentences[i]
            if held[rank[0]] and not held[i]:
                break  # the best holds a code the question asks about: so must the rest
            if text not in seen:
                seen.add(text)
                out.append((passage, text, float(sims[i])))
                if len(out) == n:
                    break
        return out


def _opens_section(
    passages: list[Passage], sentences: list[tuple[int, str]], sims: np.ndarray, floor: float
) -> np.ndarray:
    """Whether each sentence opens the section under a heading that is itself at least ``floor``
    similar to the question: the heading says what the section is about, and its first sentence
    is read on its page however far it embeds alone ("On Lite and Plus, your speed drops to 128
    kbps when your allowance is used up.", 0.28 similar to "What happens to my data if I go over
    my limit?", under "When your data runs out", 0.60)."""
    on = {(pi, text) for (pi, text), sim in zip(sentences, sims.tolist(), strict=True) if sim >= floor}
    out = np.zeros(len(sentences), dtype=bool)
    for k, (pi, text) in enumerate(sentences):
        heads = section_headings(passages[pi].text)
        heading = heads.get(text)
        if heading and (pi, heading) in on:
            out[k] = next(s for s, h in heads.items() if h == heading) == text
    return out


def row_names(sentence: str, rare: frozenset[str], words: Iterable[str] | None = None) -> bool:
    """Whether ``sentence`` (with these content words) is a table row that says one of the
    ``rare`` word stems."""
    if not rare or not is_row(sentence):
        return False
    return any(stem(w) in rare for w in (content_words(sentence) if words is None else words))


LEAST_COVERED = 3  # question words an abstention's reason names
RARE_NAME = 3  # evidence sentences, at most, that say a name for it to single out a passage


class Grader:
    """Drops passages that do not bear on the question and decides whether the rest answer it.

    Relevance of a passage is the best cosine similarity between the question and one of its
    sentences (MiniLM); a passage with a table row that says one of the question's rare names
    (``rare_names``) is kept before the rest, however far its sentences embed from the question.
    The knowledge base is taken to answer when the best sentence is at least
    ``answer_threshold`` similar to the question *and* the kept passages cover the question's
    content words at least ``coverage_threshold`` well (``services.domain.coverage``: IDF-weighted
    soft token matching, with IDF from ``knowledge``, the domain's documents). Similarity alone
    tells "on topic", not "answers it". The retriever scores the sentences of the passages it
    returns from vectors embedded at ingest; the grader embeds (and caches) only the sentences of
    passages that come without scores. Coverage needs the question's token vectors (carried with
    the task from the router, or left by the domain's own embedding of it; otherwise one model run,
    ~5 ms) and those of the evidence sentences (cached; ``warm`` computes a knowledge base's ahead).
    """

    def __init__(
        self,
        embedder: Embedder,
        min_relevance: float = 0.35,
        answer_threshold: float = 0.40,
        cache_size: int = 20_000,
        *,
        coverage_threshold: float = 0.64,
        knowledge: Iterable[str] = (),
        token_cache_size: int = 5_000,
    ) -> None:
        self.embedder = embedder
        self.min_relevance = min_relevance
        self.answer_threshold = answer_threshold
        self.coverage_threshold = coverage_threshold
        self.weights = TermWeights.of_texts(knowledge)
        self.tokens = TokenVectors(embedder, token_cache_size)
        self._cache = VectorLRU(cache_size)  # apart from the embedder's, which keeps queries
        self._in_context: dict[tuple[str, str], str] = {}  # (title, sentence): the sentence on its page
        self._warmed: set[str] = set()  # the titles of the warmed documents
        self._fragments: set[tuple[str, str]] = set()  # (title, item): said of its section (``section_of``)
        # the warmed sentences' vectors on their pages, read-only rows (a lookup, no LRU bookkeeping)
        self._context_rows: dict[str, int] = {}
        self._context_vectors = np.zeros((0, 0), dtype=np.float32)

    def warm(self, knowledge: Iterable[str], titles: Iterable[str] = ()) -> int:
        """Compute the token vectors of the documents' evidence sentences ahead (about 5 ms each),
        and of the pages they are read on when the documents' ``titles`` are given (in the same
        order; see ``page_of``); returns how many were computed."""
        texts = list(knowledge)
        sentences = [evidence_sentences(text) for text in texts]
        pages: dict[str, None] = {}
        for title, text, said in zip(titles, texts, sentences, strict=False):
            heads = section_headings(text)
            pages.update(dict.fromkeys([title, *(_page(title, h) for h in heads.values())]))
            self._warmed.add(title)
            for s in said:
                self._in_context[title, s] = _read_on(_page(title, heads.get(s, "")), s)
                if section_of(text, s) is not None:
                    self._fragments.add((title, s))
        read = list(dict.fromkeys(self._in_context.values()))
        if read:
            self._context_vectors = np.asarray(self.embedder.encode(read, recent=False), dtype=np.float32)
            self._context_rows = {text: i for i, text in enumerate(read)}
        return self.tokens.warm(chain((s for said in sentences for s in said), pages))

    def rare_names(self, question: str) -> frozenset[str]:
        """The stems of the names the question says ("Turkey", "Switzerland") that few sentences of the
        knowledge base say (``RARE_NAME``): where one is, the passage is on the question however
        far its sentence embeds from it. A country in a table row of five ("Zone 2 — Countries:
        United Kingdom, Switzerland, USA, Canada, Turkey; …") is 0.25 similar to "Can I use my
        phone in Turkey?"."""
        df = self.weights.df
        return frozenset(s for s in map(stem, names(question)) if 0 < df.get(s, 0) <= RARE_NAME)

    def needs_model(self, question: str, passages: list[Passage]) -> bool:
        """Whether grading would run the model (a text whose vectors are not at hand), which is
        worth a worker thread; without it grading is a few matrix products."""
        ready = self.tokens.ready
        if not ready(question):
            return True
        for p in passages:
            if p.sentences is None:
                return True
            if not all(
                ready(sc.text)
                and ready(page_of(p, sc.text))
                and self._has_context(self.in_context(p, sc.text))
                for sc in p.sentences
            ):
                return True
        return False

    def in_context(self, passage: Passage, sentence: str) -> str:
        """An evidence sentence as read on its page: "Phone unlocking: How to unlock: We process the
        request within 2 business days and confirm by email." (the heading above it in its
        document, when the grader was warmed with it; else in its passage)."""
        return self._in_context.get((passage.title, sentence)) or _read_on(
            page_of(passage, sentence), sentence
        )

    def said_of_section(self, passage: Passage, sentence: str) -> bool:
        """Whether ``sentence`` is a fragment item of a list right under a heading, said of that
        section (``shared.text.section_of``): "Checked baggage: 2 bags of up to 23 kg each" under
        *Premium Economy*. Not a whole sentence: read under their headings too, the 132 sentences
        of lists right under a heading in our knowledge bases lost an expected fact and answered
        an unanswerable question ("Your PIN is shown in the app …" under *Physical card*) in
        ``python -m bench rag``."""
        if passage.title in self._warmed:
            return (passage.title, sentence) in self._fragments
        return section_of(passage.text, sentence) is not None

    def _by_section(
        self,
        question: str,
        passages: list[Passage],
        sentences: list[tuple[int, str]],
        sims: np.ndarray,
        question_vector: np.ndarray | None,
    ) -> tuple[np.ndarray, frozenset[str]]:
        """The sentences' similarities with each fragment said of its section (``said_of_section``)
        read under its heading, when that is higher, as a table row has its cells' headers:
        "Checked baggage: 2 bags of up to 23 kg each" is -0.01 similar to "What does premium economy
        include?", and 0.74 as "Premium Economy and Business cabins: Premium Economy: Checked
        baggage: …", so the section was dropped and its page's pointer ("… allowances are described
        in Premium Economy and Business cabins.") was the answer. With the fragments that only
        their section brings over the answer threshold: the section answers, not the item. What a
        fragment says alone (``Evidence.sims``) still bars it from a second quote: "Business — Free
        seat selection, including extra-legroom seats." is no answer to how much legroom Premium
        Economy has."""
        rows = [j for j, (pi, s) in enumerate(sentences) if self.said_of_section(passages[pi], s)]
        if not rows:
            return sims, frozenset()
        q = self.embedder.encode_one(question) if question_vector is None else question_vector
        texts = [self.in_context(passages[sentences[j][0]], sentences[j][1]) for j in rows]
        read = sims.copy()
        under: set[str] = set()
        for j, sim in zip(rows, (self._context(texts) @ q).tolist(), strict=True):
            if sim > sims[j]:
                if sims[j] < self.answer_threshold <= sim:
                    under.add(sentences[j][1])
                read[j] = sim
        return read, frozenset(under)

    def _has_context(self, read: str) -> bool:
        return read in self._context_rows or self._cache.has(read)

    def _context(self, read: list[str]) -> np.ndarray:
        """The vectors of sentences as read on their pages (``in_context``)."""
        rows = [self._context_rows.get(text, -1) for text in read]
        return self._context_vectors[rows] if min(rows, default=0) >= 0 else self._encode(read)

    def _encode(self, sentences: list[str]) -> np.ndarray:
        """Sentence vectors, cached: knowledge-base sentences recur across questions."""
        return self._cache.fetch(sentences, lambda todo: self.embedder.encode(todo, recent=False))

    def _scored(
        self, question: str, passages: list[Passage], question_vector: np.ndarray | None
    ) -> tuple[list[tuple[int, str]], np.ndarray, int]:
        sentences: list[tuple[int, str]] = []
        sims: list[float] = []
        todo: list[tuple[int, str]] = []
        for i, p in enumerate(passages):
            if p.sentences is not None:
                for sc in p.sentences:
                    sentences.append((i, sc.text))
                    sims.append(sc.score)
            else:
                todo.extend((i, s) for s in evidence_sentences(p.text))
        if todo:
            q = self.embedder.encode_one(question) if question_vector is None else question_vector
            sentences.extend(todo)
            sims.extend((self._encode([s for _, s in todo]) @ q).tolist())
        return sentences, np.asarray(sims, dtype=np.float32), len(todo)

    def _pointed(
        self,
        passages: list[Passage],
        keep: list[int],
        sentences: list[tuple[int, str]],
        sims: np.ndarray,
        relevance: list[float],
    ) -> list[int]:
        """The passages not kept that the best kept sentences send the reader to ("The number of
        screens … depends on your plan (see Subscription plans).": that page's passage holds the
        number), the most relevant of each page that is on the question at all (``min_relevance``):
        what the kept ones point to, they need."""
        others: dict[str, int] = {}
        for i in sorted(set(range(len(passages))) - set(keep), key=lambda i: -relevance[i]):
            if relevance[i] >= self.min_relevance:
                others.setdefault(passages[i].title, i)
        if not others or not keep:
            return []
        scored = [(float(sims[j]), text) for j, (pi, text) in enumerate(sentences) if pi in keep]
        return [others[t] for t in pointed_titles(scored, others)]

    def grade(
        self,
        question: str,
        passages: list[Passage],
        max_passages: int = 3,
        question_vector: np.ndarray | None = None,
    ) -> Evidence:
        sentences, sims, computed = self._scored(question, passages, question_vector)
        lifted, sections = self._by_section(question, passages, sentences, sims, question_vector)
        relevance = [0.0] * len(passages)
        for (pi, _), sim in zip(sentences, lifted, strict=True):
            relevance[pi] = max(relevance[pi], float(sim))
        rare = self.rare_names(question)
        named = [False] * len(passages)
        for pi, text in sentences if rare else ():
            named[pi] = named[pi] or row_names(text, rare, _lexical(text).words)
        keep = sorted(
            (i for i in range(len(passages)) if named[i] or relevance[i] >= self.min_relevance),
            key=lambda i: (not named[i], -relevance[i]),
        )[:max_passages]
        keep = sorted(keep, key=lambda i: -relevance[i])
        keep += self._pointed(passages, keep, sentences, lifted, relevance)
        kept = [passages[i] for i in keep]
        remap = {old: new for new, old in enumerate(keep)}
        rows = [j for j, (pi, _) in enumerate(sentences) if pi in remap]
        best = max((relevance[i] for i in keep), default=0.0)
        similar = best >= self.answer_threshold
        texts = [sentences[j][1] for j in rows]
        cover = Coverage(0.0, {}, None)
        if similar:
            pages = [page_of(passages[sentences[j][0]], sentences[j][1]) for j in rows]
            cover = measure(question, texts, self.tokens, self.weights, pages)
        covered, each = cover.covered, cover.each
        contexts = None
        if similar and rows:
            q = self.embedder.encode_one(question) if question_vector is None else question_vector
            read = [self.in_context(passages[sentences[j][0]], sentences[j][1]) for j in rows]
            alone = lifted[rows]
            # the page says what a sentence is about, not what it says: one that is off the
            # question by itself ("The first 3 replacements … are free", 0.06 similar to "I deleted
            # my eSIM by accident, what now?", 0.64 on its page) is not lifted by it
            opens = _opens_section(passages, [sentences[j] for j in rows], alone, self.answer_threshold)
            contexts = np.where(
                (alone >= self.min_relevance) | opens, np.maximum(alone, self._context(read) @ q), alone
            )
        answerable = similar and covered >= self.coverage_threshold
        if not passages:
            reason = "the retriever found no passage"
        elif not kept:
            reason = (
                f"no passage is on the question (best sentence similarity {max(relevance):.2f} "
                f"< {self.min_relevance:.2f})"
            )
        elif not similar:
            reason = f"best evidence sentence similarity {best:.2f} < {self.answer_threshold:.2f}"
        else:
            reason = (
                f"best evidence sentence similarity {best:.2f} >= {self.answer_threshold:.2f}, "
                f"coverage of the question {covered:.2f} "
                f"{'>=' if answerable else '<'} {self.coverage_threshold:.2f}"
            )
            if not answerable:  # the words the passages did not cover: what a page would have to say
                weak = cover.by_word(question)[:LEAST_COVERED]
                reason += "; least covered: " + ", ".join(f"{w!r} {c:.2f}" for w, c in weak)
        return Evidence(
            question=question,
            passages=kept,
            sentences=[(remap[sentences[j][0]], sentences[j][1]) for j in rows],
            sims=sims[rows] if rows else np.zeros(0, dtype=np.float32),
            relevance=[relevance[i] for i in keep],
            answerable=answerable,
            answerability=round(covered, 4),
            reason=reason,
            computed=computed,
            covers=np.array([each[t] for t in texts], dtype=np.float32) if each else None,
            rare=rare,
            contexts=contexts,
            sections=sections,
        )


# ---- verifier -----------------------------------------------------------------------------------
# Stopwords that answer "which…?" or "how…?" by themselves: "All plans include 5G."
_QUANTIFIER = re.compile(
    r"\b(?:all|every|each|any|both|only|always|none|no|never|not)\b|n't\b", re.IGNORECASE
)


def quantifiers(text: str) -> frozenset[str]:
    """A sentence's quantifiers, its negations as one ("not", "never" and "can't" all say no)."""
    return frozenset("no" if _NEGATION.fullmatch(q) else q.lower() for q in _QUANTIFIER.findall(text))


def _tells(
    claimed: frozenset[str], words: set[str], nums: set[str], lex: _Lexical, evidence: Evidence
) -> bool:
    """Whether a claim (``claimed``: its quantifiers) says with a sentence that supports it (read as
    ``lex``) something the question does not: a word or number of that sentence, or a quantifier
    or negation it says too. Words the sentence does not hold are the model's own: "You can choose
    your seat for free at any time." for "Can I choose my seat for free?", on "Standard seats are
    free to choose for Premium Economy and Business passengers and for Northwind Miles Silver and
    Gold members.", says the question back and "at any time", which that sentence does not say."""
    if not (words & lex.words <= evidence.question_words and nums <= evidence.question_numbers):
        return True
    return bool((claimed & lex.quantifiers) - evidence.question_quantifiers)


def says_nothing_new(claim: str, words: set[str], nums: set[str], evidence: Evidence) -> bool:
    """Whether a claim only says the question's own words back: no content word, number, quantifier
    or negation the question lacks."""
    if not (words <= evidence.question_words and nums <= evidence.question_numbers):
        return False
    asked = {w.lower() for w in _QUANTIFIER.findall(evidence.question)}
    return all(w.lower() in asked for w in _QUANTIFIER.findall(claim))


@dataclass
class Verdict:
    sentence: str
    supported: bool
    support: float
    refs: list[int] = field(default_factory=list)  # 1-based passage numbers that support it
    # Whether a sentence that supports it says with it something the question does not (``_tells``)
    tells: bool = True


def page_of(passage: Passage, sentence: str) -> str:
    """The page an evidence sentence is read on, for ranking it as an answer (``measure``'s
    context): its document's title, with the heading above it in the passage ("Car rental: Extras
    and returns"); the title alone above every heading."""
    return _page(passage.title, section_headings(passage.text).get(sentence, ""))


def _page(title: str, heading: str) -> str:
    return f"{title}: {heading}" if heading and heading != title else title


def _read_on(page: str, sentence: str) -> str:
    """A sentence with the page it is read on, as the grader embeds it (``Grader.in_context``)."""
    return f"{page}: {sentence}"


class Verifier:
    """Checks one answer sentence against the evidence sentences, lexically and strictly.

    Supported means: one evidence sentence contains every number of the claim and at least
    ``min_overlap`` of its content words, and that sentence is on the question (similarity at least
    ``min_relevance``): a sentence the passages do say, about something else (a table row of the
    travel-insurance page in an answer about the fee for a second suitcase), does not answer it.
    Names count like numbers: every word the claim capitalises inside the sentence must be in that
    evidence sentence too, unless the question says it ("one 23 kg bag on Economy Light" is not
    what "one 23 kg bag on an Economy ticket" says, though it shares 7 of its 8 words). A claim
    that says no ("Miles do not expire") needs a sentence that says no too ("not", "never",
    "can't", "free", …): stopwords carry the negation, so the words alone match its opposite; and a
    sentence that says no to a word ("Tickets cannot be transferred") supports no claim that says
    that word without saying no to it.
    Embedding similarity is deliberately not enough on its own: "100 points are worth €1" and
    "points are worth €1" embed almost alike. Sentences with no content words and no numbers
    ("Yes.") are not claims and pass; numbers with no words ("2.", a list's numbering the model
    left without its items) say nothing that can be checked, and are dropped, and so is a sentence
    that introduces a list ("The checked baggage for your baby includes: 1.") whose items never come
    in it. A follow-up's answer must say one of the follow-up's own words (``Evidence.focus``): the
    economy allowance again is no answer to "and for business?". Nor is a sentence of a section
    whose heading names another action than the one the question asks how to do
    (``Evidence.off_section``): the first step of opening an account, in the model's words, for
    "How do I close my account?". Citation markers the
    model wrote are ignored; the verifier's own references replace them.
    """

    def __init__(self, min_overlap: float = 0.75, min_relevance: float = 0.0) -> None:
        self.min_overlap = min_overlap
        self.min_relevance = min_relevance

    def check(self, sentence: str, evidence: Evidence) -> Verdict:
        clean = _CITE.sub("", plain(sentence)).strip()
        words = content_words(clean)
        nums = numbers(clean)
        if not words:
            return Verdict(clean, not nums, 1.0 if not nums else 0.0)
        if _LEAD_IN.search(clean):
            return Verdict(clean, False, 0.0)  # promises a list that does not follow
        if evidence.focus and not words & evidence.focus:
            return Verdict(clean, False, 0.0)  # about the question a follow-up follows, not the follow-up
        if evidence.asks_open and says_nothing_new(clean, words, nums, evidence):
            return Verdict(clean, False, 0.0)  # the question said back ("This is where you can find…")
        named = names(clean) - evidence.question_words
        topic = subject_words(clean) & evidence.question_words
        says_no = negated(clean)
        refuses = denied(clean) if says_no else frozenset()
        scope = negated_scope(clean) if says_no else frozenset()
        best, refs, tells = 0.0, [], False
        claimed = quantifiers(clean)
        sims = evidence.sims
        off = evidence.off_section
        for i, (pi, lex) in enumerate(evidence.lexical):
            if off[i]:
                continue  # tells how to do another thing than the question asks (opening, not closing)
            ev_words = lex.words
            if (nums and not nums <= lex.numbers) or not named <= ev_words:
                continue
            if says_no and not _says_no_to_it(scope, refuses, lex):
                continue
            if not topic <= ev_words:
                continue  # says of what was asked what this sentence says of something else
            if lex.denied and _says_denied(words, lex.denied, refuses | scope):
                continue  # says what this sentence says no to
            if lex.denials and not says_no and _affirms(words, lex.denials):
                continue  # says yes to most of what this sentence says no to
            if self.min_relevance and sims[i] < self.min_relevance:
                continue  # said, but about something else (0: no floor)
            overlap = len(words & ev_words) / len(words)
            best = max(best, overlap)
            if overlap >= self.min_overlap:
                tells = tells or _tells(claimed, words, nums, lex, evidence)
                if pi + 1 not in refs:
                    refs.append(pi + 1)
        return Verdict(clean, bool(refs), round(best, 4), refs, tells)
