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
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from shared.documents import read_documents
from shared.embeddings import Embedder, VectorLRU, token_rows
from shared.text import evidence_sentences, stem, words


def knowledge_texts(folder: Path | None) -> list[str]:
    """The text of every document under a domain's knowledge folder, read as the retriever reads
    them at ingest (none when there is no such folder)."""
    if folder is None or not folder.exists():
        return []
    return [doc.text for doc in read_documents(folder)]


class TermWeights:
    """IDF of word stems over a knowledge base's evidence sentences; 1 for every word when the
    knowledge base is not known (coverage is then a plain mean)."""

    def __init__(self, sentences: Iterable[str] = ()) -> None:
        self.df: dict[str, int] = {}
        self.n = 0
        for sentence in sentences:
            self.n += 1
            for s in {stem(w) for w in words(sentence)}:
                self.df[s] = self.df.get(s, 0) + 1

    @classmethod
    def of_texts(cls, texts: Iterable[str]) -> TermWeights:
        """From whole documents, cut into sentences as the grader cuts passages."""
        return cls(s for text in texts for s in evidence_sentences(text))

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


def content_tokens(embedder: Embedder, text: str) -> list[tuple[int, str]]:
    """(position among the text's tokens without [CLS], stem of its word) for every token that
    belongs to a content word (not a stopword, not a number)."""
    enc = embedder.tokenizer.encode(text)
    spans: dict[int, tuple[int, int]] = {}
    for w, (a, b) in zip(enc.word_ids, enc.offsets, strict=True):
        if w is not None:
            lo, hi = spans.get(w, (a, b))
            spans[w] = (min(lo, a), max(hi, b))
    out = []
    for i, w in enumerate(enc.word_ids):
        if w is None:
            continue
        a, b = spans[w]
        ws = [x for x in words(text[a:b]) if not x[0].isdigit()]
        if ws:
            out.append((i - 1, stem(ws[0])))
    return out


def coverage(question: str, sentences: Sequence[str], tokens: TokenVectors, weights: TermWeights) -> float:
    """IDF-weighted mean, over the question's content-word tokens, of each token's best cosine with
    a token of ``sentences``. 1.0 for a question without content words (nothing to miss); 0.0
    without evidence."""
    rows = content_tokens(tokens.embedder, question)
    if not rows:
        return 1.0
    if not sentences:
        return 0.0
    q = tokens(question)[[i for i, _ in rows]]
    # Sentence by sentence: one product over the concatenated tokens costs twice as much (the copy,
    # and BLAS is slow on a short times long-and-wide product).
    per_sentence = [(t @ q.T).max(axis=0) for t in map(tokens, dict.fromkeys(sentences)) if len(t)]
    if not per_sentence:
        return 0.0
    best = np.max(per_sentence, axis=0)
    w = np.array([weights.idf(s) for _, s in rows], dtype=np.float32)
    return float((best * w).sum() / w.sum())
