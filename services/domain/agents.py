"""The domain's agents: rewrite, search, grade, answer, verify (and revise once, or abstain).

Each agent is a small unit with one job. The model may be tiny (SmolLM2-135M here), so grounding
does not depend on the model behaving. The grader decides whether the knowledge base answers the
question at all. The verifier checks each sentence of the model's answer against the passages
*before* it is streamed, and drops what it cannot support. When nothing survives, the answer is
revised once, extractively, from the best evidence sentence, or the domain abstains.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from contracts import Passage, QueryEmbedding, RetrievalRequest, RetrievalResult, Turn
from shared.embeddings import Embedder, from_message
from shared.text import stem, words

Search = Callable[[RetrievalRequest, float], Awaitable[RetrievalResult]]

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MARKUP = re.compile(r"[*_`#>|]+")
_RULE = re.compile(r"(?<!\w):?-{3,}:?(?!\w)")
_CITE = re.compile(r"\s*\[\d{1,2}\]")
_FOLLOW_UP = re.compile(
    r"^\s*(and|what about|how about|also|same)\b|\b(there|it|its|that|those|them|this|these|they)\b",
    re.IGNORECASE,
)


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def plain(text: str) -> str:
    """Text without Markdown emphasis, table bars and rules."""
    return " ".join(_RULE.sub(" ", _MARKUP.sub(" ", text)).split())


def content_words(text: str) -> set[str]:
    return {stem(w) for w in words(text) if not w[0].isdigit()}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


# ---- rewriter -----------------------------------------------------------------------------------
class Rewriter:
    """Turns a follow-up into self-contained search queries using the conversation.

    A query that reads as a follow-up ("and for business?", "how much is it?") is searched both as
    it is and joined with the previous question; the searcher runs them in parallel.
    """

    def rewrite(self, question: str, history: Sequence[Turn]) -> list[str]:
        question = question.strip()
        if history and (_FOLLOW_UP.search(question) or len(question.split()) <= 4):
            return [question, f"{history[-1].question} {question}"]
        return [question]


# ---- searcher -----------------------------------------------------------------------------------
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
    ) -> list[Passage]:
        """``embeddings`` holds vectors already computed for some of the queries (sent along so the
        retriever does not embed them again)."""
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
                    ),
                    self.timeout_s,
                )
                for q in queries
            )
        )
        fused: dict[tuple[str, int], float] = {}
        best: dict[tuple[str, int], Passage] = {}
        for result in results:
            for rank, p in enumerate(result.passages):
                key = (p.doc_id, p.chunk)
                fused[key] = fused.get(key, 0.0) + 1.0 / (60 + rank)
                if key not in best or p.score > best[key].score:
                    best[key] = p
        order = sorted(fused, key=lambda k: -fused[k])
        return [best[k] for k in order[: self.top_k]]


# ---- grader -------------------------------------------------------------------------------------
@dataclass
class Evidence:
    """Passages kept by the grader, their sentences and embeddings, and whether they answer."""

    question: str
    passages: list[Passage]
    sentences: list[tuple[int, str]]  # (passage index, sentence)
    vectors: np.ndarray
    question_vector: np.ndarray
    relevance: list[float]
    answerable: bool
    answerability: float
    reason: str = ""

    def best_sentences(self, n: int = 2) -> list[tuple[int, str, float]]:
        sims = self.vectors @ self.question_vector if len(self.sentences) else np.zeros(0)
        order = np.argsort(-sims)[:n]
        return [(self.sentences[i][0], self.sentences[i][1], float(sims[i])) for i in order]


class Grader:
    """Drops passages that do not bear on the question and decides whether the rest answer it.

    Relevance of a passage is the best cosine similarity between the question and one of its
    sentences (MiniLM). The knowledge base is taken to answer when the best sentence is at least
    ``answer_threshold`` similar to the question.
    """

    def __init__(
        self,
        embedder: Embedder,
        min_relevance: float = 0.35,
        answer_threshold: float = 0.55,
        cache_size: int = 20_000,
    ) -> None:
        self.embedder = embedder
        self.min_relevance = min_relevance
        self.answer_threshold = answer_threshold
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def _encode(self, sentences: list[str]) -> np.ndarray:
        """Sentence vectors, cached: knowledge-base sentences recur across questions."""
        missing = [s for s in dict.fromkeys(sentences) if s not in self._cache]
        if missing:
            for s, v in zip(missing, self.embedder.encode(missing), strict=True):
                self._cache[s] = v
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        for s in sentences:
            self._cache.move_to_end(s)
        return np.stack([self._cache[s] for s in sentences])

    def question_vector(
        self, question: str, carried: QueryEmbedding | None = None
    ) -> tuple[np.ndarray, bool]:
        """The question's vector: the carried one when it is this model's vector of exactly this
        text (reused: True), else computed here."""
        vector = from_message(carried, question)
        if vector is not None:
            return vector, True
        return self.embedder.encode_one(question), False

    def grade(
        self,
        question: str,
        passages: list[Passage],
        max_passages: int = 3,
        question_vector: np.ndarray | None = None,
    ) -> Evidence:
        sentences = [(i, plain(s)) for i, p in enumerate(passages) for s in split_sentences(p.text)]
        sentences = [(i, s) for i, s in sentences if len(s.split()) >= 3]
        q = self.embedder.encode_one(question) if question_vector is None else question_vector
        vecs = self._encode([s for _, s in sentences]) if sentences else np.zeros((0, len(q)))
        sims = vecs @ q if len(sentences) else np.zeros(0)
        relevance = []
        for i in range(len(passages)):
            mine = [sims[j] for j, (pi, _) in enumerate(sentences) if pi == i]
            relevance.append(float(max(mine)) if mine else 0.0)
        keep = [i for i in np.argsort(-np.array(relevance)) if relevance[i] >= self.min_relevance][
            :max_passages
        ]
        keep = sorted(keep, key=lambda i: -relevance[i])
        kept = [passages[i] for i in keep]
        remap = {old: new for new, old in enumerate(keep)}
        kept_sentences = [(remap[pi], s) for pi, s in sentences if pi in remap]
        kept_vecs = vecs[[j for j, (pi, _) in enumerate(sentences) if pi in remap]] if kept else vecs[:0]
        best = max((relevance[i] for i in keep), default=0.0)
        answerable = best >= self.answer_threshold
        reason = (
            f"best evidence sentence similarity {best:.2f} "
            f"{'>=' if answerable else '<'} {self.answer_threshold:.2f}"
        )
        return Evidence(
            question=question,
            passages=kept,
            sentences=kept_sentences,
            vectors=kept_vecs,
            question_vector=q,
            relevance=[relevance[i] for i in keep],
            answerable=answerable,
            answerability=round(best, 4),
            reason=reason,
        )


# ---- verifier -----------------------------------------------------------------------------------
@dataclass
class Verdict:
    sentence: str
    supported: bool
    support: float
    refs: list[int] = field(default_factory=list)  # 1-based passage numbers that support it


class Verifier:
    """Checks one answer sentence against the evidence sentences, lexically and strictly.

    Supported means: one evidence sentence contains every number of the claim and at least
    ``min_overlap`` of its content words. Embedding similarity is deliberately not enough on its own:
    "100 points are worth €1" and "points are worth €1" embed almost alike. Sentences with no
    content words ("Sure.") are not claims and pass. Citation markers the model wrote are ignored;
    the verifier's own references replace them.
    """

    def __init__(self, min_overlap: float = 0.75) -> None:
        self.min_overlap = min_overlap

    def check(self, sentence: str, evidence: Evidence) -> Verdict:
        clean = _CITE.sub("", plain(sentence)).strip()
        words = content_words(clean)
        nums = numbers(clean)
        if not words and not nums:
            return Verdict(clean, True, 1.0)
        best, refs = 0.0, []
        for pi, ev in evidence.sentences:
            if nums and not nums <= numbers(ev):
                continue
            overlap = len(words & content_words(ev)) / len(words) if words else 1.0
            best = max(best, overlap)
            if overlap >= self.min_overlap and pi + 1 not in refs:
                refs.append(pi + 1)
        return Verdict(clean, bool(refs), round(best, 4), refs)
