"""Soft coverage of a question by evidence: does the evidence mention what the question asks about?

Similarity of whole sentences tells "on topic" but not "answers it": "What upload speeds can I
expect on 5G?" is as close to a page about 5G download speeds as a question that page answers.
Coverage asks, for each content word of the question, whether some word of the evidence means the
same in context: every token of the question's content words is matched with its most similar token
of the evidence sentences (MiniLM's contextual token vectors, the model's last hidden state), and
the matches are averaged, each weighted by the word's IDF in the domain's knowledge base (rare
words carry the question). BERTScore recall, in other words, against the union of the kept
passages' sentences. A question about something the knowledge base never mentions ("Bitcoin",
"a cat in the cabin") leaves its key word unmatched.

On our QA set it separates answerable from unanswerable questions much better than similarity:
``python -m bench abstain`` prints the figures (in-sample, on held-out domains and leave-one-domain-
out).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from shared.documents import Document, read_documents
from shared.embeddings import Embedder, VectorLRU, token_rows
from shared.text import NAME, STOPWORDS, asked_span, evidence_sentences, stem, stopword, word_spans, words


def knowledge_documents(folder: Path | None) -> list[Document]:
    """Every document under a domain's knowledge folder, read as the retriever reads them at
    ingest (none when there is no such folder)."""
    if folder is None or not folder.exists():
        return []
    return list(read_documents(folder))


def knowledge_texts(folder: Path | None) -> list[str]:
    """The text of every document under a domain's knowledge folder (``knowledge_documents``)."""
    return [doc.text for doc in knowledge_documents(folder)]


@lru_cache(maxsize=20_000)
def _stems(sentence: str) -> frozenset[str]:
    """The stems of a sentence's content words (knowledge-base sentences recur: cached)."""
    return frozenset(stem(w) for w in words(sentence))


class TermWeights:
    """IDF of word stems over a knowledge base's evidence sentences; 1 for every word when the
    knowledge base is not known (coverage is then a plain mean)."""

    def __init__(self, sentences: Iterable[str] = ()) -> None:
        self.df: dict[str, int] = {}
        self.n = 0
        for sentence in sentences:
            self.n += 1
            for s in _stems(sentence):
                self.df[s] = self.df.get(s, 0) + 1

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> TermWeights:
        """From whole documents, cut into sentences as the grader cuts passages."""
        return cls(s for text in texts for s in evidence_sentences(text))

    def knows(self, word_stem: str) -> bool:
        return word_stem in self.df

    def idf(self, word_stem: str) -> float:
        if not self.n:
            return 1.0
        return math.log((self.n + 1) / (self.df.get(word_stem, 0) + 1)) + 1.0


class TokenVectors:
    """Contextual token vectors of texts (``shared.embeddings.token_rows``: MiniLM's last hidden
    state, normalised, without [CLS] and [SEP]), cached by exact text: knowledge-base sentences
    recur across questions. A query the embedder embedded lately (the question, when the domain
    embedded it) or whose vectors came with the task (``seed``) costs no model run; any other text
    ~5 ms on one core. The cache holds float16 rows (about 20 KB a sentence). The knowledge base's
    sentences, computed ahead (``warm``), are also kept as read-only float32 rows (about 40 KB a
    sentence, ~9 MB for a 230-sentence knowledge base): every grading reads a few dozen of them, and
    converting float16 rows each time was a third of a grading's CPU."""

    def __init__(self, embedder: Embedder, cache_size: int = 5_000) -> None:
        self.embedder = embedder
        self._cache = VectorLRU(cache_size)
        self._known: dict[str, np.ndarray] = {}

    def __call__(self, text: str) -> np.ndarray:
        known = self._known.get(text)
        if known is not None:
            return known
        kept = self._cache.get(text)
        if kept is None:
            kept = self.embedder.tokens(text)
            if kept is None:
                kept = token_rows(self.embedder.hidden(text)).astype(np.float16)
            self._cache.put(text, kept)
        return kept.astype(np.float32)

    def seed(self, text: str, rows: np.ndarray) -> None:
        """Keep vectors computed elsewhere by the same model (the router's, carried with the task)."""
        self._cache.put(text, np.asarray(rows, dtype=np.float16))  # kept as a copy

    def ready(self, text: str) -> bool:
        """Whether ``text``'s vectors are at hand (no model run needed)."""
        return text in self._known or self._cache.has(text) or self.embedder.recent_tokens.has(text)

    def warm(self, texts: Iterable[str]) -> int:
        """Compute and keep the vectors of ``texts`` ahead (a knowledge base's sentences at start)."""
        n = 0
        for text in texts:
            if text in self._known:
                continue
            if self._cache.get(text) is None:
                n += 1
            rows = self(text)
            rows.flags.writeable = False
            self._known[text] = rows
        return n


# Word pieces that only inflect the piece before them ("cancel" + "##ling"): they carry no meaning
# of their own, so they do not decide how well an unknown word is matched.
_INFLECTION = frozenset(
    "##" + suffix
    for suffix in (
        *("s", "es", "d", "ed", "ing", "ling", "ning", "ting", "ping", "ies", "ied", "ly"),
        *("er", "ers", "ment", "ments", "ion", "ions", "ation", "ations"),
    )
)


@dataclass(frozen=True)
class QuestionWord:
    """One content word of a question: its token positions (without [CLS]), the stem its IDF is
    read by, the stems the knowledge base may know it by (the word itself as ``words`` reads it:
    "MOB-402" is one word there, three tokens for the model), which of its tokens carry meaning
    (not an inflection piece), and whether the question capitalises it inside a sentence (a name)."""

    positions: tuple[int, ...]
    stem: str
    known_as: tuple[str, ...]
    meaning: tuple[int, ...]  # indices into ``positions``
    name: bool
    start: int  # character offsets of the word in the text
    end: int


# A name after a preposition ("…in Tokyo?", "…on my Pixel?", "…for Christmas?") sets the scene of
# what is asked rather than naming what is asked about ("Is India one of the countries…?").
_PREPOSITION = re.compile(
    r"in|on|at|to|from|for|with|like|near|during|via|through|into|onto|over|under|across|around|within",
    re.IGNORECASE,
)
_DETERMINER = re.compile(r"my|your|his|her|our|their|its|the|a|an|this|that|these|those", re.IGNORECASE)


def _sets_the_scene(text: str, start: int) -> bool:
    """Whether the word at ``start`` follows a preposition in its sentence, across determiners and
    other names."""
    sentence = re.split(r"[.!?]\s", text[:start])[-1]
    for w in reversed(re.findall(r"[A-Za-z][\w'-]*", sentence)):
        if w[0].isupper() or _DETERMINER.fullmatch(w):
            continue
        return _PREPOSITION.fullmatch(w) is not None
    return False


def question_words(embedder: Embedder, text: str) -> list[QuestionWord]:
    """The content words (not stopwords, not numbers) of ``text`` with their tokens."""
    enc = embedder.encoding(text)
    pieces = enc.tokens
    grouped: dict[int, list[int]] = {}
    spans: dict[int, tuple[int, int]] = {}
    for i, (w, (a, b)) in enumerate(zip(enc.word_ids, enc.offsets, strict=True)):
        if w is not None:
            grouped.setdefault(w, []).append(i)
            lo, hi = spans.get(w, (a, b))
            spans[w] = (min(lo, a), max(hi, b))
    names = [m.span() for m in NAME.finditer(text)]
    whole = word_spans(text)
    out = []
    for w, positions in grouped.items():
        a, b = spans[w]
        piece = text[a:b].lower()
        if piece in STOPWORDS or not piece[0].isalpha():
            continue  # most words of a question: no regex run for them
        around = [x for lo, hi, x in whole if lo <= a < hi]  # "won't" around the model's "won" and "t"
        ws = words(piece)
        if not ws or any(stopword(x) for x in around):
            continue
        if len(piece) == 1 and text[b : b + 1] == "-":
            continue  # the "e" of "e-bike", the "t" of "t-shirt": a letter says nothing by itself
        own = stem(ws[0])
        enclosing = [stem(x) for x in around if x != ws[0]]
        meaning = tuple(k for k, i in enumerate(positions) if pieces[i] not in _INFLECTION)
        out.append(
            QuestionWord(
                positions=tuple(i - 1 for i in positions),
                stem=own,
                known_as=tuple(dict.fromkeys([own, *enclosing])),
                meaning=meaning or tuple(range(len(positions))),
                name=any(lo <= a < hi for lo, hi in names) and not _sets_the_scene(text, a),
                start=a,
                end=b,
            )
        )
    return out


def content_tokens(embedder: Embedder, text: str) -> list[tuple[int, str]]:
    """(position among the text's tokens without [CLS], stem of its word) for every token that
    belongs to a content word (not a stopword, not a number)."""
    return [(i, w.stem) for w in question_words(embedder, text) for i in w.positions]


# A sentence that asks with fewer distinct content words than this ("What's wrong?", "What does
# that mean?") asks about what was said before it: the whole text counts.
_SHORT_QUESTION = 3


def coverage(question: str, sentences: Sequence[str], tokens: TokenVectors, weights: TermWeights) -> float:
    """IDF-weighted mean, over the content-word tokens of the sentence that asks, of each token's
    best cosine with a token of ``sentences``. 1.0 for a question without content words (nothing
    to miss); 0.0 without evidence.

    Only the sentence that asks counts when the question says something first: "My 2,000 km flight
    from Lisbon landed 4 hours late. How much compensation can I get?" asks about compensation,
    and what it tells (Lisbon) need not be in the evidence; unless that sentence is too short to
    ask anything by itself ("What's wrong?"). A word the knowledge base never uses
    is matched only as well as its weakest meaningful piece: "cashback" is "cash" + "##back", and
    "cash" alone matches the page on ATM withdrawals perfectly. A name it never mentions matches
    nothing: the contextual vector of "India" in "Is India one of the countries included…" is
    close to the page's "countries", which is exactly what the question cannot take for granted."""
    return measure(question, sentences, tokens, weights).covered


@dataclass
class _Matches:
    """Each content-word token of the sentence that asks, matched against every evidence sentence."""

    words: list[QuestionWord]
    texts: list[str]  # the distinct evidence sentences, in order
    per_sentence: np.ndarray  # (sentence, token): the token's best cosine in that sentence
    best: np.ndarray  # (token,): its best over all of them
    weights: np.ndarray  # (token,): the IDF of its word
    contexts: list[str]  # the distinct context texts, in order
    per_context: np.ndarray  # (context, token): the token's best cosine in that context text


def _matches(
    question: str,
    sentences: Sequence[str],
    tokens: TokenVectors,
    weights: TermWeights,
    context: Sequence[str] = (),
) -> _Matches | None:
    """None when the question has no content words (nothing to miss). ``context`` texts (the
    pages the sentences are read on) are matched as the sentences are, into ``_Matches.per_context``, and
    count for nothing else."""
    every = question_words(tokens.embedder, question)
    lo, hi = asked_span(question)
    qwords = [w for w in every if lo <= w.start < hi]
    if len({w.stem for w in qwords}) < _SHORT_QUESTION:
        qwords = every
    if not qwords:
        return None
    positions = [i for w in qwords for i in w.positions]
    # Sentence by sentence: one product over the concatenated tokens costs twice as much (the copy,
    # and BLAS is slow on a short times long-and-wide product).
    rows = [(text, t) for text in dict.fromkeys(sentences) if len(t := tokens(text))]
    if not rows:
        zeros = np.zeros(len(positions), dtype=np.float32)
        none = np.zeros((0, len(positions)), dtype=np.float32)
        return _Matches(qwords, [], none, zeros, zeros + 1, [], none)
    q = tokens(question)[positions]
    per_sentence = np.stack([(t @ q.T).max(axis=0) for _, t in rows])
    best = per_sentence.max(axis=0)
    around = [(text, t) for text in dict.fromkeys(context) if len(t := tokens(text))]
    per_context = (
        np.stack([(t @ q.T).max(axis=0) for _, t in around])
        if around
        else np.zeros((0, len(positions)), dtype=np.float32)
    )
    w = np.empty(len(best), dtype=np.float32)
    said: frozenset[str] | None = None
    k = 0
    for word in qwords:
        n = len(word.positions)
        unknown = bool(weights.n) and not any(weights.knows(x) for x in word.known_as)
        # A document ingested after start-up is not in the weights: what the evidence says is known.
        if unknown:
            said = frozenset().union(*map(_stems, sentences)) if said is None else said
            unknown = not any(x in said for x in word.known_as)
        if unknown:
            if word.name:
                best[k : k + n] = per_sentence[:, k : k + n] = per_context[:, k : k + n] = 0.0
            else:
                meaning = [k + m for m in word.meaning]
                best[k : k + n] = best[meaning].min()
                per_sentence[:, k : k + n] = per_sentence[:, meaning].min(axis=1, keepdims=True)
                per_context[:, k : k + n] = per_context[:, meaning].min(axis=1, keepdims=True)
        w[k : k + n] = weights.idf(word.stem)
        k += n
    contexts = [text for text, _ in around]
    return _Matches(qwords, [text for text, _ in rows], per_sentence, best, w, contexts, per_context)


@dataclass
class Coverage:
    """The question's coverage by all the sentences, by each of them alone (by text), and the
    matches both were read from, which also say how well each question word is covered."""

    covered: float
    each: dict[str, float]
    matches: _Matches | None  # None: the question has no content words

    def by_word(self, question: str) -> list[tuple[str, float]]:
        """How well the sentences cover each content word of the sentence that asks (the mean of
        its tokens' best cosines), least covered first: what an abstention was missing."""
        m = self.matches
        if m is None:
            return []
        out: dict[str, float] = {}
        k = 0
        for word in m.words:
            n = len(word.positions)
            text = question[word.start : word.end]
            out[text] = min(out.get(text, 1.0), float(m.best[k : k + n].mean()))
            k += n
        return sorted(out.items(), key=lambda kv: kv[1])


def measure(
    question: str,
    sentences: Sequence[str],
    tokens: TokenVectors,
    weights: TermWeights,
    context: Sequence[str] = (),
) -> Coverage:
    """``coverage`` of the question by all of ``sentences`` and by each of them alone: the same
    products, read twice (the revision ranks its quotes by the second); and the grader reads them
    a third time for the words an abstention missed (``Coverage.by_word``).

    ``context``, when given, holds the page each sentence is read on, in the order of
    ``sentences`` (its document's title and section heading: "Car rental: Extras and returns"),
    and a sentence alone covers a word when it or its page does. "Returns up to 29 minutes late
    are free …" answers "What if I return the rental car late?" though it names neither "car"
    nor "rental"; alone it covered the question less than "It is released within 14 days of
    returning the car undamaged.", which names both and not "late". The coverage of the
    question by all the sentences (whether it is answerable) stays theirs alone."""
    m = _matches(question, sentences, tokens, weights, context)
    if m is None:
        return Coverage(1.0, dict.fromkeys(sentences, 1.0), None)
    if not m.texts:
        return Coverage(0.0, dict.fromkeys(sentences, 0.0), m)
    per = m.per_sentence
    if len(m.contexts):  # each sentence's row, at least as good as its page's
        row = {text: i for i, text in enumerate(m.texts)}
        of = {title: i for i, title in enumerate(m.contexts)}
        page = np.full(len(m.texts), -1)
        for text, title in zip(sentences, context, strict=True):
            if text in row and title in of:
                page[row[text]] = of[title]
        paged = page >= 0
        per = per.copy()
        per[paged] = np.maximum(per[paged], m.per_context[page[paged]])
    total = m.weights.sum()
    each = dict(zip(m.texts, ((per @ m.weights) / total).tolist(), strict=True))
    covered = float((m.best * m.weights).sum() / total)
    return Coverage(covered, {text: each.get(text, 0.0) for text in sentences}, m)
