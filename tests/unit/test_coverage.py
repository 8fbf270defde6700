"""The grader's coverage signal, with the real MiniLM model on a shipped knowledge base: near misses
that similarity alone got wrong, on both sides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from contracts import Passage, RetrievalRequest
from services.domain.agents import Evidence, Grader
from services.domain.coverage import (
    TermWeights,
    TokenVectors,
    coverage,
    knowledge_documents,
    knowledge_texts,
    measure,
    question_words,
)
from services.retriever.handlers import RetrieverState, retrieve
from services.retriever.ingest import ingest_path
from services.retriever.sentences import SentenceVectors
from services.retriever.store import EmbeddedStore
from shared.domains import load_domains
from shared.embeddings import Embedder, default_embedder
from shared.settings import DEFAULT_DOMAINS_DIR
from shared.text import asked_span, stem

OLD_THRESHOLD = 0.55  # the grader's similarity-only bar before coverage


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return default_embedder()


@pytest.fixture(scope="module")
def fintech(embedder: Embedder, tmp_path_factory: pytest.TempPathFactory) -> tuple[RetrieverState, Grader]:
    kb = load_domains(DEFAULT_DOMAINS_DIR)["fintech"].knowledge_dir
    assert kb is not None
    store = EmbeddedStore(Path(tmp_path_factory.mktemp("index")))
    sentences = SentenceVectors(embedder)
    ingest_path(store, embedder, tenant="default", domain="fintech", path=kb, sentences=sentences)
    state = RetrieverState(store=store, embedder=embedder, domains={"fintech"}, sentences=sentences)
    return state, Grader(embedder, knowledge=knowledge_texts(kb))


def grade(fintech: tuple[RetrieverState, Grader], question: str, scored: bool = True) -> Evidence:
    state, grader = fintech
    q = state.embedder.encode_one(question)
    req = RetrievalRequest(domain="fintech", query=question, top_k=5, sentence_scores=scored)
    passages, _ = retrieve(state, req)
    return grader.grade(question, passages, question_vector=q)


def test_an_answerable_question_worded_unlike_the_page_is_answered(
    fintech: tuple[RetrieverState, Grader],
) -> None:
    evidence = grade(fintech, "Can I use my driving licence as ID to verify my account?")
    assert max(evidence.relevance) < OLD_THRESHOLD  # similarity alone abstained
    assert evidence.answerable, evidence.reason
    assert evidence.answerability == evidence.coverage


@pytest.mark.parametrize(
    "question",
    [
        "Can I buy and sell Bitcoin in the Northwind Pay app?",
        "Can I invest in stocks or ETFs through Northwind Pay?",
    ],
)
def test_an_on_topic_question_the_pages_never_mention_is_abstained(
    fintech: tuple[RetrieverState, Grader], question: str
) -> None:
    evidence = grade(fintech, question)
    assert max(evidence.relevance) >= OLD_THRESHOLD  # similarity alone answered
    assert not evidence.answerable, evidence.reason
    assert evidence.passages  # relevant passages are still kept: only the verdict changed


def test_the_verdict_is_the_same_when_the_grader_scores_the_sentences_itself(
    fintech: tuple[RetrieverState, Grader],
) -> None:
    for question in (
        "Can I use my driving licence as ID to verify my account?",
        "Can I buy and sell Bitcoin?",
    ):
        by_retriever, by_grader = grade(fintech, question), grade(fintech, question, scored=False)
        assert by_grader.computed > 0 and by_retriever.computed == 0
        assert by_grader.answerable == by_retriever.answerable
        assert by_grader.coverage == pytest.approx(by_retriever.coverage, abs=1e-3)


def test_below_the_similarity_floor_coverage_is_not_computed(embedder: Embedder) -> None:
    off_topic = Passage(
        doc_id="a.md", title="A", chunk=0, text="Pets travel in the hold in a crate.", score=1.0, source=""
    )
    evidence = Grader(embedder).grade("What is the interest rate on savings?", [off_topic])
    assert not evidence.answerable and evidence.answerability == 0.0


def test_rare_words_weigh_more_and_edge_cases(embedder: Embedder) -> None:
    weights = TermWeights(["The card is free.", "The card costs 5 EUR abroad.", "Vaults pay interest."])
    assert weights.idf("vault") > weights.idf("card")
    assert TermWeights().idf("anything") == 1.0  # no knowledge base: a plain mean
    tokens = TokenVectors(embedder)
    assert coverage("Is it?", ["The card is free."], tokens, weights) == 1.0  # no content words
    assert coverage("Is the card free?", [], tokens, weights) == 0.0
    full = coverage("Is the card free?", ["The card is free."], tokens, weights)
    part = coverage("Is the card free?", ["Vaults pay interest."], tokens, weights)
    assert full > 0.9 and part < full
    assert np.isclose(tokens("The card is free.")[0] @ tokens("The card is free.")[0], 1.0, atol=1e-2)


def test_token_vectors_from_another_process_grade_alike_and_spare_the_model_run(
    fintech: tuple[RetrieverState, Grader],
) -> None:
    """The router's embedder computes the question's token vectors as it embeds it; a grader given
    them (as a domain is, from the task) reaches the same verdict with no model run on the question."""
    state, grader = fintech
    router = Embedder()  # another embedder of the same model, as in the router's process
    question = "Can I use my driving licence as ID to verify my account?"
    router.encode_one(question)
    carried = router.tokens(question)
    assert carried is not None and len(carried) == router.token_count(question)
    req = RetrievalRequest(domain="fintech", query=question, top_k=5, sentence_scores=True)
    passages, _ = retrieve(state, req)
    fresh = Grader(state.embedder, knowledge=[])
    fresh.weights = grader.weights
    fresh.embedder = Embedder()  # nothing run on this one yet
    fresh.tokens = TokenVectors(fresh.embedder)
    documents = knowledge_documents(load_domains(DEFAULT_DOMAINS_DIR)["fintech"].knowledge_dir)
    texts, titles = [d.text for d in documents], [d.title for d in documents]
    assert fresh.warm(texts) and fresh.needs_model(question, passages)
    fresh.tokens.seed(question, carried)
    assert fresh.needs_model(question, passages)  # the pages the sentences are read on are not at hand
    assert fresh.warm(texts, titles) > 0  # only the pages are new
    assert not fresh.needs_model(question, passages)  # warmed as a domain does at start
    q = router.encode_one(question)
    assert fresh.grade(question, passages, question_vector=q).coverage == pytest.approx(
        grader.grade(question, passages, question_vector=q).coverage, abs=1e-6
    )


def test_the_sentence_that_asks_names_and_meaningful_pieces(embedder: Embedder) -> None:
    told, asked = "My flight from Lisbon was late.", "How much compensation can I get?"
    assert asked_span(f"{told} {asked}") == (len(told) + 1, len(told) + 1 + len(asked))
    assert asked_span("How much? I ask.") == (0, 9)  # the last sentence that asks
    assert asked_span("My flight was late. I want money.") == (0, 33)  # none asks: all of it
    by_stem = {
        w.stem: w for w in question_words(embedder, "I'm sure. Is India one of the countries with mortgages?")
    }
    assert (
        by_stem["india"].name and not by_stem[stem("countries")].name and "m" not in by_stem
    )  # "I'm": no word
    scene = {
        w.stem: w.name
        for w in question_words(embedder, "Can I use it in Tokyo, on my Sony TV, for Christmas?")
    }
    assert scene == {
        "use": False,
        "tokyo": False,
        "soni": False,
        "tv": False,
        "christma": False,
    }  # they set the scene
    mortgages = by_stem["mortgag"]  # "mortgage" + "##s": the plural piece carries no meaning
    assert len(mortgages.positions) == 2 and mortgages.meaning == (0,)
    # the model reads "e-bike" as "e", "-", "bike": the letter was a word the pages had to cover
    # ("Can I take my e-bike battery on the plane?" abstained on "e", 0.19)
    compound = {w.stem for w in question_words(embedder, "Can I take my e-bike battery on the plane?")}
    assert compound == {"take", "bike", stem("battery"), "plane"}


def test_a_name_or_word_the_knowledge_base_never_uses_is_not_matched_by_its_neighbours(
    embedder: Embedder,
) -> None:
    kb = [
        "The card is free.",
        "The card costs 5 EUR abroad.",
        "Cash withdrawals at ATMs are free up to 200 EUR.",
    ]
    tokens, weights = TokenVectors(embedder), TermWeights(kb)
    known_city = TermWeights([*kb, "Lisbon is a city."])
    # the name matches nothing where the knowledge base never mentions it
    assert coverage("Is the card free in Lisbon?", kb[:1], tokens, weights) < (
        coverage("Is the card free in Lisbon?", kb[:1], tokens, known_city) - 0.05
    )
    # "cashback" is matched by its weakest piece ("##back"), not by "cash"
    cashback = coverage("Is there cashback on the card?", kb, tokens, weights)
    assert cashback < coverage("Is there cash on the card?", kb, tokens, weights) - 0.3
    assert (
        cashback < coverage("Is there cashback on the card?", kb, tokens, TermWeights()) - 0.2
    )  # KB unknown
    # what the question tells before it asks is not held against the evidence
    assert (
        coverage("I fly to Lisbon tomorrow with my family. Is the card free abroad?", kb, tokens, weights)
        > 0.85
    )
    # ... unless what it asks is too short to ask anything alone
    short = "The app shows error MOB-402. What's wrong?"
    silent, says = (
        ["If something is wrong, restart the card reader."],
        ["The app shows error MOB-402 when it is wrong."],
    )
    assert (
        coverage(short, says, tokens, TermWeights(says))
        > coverage(short, silent, tokens, TermWeights(silent)) + 0.2
    )


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("Is Japanese yen one of the currencies I can hold in the app?", "Japanese"),  # 30, no list
        ("Do I get cashback when I pay with my Northwind Pay card?", "cashback"),
    ],
)
def test_a_question_about_a_name_or_a_word_the_pages_never_use_is_abstained(
    fintech: tuple[RetrieverState, Grader], question: str, missing: str
) -> None:
    evidence = grade(fintech, question)
    assert evidence.passages and not evidence.answerable, evidence.reason
    # the reason says so: the figures against the thresholds, and the word the pages lack first
    assert "coverage of the question" in evidence.reason and "< 0.64" in evidence.reason
    assert evidence.reason.split("least covered: ")[1].startswith(repr(missing)), evidence.reason


def test_coverage_by_word_puts_the_word_the_evidence_lacks_first(embedder: Embedder) -> None:
    kb = ["Cash withdrawals at ATMs are free up to 200 EUR a day.", "Vaults pay interest."]
    tokens, weights = TokenVectors(embedder), TermWeights(kb)
    question = "How much cash can I withdraw at ATMs on a submarine?"
    each = measure(question, kb, tokens, weights).by_word(question)
    assert each[0][0] == "submarine"
    assert {w for w, _ in each} == {"much", "cash", "withdraw", "ATMs", "submarine"}
    assert dict(each)["ATMs"] > dict(each)["submarine"] + 0.3 and all(0 <= c <= 1.0001 for _, c in each)
    assert measure("How much cash?", [], tokens, weights).by_word("How much cash?") == [
        ("much", 0.0),
        ("cash", 0.0),
    ]


def test_each_sentence_covers_the_question_on_its_own(embedder: Embedder) -> None:
    kb = [
        "The card is free.",
        "Cash withdrawals at ATMs are free up to 200 EUR a day.",
        "Vaults pay interest.",
    ]
    tokens, weights = TokenVectors(embedder), TermWeights(kb)
    question = "How much cash can I withdraw at ATMs in a day?"
    measured = measure(question, [*kb, kb[0]], tokens, weights)
    whole, each = measured.covered, measured.each
    assert whole == coverage(question, kb, tokens, weights)
    assert set(each) == set(kb) and max(each.values()) <= whole + 1e-6
    assert max(each, key=lambda text: each[text]) == kb[1]
    assert each[kb[1]] == pytest.approx(coverage(question, [kb[1]], tokens, weights), abs=1e-5)


def test_each_sentence_is_read_on_its_page(embedder: Embedder) -> None:
    """The page a sentence is read on (its title, and heading) covers what the sentence leaves to
    it; the whole coverage (whether the question is answerable) stays the sentences' own."""
    kb = [
        "It is released within 14 days of returning the car undamaged.",
        "Returns up to 29 minutes late are free; after that, an extra day is charged.",
        "Checked bags must weigh no more than 23 kg.",
    ]
    tokens, weights = TokenVectors(embedder), TermWeights(kb)
    question = "What if I return the rental car late?"
    alone = measure(question, kb, tokens, weights)
    paged = measure(question, kb, tokens, weights, ["Car rental", "Car rental", "Baggage"])
    assert alone.each[kb[0]] > alone.each[kb[1]]  # "returning the car", without "late"
    assert paged.each[kb[1]] > paged.each[kb[0]] > alone.each[kb[0]]
    assert paged.covered == alone.covered


@pytest.mark.parametrize("apostrophe", ["'", "\u2019"])
def test_a_contraction_is_no_content_word_of_the_question(embedder: Embedder, apostrophe: str) -> None:
    """The model reads "won't" as "won", "'" and "t": neither is a word the pages must cover
    ("My phone won't connect to 5G, what should I do?" abstained on "t" and "should")."""
    text = f"My phone won{apostrophe}t connect to 5G, what should I do? It{apostrophe}s my son{apostrophe}s"
    # a possessive's "s" stays (dropping it cost one abstention of 50: "…to my sister's account?")
    assert [w.stem for w in question_words(embedder, text)] == ["phone", "connect", "son", "s"]


def test_a_name_only_an_ingested_document_says_is_matched(embedder: Embedder) -> None:
    """The weights come from the domain's folder at start-up; a document ingested since is only in
    the index. Its names are names the knowledge base mentions once the evidence says them."""
    folder = ["Refunds go back to the card you paid with within 5 business days."]
    ingested = "Refunds for orders paid with PayPal go back to your PayPal balance within 3 business days."
    tokens, weights = TokenVectors(embedder), TermWeights(folder)
    question = "How long do PayPal refunds take?"
    each = dict(measure(question, [ingested], tokens, weights).by_word(question))
    assert each["PayPal"] > 0.9, each
    assert (
        dict(measure(question, folder, tokens, weights).by_word(question))["PayPal"] == 0.0
    )  # never said: no match
    assert coverage(question, [ingested], tokens, weights) > coverage(question, folder, tokens, weights) + 0.2


def test_the_grader_keeps_the_page_its_best_sentence_points_to(embedder: Embedder) -> None:
    def page(name: str, title: str, text: str) -> Passage:
        return Passage(doc_id=f"{name}.md", title=title, chunk=0, text=text, score=1.0, source="")

    pointer = page(
        "devices", "Devices", "How many screens can play at once depends on your plan (see Plans)."
    )
    others = [
        page("casting", "Casting", "You can cast to a TV while the screen of your phone plays."),
        page("profiles", "Profiles", "Each profile has its own screen name and watch list."),
        page("plans", "Plans", "Screens playing at once: Basic 1, Standard 2, Premium 4."),
        page("music", "Music", "Music plays on one screen at a time."),
    ]
    question = "How many screens can play at once?"
    evidence = Grader(embedder, min_relevance=0.1).grade(question, [pointer, *others], max_passages=1)
    assert [p.doc_id for p in evidence.passages] == ["devices.md", "plans.md"]  # kept: 1, and its target
    plain = Grader(embedder, min_relevance=0.1).grade(question, [others[0], others[2]], max_passages=1)
    assert len(plain.passages) == 1  # nothing points: the usual cut
    far = Grader(embedder, min_relevance=0.99).grade(question, [pointer, others[2]], max_passages=1)
    assert [p.doc_id for p in far.passages] in ([], ["devices.md"])  # below the floor: not kept


def test_a_passage_that_says_a_rare_name_of_the_question_is_kept_and_quoted_first(
    embedder: Embedder,
) -> None:
    def page(name: str, title: str, text: str) -> Passage:
        return Passage(doc_id=f"{name}.md", title=title, chunk=0, text=text, score=1.0, source="")

    zones = page(
        "roaming",
        "Roaming",
        "- Zone: Zone 2 — Countries: United Kingdom, Switzerland, USA, Canada, Turkey; How it works: "
        "Travel Pass: €7 per day to use your plan allowance.",
    )
    others = [
        page("wifi", "Wi-Fi calling", "Abroad on Wi-Fi, calls home use your phone plan allowance."),
        page("esim", "eSIM", "You can use an eSIM on any phone that supports one."),
        page("insurance", "Insurance", "Device Care covers your phone when you use it abroad."),
    ]
    premium = [f"Premium covers {what} at no extra cost." for what in ("theft", "loss", "cracks", "water")]
    knowledge = [zones.text, *(p.text for p in others), *premium]
    grader = Grader(embedder, min_relevance=0.3, answer_threshold=0.3, knowledge=knowledge)
    question = "Can I use my phone in Turkey?"
    assert grader.rare_names(question) == {"turkey"}
    plain = Grader(embedder, min_relevance=0.3, answer_threshold=0.3, knowledge=[])
    assert grader.weights.df.get("turkey") == 1 and not plain.rare_names(question)  # an unknown word: none
    assert not grader.rare_names("Can I use Premium care abroad?")  # said by 4 sentences
    evidence = grader.grade(question, [*others, zones], max_passages=2)
    assert "roaming.md" in [p.doc_id for p in evidence.passages]
    below = [sim for (_, s), sim in zip(evidence.sentences, evidence.sims, strict=True) if "Turkey" in s]
    assert below and below[0] < 0.3  # kept for the name, not for its similarity
    best = evidence.best_sentences(1, floor=0.3)
    assert "Turkey" in best[0][1]
    without = plain.grade(question, [*others, zones], max_passages=2)
    assert "roaming.md" not in [p.doc_id for p in without.passages]
