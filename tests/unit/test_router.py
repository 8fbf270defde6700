"""The router on the shipped domain definitions: route, reject, split, follow up."""

import copy
import dataclasses
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from contracts import Turn
from services.router.classifier import (
    OOS,
    Bank,
    DomainClassifier,
    _oos_offset,
    _stack,
    compound_terms,
    description_topics,
    knowledge_sentences,
    similarities,
)
from services.router.evaluate import Labeled, check_labels, load_labeled, parse_labeled
from services.router.logic import SIBLING_DOMINANCE, Router, RouterLLM, _agreement, _elliptical
from services.router.segment import context, cut, segments
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT
from shared.text import courtesy


@pytest.fixture(scope="module")
def router() -> Router:
    clf = DomainClassifier(default_embedder(), cache_dir=REPO_ROOT / ".accel" / "cache")
    return Router(clf.fit(load_domains(DEFAULT_DOMAINS_DIR)))


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("What is the checked baggage allowance on an economy ticket?", "travel"),
        ("my parcel hasn't arrived yet, where is it", "ecommerce"),
        ("how much does it cost to send euros to a US bank account", "fintech"),
        ("does my plan include roaming in Spain", "mobile"),
        ("can I download films to watch offline", "media"),
    ],
)
async def test_routes_to_the_domain(router: Router, text: str, domain: str) -> None:
    outcome = await router.decide(text)
    assert not outcome.decision.rejected, outcome.decision
    assert [r.domain for r in outcome.routes] == [domain]
    assert outcome.routes[0].sub_query == text  # a single-domain query is never cut up
    assert outcome.decision.scores[domain] == max(outcome.decision.scores.values())
    assert outcome.decision.path == "fast"


@pytest.mark.parametrize("text", ["Explain the offside rule in football", "What is the capital of Mongolia?"])
async def test_rejects_out_of_scope(router: Router, text: str) -> None:
    outcome = await router.decide(text)
    assert outcome.decision.rejected
    assert outcome.decision.reason_code == "out_of_scope"
    assert outcome.routes == []
    assert outcome.decision.scores[OOS] == max(outcome.decision.scores.values())


@pytest.mark.parametrize(
    ("text", "domain", "term"),
    [
        ("Is there a sleep timer?", "media", "'sleep timer'"),
        ("How does the sleep timer work?", "media", "'sleep timer'"),
        ("What is a pickup point?", "ecommerce", "'pickup point'"),
        ("What are Liked songs?", "media", "'like song'"),
        ("What is a Lightning Deal?", "ecommerce", "'lightn deal'"),
        ("What is round-up saving?", "fintech", "'round-up'"),  # "saving" is fintech's "Savings"
    ],
)
async def test_a_short_question_naming_one_domains_term_goes_to_that_domain(
    router: Router, text: str, domain: str, term: str
) -> None:
    outcome = await router.decide(text, use_llm=False)
    d = outcome.decision
    assert d.scores[OOS] == max(d.scores.values())  # the classifier alone rejects it
    assert not d.rejected, d
    assert [r.domain for r in outcome.routes] == [domain]
    assert outcome.routes[0].sub_query == text
    assert term in d.reason and d.reason_code is None


@pytest.mark.parametrize(
    "text",
    [
        "What is a round-up in cattle farming?",  # fintech's "Round-ups", with words fintech never uses
        "What is a carry-on in poker?",
        "What is a safe place to hide a key?",
        "What are liked songs on Spotify?",
        "What is a lightning strike?",  # not the term
        "Can a sleep timer help a baby fall asleep?",
    ],
)
async def test_a_domains_term_among_other_words_is_still_out_of_scope(router: Router, text: str) -> None:
    outcome = await router.decide(text, use_llm=False)
    assert outcome.decision.rejected and outcome.decision.reason_code == "out_of_scope", outcome.decision


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Is there a sleep timer?", {"sleep timer"}),
        ("What is round-up saving? Liked songs", {"round-up", "round-up save", "like song"}),
        ("the 2 bags, each up to 23 kg", set()),  # no two content words side by side
        ("An extra-legroom seat", {"extra-legroom", "extra-legroom seat"}),
    ],
)
def test_compound_terms(text: str, terms: set[str]) -> None:
    assert compound_terms(text) == terms


async def test_splits_a_two_domain_query_into_self_contained_sub_queries(router: Router) -> None:
    outcome = await router.decide("Book a hotel in Lisbon for Friday and what is the EUR to USD rate?")
    assert [(r.domain, r.sub_query) for r in outcome.routes] == [
        ("travel", "Book a hotel in Lisbon for Friday"),
        ("fintech", "What is the EUR to USD rate?"),
    ]
    assert len({r.task_id for r in outcome.routes}) == 2
    assert outcome.decision.reason.startswith("split into")
    # the parts decided it: the whole query was never embedded, and each domain scores its best part
    assert set(outcome.vectors) == {"Book a hotel in Lisbon for Friday", "What is the EUR to USD rate?"}
    parts = router.classifier.predict(list(outcome.vectors))
    best = dict(zip(router.classifier.classes, parts.max(axis=0), strict=True))
    assert outcome.decision.scores == pytest.approx(best, abs=1e-4)


@pytest.mark.parametrize(
    ("text", "routes", "declined"),
    [
        (
            "What is the baggage allowance on economy, and who won the world cup in 2018?",
            [("travel", "What is the baggage allowance on economy")],
            ["Who won the world cup in 2018?"],
        ),
        (
            "How do I activate an eSIM? Also what is the capital of Australia?",
            [("mobile", "How do I activate an eSIM?")],
            ["What is the capital of Australia?"],
        ),
        (  # one word, but one that none of the domains uses
            "How do I activate an eSIM? Also what is photosynthesis?",
            [("mobile", "How do I activate an eSIM?")],
            ["What is photosynthesis?"],
        ),
        (
            "How long do refunds take after a return, and what is the EUR to USD rate? Also who painted "
            "the Mona Lisa?",
            [
                ("ecommerce", "How long do refunds take after a return"),
                ("fintech", "What is the EUR to USD rate?"),
            ],
            ["Who painted the Mona Lisa?"],
        ),
    ],
)
async def test_a_part_no_domain_covers_is_declined_not_sent_to_a_domain(
    router: Router, text: str, routes: list[tuple[str, str]], declined: list[str]
) -> None:
    outcome = await router.decide(text)
    assert not outcome.decision.rejected
    assert [(r.domain, r.sub_query) for r in outcome.routes] == routes
    assert outcome.decision.declined == declined
    assert "no configured domain covers" in outcome.decision.reason


async def test_a_fragment_cut_from_a_question_is_not_declined(router: Router) -> None:
    outcome = await router.decide("Is click and collect available at the Leeds store?")  # cut at "and"
    assert "Is click" in outcome.segments  # a fragment of one word no domain uses, without "?"
    assert outcome.decision.declined == []


@pytest.mark.parametrize(
    "text",
    [
        "Hi! What is the baggage allowance on economy?",  # a greeting asks nothing
        "How do I activate an eSIM? Can you help me?",  # asks, but about nothing
        "Downloads limit reached, how do I free up space",  # the routed fragment leans on the question
        "How do I activate an eSIM? Please explain step by step.",  # says how to answer
    ],
)
async def test_a_part_that_asks_nothing_of_its_own_is_not_declined(router: Router, text: str) -> None:
    outcome = await router.decide(text)
    assert outcome.decision.declined == []
    # never cut: one domain gets the whole query, or (the last, weakly routed today) none does
    assert [r.sub_query for r in outcome.routes] == ([] if outcome.decision.rejected else [text])


@pytest.mark.parametrize(
    ("text", "routes"),
    [
        (
            "Book a hotel in Lisbon for Friday, how much? And what is the EUR to USD rate?",
            [
                ("travel", "Book a hotel in Lisbon for Friday, How much?"),
                ("fintech", "What is the EUR to USD rate?"),
            ],
        ),
        (
            "Is that normal? My phone bill doubled, and where is my parcel?",
            [("mobile", "Is that normal? My phone bill doubled"), ("ecommerce", "Where is my parcel?")],
        ),
    ],
)
async def test_a_generic_follow_up_goes_with_its_neighbour_and_opens_no_domain(
    router: Router, text: str, routes: list[tuple[str, str]]
) -> None:
    outcome = await router.decide(text)
    assert [(r.domain, r.sub_query) for r in outcome.routes] == routes
    follow_up = next(p for p in outcome.segments if p in ("How much?", "Is that normal?"))
    assert router.classifier.dependent(router.classifier.embedder.encode([follow_up]))[0]
    assert not router.classifier.dependent(router.classifier.embedder.encode(["Where is my parcel?"]))[0]


async def test_a_part_of_one_word_no_domain_claims_firmly_asks_about_the_part_before_it(
    router: Router,
) -> None:
    """ "Is there a charge?" (e-commerce 0.59 alone) was sent to a domain of its own; a part with a
    word of its own that a domain claims firmly still opens that domain ("where is my parcel?",
    0.98)."""
    text = "I want to change my seat to an aisle, is there a charge?"
    outcome = await router.decide(text)
    assert [(r.domain, r.sub_query) for r in outcome.routes] == [("travel", text)]
    split = await router.decide("Block my card please. also where is my parcel")
    assert {r.domain for r in split.routes} == {"fintech", "ecommerce"}


def test_an_elliptical_part_says_at_most_one_word_that_no_domain_claims_firmly() -> None:
    unsure, firm = np.array([0.59, 0.2, 0.21]), np.array([0.98, 0.01, 0.01])
    assert _elliptical("Is there a charge?", unsure)
    assert not _elliptical("Where is my parcel?", firm)
    assert not _elliptical("Should I open a 529 for her", unsure)  # a number says what it is about
    assert not _elliptical("What does a second bag cost?", unsure)  # two words of its own


async def test_a_query_whose_parts_share_a_domain_is_decided_whole(router: Router) -> None:
    text = "How many bags can I check on an economy ticket, and can I bring my skis?"
    outcome = await router.decide(text)
    assert [(r.domain, r.sub_query) for r in outcome.routes] == [("travel", text)]
    assert len(outcome.segments) == 2
    # classified from its parts' vectors, composed; only real vectors travel on to the retriever
    assert set(outcome.vectors) == set(outcome.segments)
    composed = router._composed(text, outcome.segments, router.classifier.predict_tiered(outcome.segments))
    real = router.classifier.embedder.encode_one(text)
    assert float(composed[text] @ real) > 0.9


async def test_follow_up_uses_the_conversation(router: Router) -> None:
    history = [Turn(query_id="q1", question="What is the checked baggage allowance on an economy ticket?",
                    answer="One bag of 23 kg [1].", domains=["travel"])]  # fmt: skip
    alone = await router.decide("and for business?")
    followed = await router.decide("and for business?", history)
    assert followed.decision.path == "context", (alone.decision, followed.decision)
    assert [r.domain for r in followed.routes] == ["travel"]
    assert "follow-up to" in followed.routes[0].sub_query


async def test_a_short_follow_up_the_fast_path_rejects_alone_is_read_with_the_conversation(
    router: Router,
) -> None:
    history = [Turn(query_id="q1", question="What is the cabin bag allowance?",
                    answer="1 bag up to 8 kg [1].", domains=["travel"])]  # fmt: skip
    alone = await router.decide("how heavy can it be?")
    assert alone.decision.rejected and alone.decision.reason_code == "out_of_scope"  # sure of it, alone
    followed = await router.decide("how heavy can it be?", history)
    assert followed.decision.path == "context" and [r.domain for r in followed.routes] == ["travel"]
    # a question of its own stays out of scope, pronoun or not; so does one the context cannot claim
    for text in ("Who painted the Mona Lisa and where is it now?", "is it going to rain in the evening?"):
        outcome = await router.decide(text, history)
        assert outcome.decision.rejected and outcome.decision.path != "context", (text, outcome.decision)


async def test_a_follow_up_to_a_follow_up_is_read_with_the_question_they_follow(router: Router) -> None:
    history = [
        Turn(
            query_id="q1",
            question="How much does the Plus mobile plan cost?",
            answer="€20 [1].",
            domains=["mobile"],
        ),
        Turn(query_id="q2", question="and the Unlimited one?", answer="€30 [1].", domains=["mobile"]),
    ]
    text = "Can I use it in Turkey?"
    assert (await router.decide(text)).decision.rejected
    assert (await router.decide(text, history[1:])).decision.rejected  # "and the Unlimited one?" alone
    followed = await router.decide(text, history)
    assert followed.decision.path == "context" and [r.domain for r in followed.routes] == ["mobile"]
    assert (
        followed.routes[0].sub_query == f"{text} (follow-up to: {history[0].question} {history[1].question})"
    )
    # a question that stands alone does not carry the chain further back
    standalone = [
        history[0],
        Turn(query_id="q2", question="What is the weather in Paris?", answer="-", domains=[]),
    ]
    assert (await router.decide(text, standalone)).decision.rejected


def test_calibration_comes_from_the_examples(router: Router) -> None:
    cal = router.classifier.calibration
    assert 0.0 < cal.unsure_margin < 1.0
    assert cal.examples == sum(len(d.examples) for d in load_domains(DEFAULT_DOMAINS_DIR).values())
    assert cal.cv_accuracy > 0.7
    assert router.classifier.background_used > 100
    assert cal.oos_offset == 0.0  # the background rejects (almost) none of these domains' examples


def test_the_out_of_scope_offset_is_set_from_the_held_out_examples() -> None:
    assert _oos_offset(np.array([-3.0, -1.0, -0.5, -0.1]), 0.05) == 0.0  # none rejected: unchanged
    margins = np.linspace(-1.0, 2.0, 100)  # two thirds of the examples rejected
    offset = _oos_offset(margins, 0.05)
    assert offset < 0
    assert ((margins + offset) > 0).mean() <= 0.05
    assert ((margins + offset) > 0).mean() >= 0.03  # relaxed no further than needed


GENERAL = REPO_ROOT / "bench" / "data" / "general"


@pytest.fixture(scope="module")
def general_router() -> Router:
    clf = DomainClassifier(default_embedder(), cache_dir=REPO_ROOT / ".accel" / "cache")
    return Router(clf.fit(load_domains(GENERAL / "domains")))


def test_domains_of_general_questions_are_not_swallowed_by_the_background(general_router: Router) -> None:
    """Health, law and personal finance questions read like the shipped background of everyday
    questions; learned from 20 examples each, without the offset and the relative background filter
    most of them were rejected (57% in-scope accuracy on this set; now 88%, out-of-scope recall 98%)."""
    general = GENERAL
    clf = general_router.classifier
    assert clf.calibration.oos_offset < 0 and clf.calibration.cv_rejected > 0.2
    # background lines that read like these domains' own examples are not taught as out of scope
    assert "what is the difference between a misdemeanor and a felony" in clf.background_set_aside
    assert "how does compound interest work" in clf.background_set_aside
    assert "what causes migraines" in clf.background_set_aside
    assert "what is the capital of australia" not in clf.background_set_aside
    router = general_router
    rows = load_labeled(general / "eval.jsonl")
    in_scope = [r for r in rows if r.domains]
    oos = [r for r in rows if not r.domains]
    right = sum({x.domain for x in router.fast(r.text)[0].routes} == set(r.domains) for r in in_scope)
    rejected = sum(router.fast(r.text)[0].decision.rejected for r in oos)
    assert right / len(in_scope) >= 0.8, right
    assert rejected / len(oos) >= 0.85, rejected


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Book a hotel in Lisbon for Friday and what is the EUR to USD rate?",
         ["Book a hotel in Lisbon for Friday", "What is the EUR to USD rate?"]),
        ("Can I return shoes and socks?", ["Can I return shoes and socks?"]),
        ("what's the difference between a will and a trust", ["what's the difference between a will and a trust"]),
        ("What is the difference between gross and net income and how do I pay rent?",
         ["What is the difference between gross and net income", "How do I pay rent?"]),
        ("My flight got cancelled. Also, how do I cancel my streaming plan?",
         ["My flight got cancelled.", "How do I cancel my streaming plan?"]),
        ("My card keeps getting declined. Separately, the lamp I ordered arrived broken.",
         ["My card keeps getting declined.", "The lamp I ordered arrived broken."]),
        ("warranty for my tablet + how to download episodes", ["Warranty for my tablet", "How to download episodes"]),
        ("What is the checked baggage allowance on an economy ticket?",
         ["What is the checked baggage allowance on an economy ticket?"]),
        # a capitalised "Plus" inside a sentence names a plan; "plus" joins two requests
        ("What's the exchange rate fee on Plus, and how much is the Plus mobile plan?",
         ["What's the exchange rate fee on Plus", "How much is the Plus mobile plan?"]),
        ("Is Disney Plus on Northwind Media? plus can I roam in Spain",
         ["Is Disney Plus on Northwind Media?", "Can I roam in Spain"]),
    ],
)  # fmt: skip
def test_segments(text: str, parts: list[str]) -> None:
    assert segments(text) == parts


@pytest.mark.parametrize(
    "text",
    [
        "Lost my card, and how much is the, oh and my eSIM broke",
        "My phone bill is too high and my flight was delayed, what is going on with the world",
        "Book a hotel in Lisbon for Friday and what is the EUR to USD rate?",
        "What is the baggage allowance on economy, and who won the world cup in 2018?",
    ],
)
async def test_no_part_of_a_split_query_is_dropped(router: Router, text: str) -> None:
    """Each part goes into a sub-query or is declined by name: "how much is the" of the first,
    routed to no domain and too vague to decline, was left out of both sub-queries."""
    outcome = await router.decide(text)
    assert len(outcome.routes) + len(outcome.decision.declined) >= 2, outcome.decision
    said = [r.sub_query for r in outcome.routes] + outcome.decision.declined
    for part in segments(text):
        assert any(part in s for s in said), (part, said)


@pytest.mark.parametrize(
    ("text", "background"),
    [
        # a statement about the asker, then the question it is background to
        ("I'm a freelance lawyer and bill about 120k a year. Should I be making quarterly estimated tax payments?",
         [True, True, False]),
        ("I'm 16, can I open an account?", [True, False]),
        ("My doctor told me to cut back on stress, so I want to retire at 55. Can I withdraw from my IRA early?",
         [True, False, False]),
        # a request is not background, with or without a connector
        ("I need a hotel. Also what's the EUR rate?", [False, False]),
        ("I need a hotel in Lisbon. What's the EUR to USD rate?", [False, False]),
        ("Book a hotel in Lisbon for Friday and what is the EUR to USD rate?", [False, False]),
        # "also", "separately", "and <question>" start a request of their own
        ("My flight got cancelled. Also, how do I cancel my streaming plan?", [False, False]),
        ("There's a charge I don't recognise. Separately, can I change my rental car pickup?", [False, False]),
        ("My Mobile app crashes and so does the Media app on my TV", [False, False]),
        # two statements with their own subjects side by side are two reports
        ("My subscription price went up, my phone bill went up, and now what's the loan rate?",
         [False, False, False]),
    ],
)  # fmt: skip
def test_background_statements(text: str, background: list[bool]) -> None:
    parts, leads = zip(*cut(text), strict=True)
    assert list(parts) == segments(text)
    assert context(list(parts), list(leads)) == background


def test_background_and_its_question_must_agree() -> None:
    """A statement and its question are decided together by the geometric mean of their rows: a class
    must have the support of both. With the arithmetic mean, a statement that leans one way and a
    question that leans another would leave neither dominant among the domains."""
    statement = np.array([0.57, 0.04, 0.36, 0.03])  # health, finance, out of scope, law
    question = np.array([0.18, 0.50, 0.27, 0.05])
    both = _agreement(np.stack([statement, question]))
    mean = np.mean([statement, question], axis=0)

    def dominance(row: np.ndarray) -> float:
        domains = row[[0, 1, 3]]
        return float(domains.max() / domains.sum())

    assert both.sum() == pytest.approx(1.0) and int(both.argmax()) == 0
    assert dominance(both) >= SIBLING_DOMINANCE > dominance(mean)
    assert (_agreement(statement[None]) == statement).all()


def test_a_question_out_of_scope_on_its_own_leaves_its_statement_the_domain(router: Router) -> None:
    """'Is it real?' names no domain: the statement before it decides their unit alone, so a statement
    that a vague question follows still opens its domain (the geometric mean with an out-of-scope
    row would have left neither anchored)."""
    classes = router.classifier.classes

    def row(**p: float) -> np.ndarray:
        r = np.array([p.get(c, 0.0) for c in classes]) + 0.01
        return r / r.sum()

    parts = ["I got a loan offer email", "Is it real?", "My return label won't print"]
    rows = np.stack([row(fintech=0.64, ecommerce=0.14, out_of_scope=0.13), row(out_of_scope=0.95),
                     row(ecommerce=0.61, out_of_scope=0.29)])  # fmt: skip
    background = np.array(context(parts, ["", ",", "also"]))
    text = "I got a loan offer email, is it real? Also my return label won't print"
    routes, declined = router._split_routes(parts, rows, {}, np.zeros(3, dtype=bool), background, text)
    assert [(r.domain, r.sub_query) for r in routes] == [
        ("fintech", "I got a loan offer email, Is it real?"),
        ("ecommerce", "My return label won't print"),
    ]
    assert declined == []  # "Is it real?" went with its statement


@pytest.mark.parametrize(
    ("text", "routes"),
    [
        ("I'm 16, can I open an account?", [("fintech", "I'm 16, can I open an account?")]),
        # a lone question after a statement goes where the question names, with the statement
        ("I'm flying to Lisbon on Friday. What is the EUR to USD rate?",
         [("fintech", "I'm flying to Lisbon on Friday. What is the EUR to USD rate?")]),
        ("I'm flying to Lisbon on Friday. How much checked baggage can I take?",
         [("travel", "I'm flying to Lisbon on Friday. How much checked baggage can I take?")]),
        # a request before a question in another domain still splits
        ("I need a hotel in Lisbon. What's the EUR to USD rate?",
         [("travel", "I need a hotel in Lisbon."), ("fintech", "What's the EUR to USD rate?")]),
        ("My flight got cancelled. Also, how do I cancel my streaming plan?",
         [("travel", "My flight got cancelled."), ("media", "How do I cancel my streaming plan?")]),
        # the statement goes with its question into one sub-query
        # "My card was declined paying my phone bill. Why was it declined, and can I get an
        # extension on the bill?" left out: its second part is near the fintech/mobile boundary,
        # and the int8 embedding decides it differently on CPUs with and without AVX-512 VNNI.
    ],
)  # fmt: skip
async def test_background_opens_no_domain_of_its_own(
    router: Router, text: str, routes: list[tuple[str, str]]
) -> None:
    outcome = await router.decide(text)
    assert [(r.domain, r.sub_query) for r in outcome.routes] == routes


@pytest.mark.parametrize(
    ("text", "domain"),
    [
        ("I'm a freelance lawyer and bill about 120k a year. Should I be making quarterly estimated tax payments?",
         "finance"),
        ("My doctor told me to cut back on stress, so I want to retire at 55. Can I withdraw from my IRA early "
         "without penalties?", "finance"),
        ("I signed a contract for a kitchen remodel last night and now I regret it. Is there a cooling off period?",
         "law"),
    ],
)  # fmt: skip
async def test_context_naming_another_domain_does_not_split_a_question(
    general_router: Router, text: str, domain: str
) -> None:
    outcome = await general_router.decide(text)
    assert [r.domain for r in outcome.routes] == [domain]


def test_tiered_mode_answers_easy_queries_from_tier_one_and_agrees_with_the_full_model(
    router: Router,
) -> None:
    tiered = DomainClassifier(default_embedder(), cache_dir=REPO_ROOT / ".accel" / "cache", tiered=True)
    tiered.fit(load_domains(DEFAULT_DOMAINS_DIR))
    cal = tiered.calibration
    assert cal.tier1_margin >= cal.unsure_margin and 0 < cal.tier1_coverage <= 1
    easy = "What is the checked baggage allowance on an economy ticket?"
    prediction = tiered.predict_tiered([easy])
    probs, tier = prediction.probs, prediction.tier
    assert tier == 1
    assert not prediction.vectors  # tier 1 computed no full-model vector to pass on
    assert tiered.classes[int(probs[0].argmax())] == "travel"
    hard = ["refund status", "Switch from monthly to the annual plan", "can I have a joint account?"]
    prediction = tiered.predict_tiered(hard)
    probs, tier = prediction.probs, prediction.tier
    assert tier == 2  # at least one of them needed the full model
    assert prediction.vectors and set(prediction.vectors) <= set(hard)
    full = router.classifier.predict(hard)
    assert probs.shape == full.shape


async def test_concurrent_queries_are_classified_in_batches_with_the_same_result(router: Router) -> None:
    import asyncio

    texts = [
        "What is the checked baggage allowance on an economy ticket?",
        "Book a hotel in Lisbon for Friday and what is the EUR to USD rate?",
        "Explain the offside rule in football",
        "does my plan include roaming in Spain",
        "",
        "my parcel hasn't arrived yet, where is it",
    ] * 4
    before = router.batcher.batches
    together = await asyncio.gather(*(router.fast_async(t) for t in texts))
    assert router.batcher.batches - before < len(texts)  # several queries shared a batch
    for text, (outcome, unsure) in zip(texts, together, strict=True):
        alone, alone_unsure = router.fast(text)
        assert outcome.decision.rejected == alone.decision.rejected
        assert outcome.decision.reason_code == alone.decision.reason_code
        assert [(r.domain, r.sub_query) for r in outcome.routes] == [
            (r.domain, r.sub_query) for r in alone.routes
        ]
        assert outcome.decision.scores == pytest.approx(alone.decision.scores, abs=1e-3)
        assert unsure == alone_unsure
        assert set(outcome.vectors) == set(alone.vectors)


def test_fast_scoring_gives_scikit_learn_probabilities(router: Router) -> None:
    clf = router.classifier
    texts = ["Book a hotel in Lisbon for Friday", "what is the EUR to USD rate?", "thanks, bye", "zzzz"]
    vectors = clf.embedder.encode(texts)
    expected = clf._full.predict_proba(
        _stack(vectors, clf._words.transform(texts), clf._chars.transform(texts), clf._bank)
    )
    np.testing.assert_allclose(clf.predict(texts), expected, rtol=1e-6, atol=1e-9)


def test_a_repeated_text_is_decided_from_the_kept_probabilities(
    router: Router, monkeypatch: pytest.MonkeyPatch
) -> None:
    clf = router.classifier
    texts = ["Is there a fee to change my flight?", "Where is my parcel?"]
    size = clf.embedder.recent.size
    try:
        clf.embedder.keep_recent(0)  # no cache: every call computes
        fresh = clf.predict_tiered(texts)
        assert not clf.embedder.recent.has(texts[0])  # nothing kept
        clf.embedder.keep_recent(64)
        first = clf.predict_tiered(texts)
        assert all(clf.embedder.recent.has(t) for t in texts)
        calls: list[int] = []
        features = Bank.features
        monkeypatch.setattr(
            Bank, "features", lambda self, v, rows=None: calls.append(len(v)) or features(self, v, rows)
        )
        again = clf.predict_tiered(texts)
        assert calls == []  # no neighbour product, no scoring: the kept rows
        np.testing.assert_allclose(again.probs, first.probs, rtol=0, atol=0)
        np.testing.assert_allclose(again.probs, fresh.probs, atol=1e-6)
        assert set(again.vectors) == set(texts) and again.tier == 2
        np.testing.assert_array_equal(again.vectors[texts[1]], first.vectors[texts[1]])
        clf.predict_tiered([texts[0], "A text never seen before?"])  # one unknown: all computed
        assert calls
    finally:
        clf.embedder.keep_recent(size)


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8, 9, 40])
def test_similarities_in_blocks_equal_the_whole_product(k: int) -> None:
    rng = np.random.default_rng(k)
    bank = rng.standard_normal((1001, 384)).astype(np.float32)  # blocks do not divide it evenly
    vectors = rng.standard_normal((k, 384)).astype(np.float32)
    got = similarities(bank, vectors)
    assert got.shape == (k, 1001) and got.dtype == np.float32
    np.testing.assert_allclose(got, vectors @ bank.T, rtol=1e-5, atol=1e-4)
    assert similarities(bank[:0], vectors).shape == (k, 0)


class _ModelSays:
    """A chat model that always answers the same word, recording the system prompts it got."""

    def __init__(self, word: str) -> None:
        self.word = word
        self.prompts: list[str] = []

    async def complete(self, messages: list[dict[str, str]], **_: object) -> SimpleNamespace:
        self.prompts.append(messages[0]["content"])
        return SimpleNamespace(text=self.word)


@pytest.mark.parametrize(
    ("text", "oos_close"),
    [("How much does it cost to add a second suitcase online?", False), ("tell me a joke", True)],
)
async def test_the_router_llm_may_reject_only_when_out_of_scope_was_a_close_call(
    router: Router, text: str, oos_close: bool
) -> None:
    unsure = copy.copy(router.classifier)
    unsure.calibration = dataclasses.replace(unsure.calibration, unsure_margin=1.0)  # always ask
    model = _ModelSays("none")
    outcome = await Router(unsure, llm=RouterLLM(model)).decide(text)  # type: ignore[arg-type]
    top2 = sorted(outcome.decision.scores, key=outcome.decision.scores.__getitem__)[-2:]
    assert (OOS in top2) is oos_close
    assert outcome.llm_called and outcome.decision.path == "llm"
    assert ("or none if no service fits" in model.prompts[0]) is oos_close
    if oos_close:
        assert outcome.decision.rejected and "router LLM chose none" in outcome.decision.reason
    else:
        assert not outcome.decision.rejected and "fast choice kept" in outcome.decision.reason
        assert [r.domain for r in outcome.routes] == ["travel"]


@pytest.mark.parametrize(
    ("description", "topics"),
    [
        ("Questions about trips: baggage allowances and fees, check-in and seats, and Northwind Miles.",
         ["baggage allowances and fees", "check-in and seats", "Northwind Miles"]),
        ("Billing, refunds; and invoices", ["Billing", "refunds", "invoices"]),
        ("Questions about our streaming service and its apps.", []),
    ],
)  # fmt: skip
def test_description_topics(description: str, topics: list[str]) -> None:
    assert description_topics(description) == topics


async def test_a_closed_batcher_leaves_no_worker_and_starts_again_when_asked(router: Router) -> None:
    import asyncio

    text = "does my plan include roaming in Spain"
    first = await router.batcher.predict([text])
    worker = router.batcher._worker
    assert worker is not None and not worker.done()
    waiting = asyncio.ensure_future(router.batcher.predict(["where is my parcel"]))
    await asyncio.sleep(0)  # queued (or taken by the worker)
    await router.batcher.close()  # the worker is stopped, the waiting prediction does not hang
    assert worker.done()
    await asyncio.sleep(0)
    assert waiting.cancelled()
    again = await router.batcher.predict([text])  # a new worker
    assert np.allclose(again.probs, first.probs)
    await router.batcher.close()


def test_knowledge_sentences_leave_list_and_table_row_markers_out() -> None:
    sentences = knowledge_sentences(load_domains(DEFAULT_DOMAINS_DIR)["ecommerce"])
    assert (
        "Tier: Gold — Points needed: 4,000; Earning rate: 1.5 points per €1; Extra benefit: Free Express delivery."
        in sentences
    )
    assert "Go to Account Orders and select the item." in sentences  # was "1. Go to **Account > Orders** …"
    assert not [s for s in sentences if s.startswith(("- ", "1. ", "2. "))]


@pytest.mark.parametrize(
    ("line", "domains"),
    [
        ('{"id": 1, "text": "t", "domains": ["travel", "fintech"]}', ("travel", "fintech")),
        ('{"id": 1, "text": "t", "domains": []}', ()),
        ('{"id": 1, "text": "t", "domains": null}', ()),
        ('{"id": 1, "text": "t", "domain": "travel"}', ("travel",)),
        ('{"id": 1, "text": "t", "domain": null}', ()),
        ('{"id": 1, "text": "t", "domain": "oos"}', ()),  # CLINC150's out-of-scope label
        ('{"id": 1, "text": "t", "domains": ["oos"]}', ()),
    ],
)
def test_labelled_lines_read_their_gold_domains(line: str, domains: tuple[str, ...]) -> None:
    (row,) = parse_labeled([line])
    assert row.domains == domains and row.id == "1" and row.text == "t"


@pytest.mark.parametrize(
    "line",
    [
        '{"id": 1, "text": "t", "domains": "travel"}',  # a string is not a list (it was read letter by letter)
        '{"id": 1, "text": "t", "domains": [3]}',
        '{"id": 1, "text": null, "domains": []}',  # was read as the query "None"
        '{"id": 1, "domains": []}',
        '["t", "travel"]',
        "not json",
    ],
)
def test_a_malformed_labelled_line_is_an_error_naming_its_line(line: str) -> None:
    with pytest.raises(ValueError, match=r"^data:2: expected"):
        list(parse_labeled(["", line], "data"))


def test_labels_must_name_configured_domains(tmp_path: Path) -> None:
    rows = [Labeled(id=str(i), text="t", domains=("travle",)) for i in range(5)]
    with pytest.raises(ValueError, match=r"'travle' \(ids 0, 1, 2, …\)\. Configured: fintech, travel"):
        check_labels([*rows, Labeled(id="x", text="t", domains=("travel",))], ["travel", "fintech"])
    check_labels([Labeled(id="1", text="t", domains=())], ["travel"])  # out of scope needs no domain
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    with pytest.raises(ValueError, match="no labelled queries"):
        load_labeled(empty)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("ok thanks", "thanks"),
        ("Thank you so much!", "thanks"),
        ("hi there", "greeting"),
        ("Good morning!", "greeting"),
        ("thanks, bye", "goodbye"),
        ("great, got it", "acknowledgement"),
        ("hi, how do I activate an eSIM?", None),
        ("thanks, and what about business class?", None),
        ("ok and for business?", None),
        ("yes", None),
        ("How are you?", None),
        ("Can you help me?", "request for help"),
        ("Hi, I need help", "request for help"),
        ("Hello, I have a quick question please", "request for help"),
        ("thanks for the help", "thanks"),
        ("Can you help me with my order?", None),
        ("I have a question about roaming", None),
    ],
)
def test_courtesy_messages_are_told_from_questions(text: str, kind: str | None) -> None:
    assert courtesy(text) == kind


async def test_a_thanks_is_not_taken_for_a_follow_up_nor_sent_to_a_domain(router: Router) -> None:
    history = [
        Turn(
            query_id="q1",
            question="What is the checked baggage allowance?",
            answer="23 kg",
            domains=["travel"],
        )
    ]
    for text, kind in (
        ("ok thanks", "thanks"),
        ("Hello!", "greeting"),
        ("Hi, I need help", "request for help"),
    ):
        outcome = await router.decide(text, history)
        assert outcome.decision.rejected and outcome.decision.reason_code == "courtesy", outcome.decision
        assert outcome.decision.reason == f"a {kind}: nothing to look up" and not outcome.routes
    follow_up = await router.decide("ok, and for business?", history)  # a real follow-up still is one
    assert [r.domain for r in follow_up.routes] == ["travel"], follow_up.decision


async def test_a_small_talk_domain_keeps_its_greetings() -> None:
    clf = DomainClassifier(default_embedder(), cache_dir=REPO_ROOT / ".accel" / "cache")
    assistant = Router(clf.fit(load_domains(REPO_ROOT / "bench" / "data" / "assistant" / "domains")))
    for text in ("thanks!", "good morning!", "bye for now"):
        outcome = await assistant.decide(text)
        assert [r.domain for r in outcome.routes] == ["smalltalk"], (text, outcome.decision)
    await assistant.batcher.close()
