"""The retriever scores passages' sentences from vectors embedded at ingest; the grader uses them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contracts import Passage, RetrievalRequest, RetrievalResult
from services.domain.agents import Grader, Searcher
from services.retriever.sentences import SentenceVectors
from shared.embeddings import Embedder, default_embedder
from shared.text import evidence_sentences

TEXT = (
    "## Checked baggage\n"
    "Economy fares include **one checked bag** of up to 23 kg. "
    "Business fares include two bags of up to 32 kg each. Ok."
)


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


def passage(text: str = TEXT, chunk: int = 0) -> Passage:
    return Passage(doc_id="bags.md", title="Bags", chunk=chunk, text=text, score=1.0, source="bags.md")


def test_sentences_are_embedded_once_and_persisted(embedder: Embedder, tmp_path: Path) -> None:
    table = SentenceVectors(embedder, tmp_path)
    sentences = evidence_sentences(TEXT)
    assert (
        sentences
        == [
            "Checked baggage",  # headings count only when long enough: this one is filtered below
            "Economy fares include one checked bag of up to 23 kg.",
            "Business fares include two bags of up to 32 kg each.",
        ][1:]
        or len(sentences) == 2
    )
    assert table.add(sentences) == len(sentences)
    assert table.add(sentences) == 0
    table.save()
    again = SentenceVectors(embedder, tmp_path)
    assert len(again) == len(sentences) and again.add(sentences) == 0
    q = embedder.encode_one("How many checked bags on economy?")
    expected = embedder.encode(sentences) @ q
    assert np.allclose(again.scores(sentences, q), expected, atol=2e-3)  # stored as float16


def test_a_damaged_table_is_rebuilt_not_fatal(embedder: Embedder, tmp_path: Path) -> None:
    table = SentenceVectors(embedder, tmp_path)
    assert table.path is not None
    table.path.write_bytes(b"not an npz file")
    assert len(SentenceVectors(embedder, tmp_path)) == 0


def test_the_table_is_bounded(embedder: Embedder) -> None:
    table = SentenceVectors(embedder, max_entries=1)
    sentences = evidence_sentences(TEXT)
    q = embedder.encode_one("bags")
    assert table.add(sentences) == 1 and len(table) == 1
    assert table.scores(sentences, q).shape == (len(sentences),)  # still scored, not kept
    [annotated] = table.annotate([passage()], q)
    assert [sc.text for sc in annotated.sentences or []] == evidence_sentences(passage().text)
    assert len(table) == 1


def test_a_chunk_scores_alike_the_second_time(embedder: Embedder) -> None:
    table = SentenceVectors(embedder)
    q = embedder.encode_one("How many checked bags does an economy ticket include?")
    first = table.annotate([passage()], q)
    again = table.annotate([passage()], q)  # its sentences and rows are remembered
    assert first == again
    assert first[0].sentences and np.allclose(
        [sc.score for sc in first[0].sentences],
        table.scores([sc.text for sc in first[0].sentences], q),
        atol=1e-5,
    )


def test_the_grade_is_the_same_whether_the_retriever_or_the_grader_scores(embedder: Embedder) -> None:
    question = "How many checked bags does an economy ticket include?"
    q = embedder.encode_one(question)
    other = passage("Pets travel in the hold in an approved crate. Fees depend on the route.", chunk=1)
    plain_passages = [passage(), other]
    scored = SentenceVectors(embedder).annotate(plain_passages, q)
    grader = Grader(embedder)
    by_grader = grader.grade(question, plain_passages, question_vector=q)
    by_retriever = Grader(embedder).grade(question, scored, question_vector=q)
    assert by_grader.computed > 0 and by_retriever.computed == 0
    assert [p.chunk for p in by_retriever.passages] == [p.chunk for p in by_grader.passages]
    assert by_retriever.answerable == by_grader.answerable
    assert by_retriever.answerability == pytest.approx(by_grader.answerability, abs=2e-3)
    assert by_retriever.sentences == by_grader.sentences


async def test_the_searcher_asks_for_scores_only_for_the_graded_question() -> None:
    asked: list[RetrievalRequest] = []

    async def search(req: RetrievalRequest, _timeout: float) -> RetrievalResult:
        asked.append(req)
        p = passage()
        if req.sentence_scores:
            p = p.model_copy(update={"sentences": []})
        return RetrievalResult(domain=req.domain, passages=[p], took_ms=0.1)

    got = await Searcher(search).run(
        ["and business?", "checked bags and business?"],
        domain="travel", tenant="default", query_id="q1", score_against="checked bags and business?",
    )  # fmt: skip
    assert [r.sentence_scores for r in asked] == [False, True]
    assert got[0].sentences == []  # the scored version of the passage is the one kept
