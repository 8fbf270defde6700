"""The verifier: what counts as a supported claim."""

import numpy as np

from contracts import Passage
from services.domain.agents import (
    Evidence,
    Verifier,
    asks_for_number,
    content_words,
    negated_scope,
    numbers,
    says_nothing_new,
)


def evidence(*sentences: tuple[str, float]) -> Evidence:
    """Evidence of one passage whose sentences have the given similarities to the question."""
    text = " ".join(s for s, _ in sentences)
    passage = Passage(doc_id="fees.md", title="Fees", chunk=0, text=text, score=0.5, source="fees.md")
    return Evidence(
        question="How much is a second bag?",
        passages=[passage],
        sentences=[(0, s) for s, _ in sentences],
        sims=np.array([sim for _, sim in sentences], dtype=np.float32),
        relevance=[max(sim for _, sim in sentences)],
        answerable=True,
        answerability=0.8,
    )


def test_a_claim_is_supported_by_one_sentence_with_its_numbers_and_words() -> None:
    ev = evidence(("Adding a second bag online costs €40 on short-haul flights.", 0.6))
    verdict = Verifier().check("A second bag costs €40 online. [3]", ev)
    assert verdict.supported and verdict.refs == [1]
    assert not Verifier().check("A second bag costs €45 online.", ev).supported  # a number it never says
    assert not Verifier().check("A pony travels free in the cabin.", ev).supported


def test_numbers_without_words_are_no_answer_but_words_without_claims_pass() -> None:
    ev = evidence(("Step 2 of 3: choose a bag, 2 bags at most.", 0.6))
    for fragment in ("2.", "3. [2]", "2) 3"):  # a list's numbering without its items
        assert not Verifier().check(fragment, ev).supported
    assert Verifier().check("Yes.", ev).supported  # not a claim: nothing to check


def test_a_sentence_that_introduces_a_list_it_never_gives_is_no_claim() -> None:
    ev = evidence(("Fees for a second bag: 1 bag costs €40 online.", 0.6))
    for lead_in in ("Fees for a second bag:", "Fees for a second bag: 1.", "Fees for a second bag: 1) [1]"):
        assert not Verifier().check(lead_in, ev).supported
    assert Verifier().check("1 bag costs €40 online.", ev).supported


def test_what_the_passages_say_about_something_else_does_not_support_a_claim() -> None:
    ev = evidence(
        ("Adding a second bag online costs €40.", 0.62),
        ("Travel insurance covers lost bags up to €1,000.", 0.18),
    )
    claim = "Travel insurance covers lost bags up to €1,000."
    assert Verifier().check(claim, ev).supported  # no floor: said is enough
    strict = Verifier(min_relevance=0.25)
    assert not strict.check(claim, ev).supported
    assert strict.check("A second bag costs €40 online.", ev).supported


def test_names_must_be_in_the_supporting_sentence_like_numbers() -> None:
    ev = evidence(
        ("The checked baggage allowance on an Economy ticket is one checked bag of up to 23 kg.", 0.7),
        ("Economy Light includes no checked bag.", 0.5),
    )
    ev.question = "What is the checked baggage allowance on an economy ticket?"
    wrong = "The checked baggage allowance on an economy ticket is one checked bag of up to 23 kg for Economy Light."
    assert not Verifier().check(wrong, ev).supported  # 7 of its 8 words are there, but not "Light"
    assert (
        Verifier()
        .check("The allowance on an Economy ticket is one checked bag of up to 23 kg.", ev)
        .supported
    )
    assert Verifier().check("On Economy Light, no checked bag is included.", ev).supported


def test_a_name_in_brackets_is_a_name() -> None:
    """An abbreviation the model made up, in brackets after the words the page says, is a name the
    page never gives ("NGDGS" was streamed unrevised)."""
    ev = evidence(
        (
            "Money in Savings Vaults is held at our partner bank and protected by the national "
            "deposit guarantee scheme up to €100,000 per person.",
            0.7,
        ),
        ("Interest rates are shown as AER (Annual Equivalent Rate).", 0.5),
    )
    ev.question = "Is my savings vault money protected?"
    claim = "Yes, your savings vault money is protected by the National Deposit Guarantee Scheme{}."
    assert Verifier().check(claim.format(""), ev).supported
    assert not Verifier().check(claim.format(" (NGDGS)"), ev).supported
    assert Verifier().check("Rates are shown as AER (Annual Equivalent Rate).", ev).supported


def test_a_name_is_matched_as_the_whole_token_the_evidence_has() -> None:
    ev = evidence(("Error code: MOB-402 — Meaning: Account suspended; Fix: pay your overdue balance.", 0.6))
    assert Verifier().check("The error MOB-402 means your account is suspended.", ev).supported
    assert not Verifier().check("The error MOB-403 means your account is suspended.", ev).supported


def test_a_claim_that_says_no_needs_evidence_that_says_no() -> None:
    ev = evidence(
        ("Northwind Miles expire after 24 months without earning or spending any.", 0.7),
        ("You cannot download on TVs or game consoles.", 0.6),
        ("Top-ups by bank transfer are free.", 0.5),
    )
    assert not Verifier().check("No, Northwind Miles do not expire.", ev).supported  # the words match
    assert Verifier().check("Miles expire after 24 months without earning or spending.", ev).supported
    assert Verifier().check("No, you can't download on TVs or game consoles.", ev).supported
    assert Verifier().check("There is no fee for top-ups by bank transfer.", ev).supported  # "free" says it


def test_a_sentence_that_says_no_to_a_word_supports_no_claim_saying_it() -> None:
    ev = evidence(
        ("Change date or route: Light Not allowed; Standard €60 per passenger per flight.", 0.6),
        ("Tickets cannot be transferred to another person.", 0.6),
        ("If you do not take your outbound flight, the rest of the booking is cancelled.", 0.5),
        (
            "Gift card balances cannot be exchanged for cash, transferred to another account or used elsewhere.",
            0.6,
        ),
    )
    # "exchange" and "exchanged" stem apart ("exchange", "exchang"): 3 of 4 words, and the opposite
    assert not Verifier().check("Yes, you can exchange a gift card for cash.", ev).supported
    assert Verifier().check("Gift card balances can't be exchanged for cash.", ev).supported
    assert not Verifier().check("This will allow you to change your flight's name.", ev).supported
    assert not Verifier().check("Tickets can be transferred to another person.", ev).supported
    assert Verifier().check("Tickets cannot be transferred to another person.", ev).supported
    missed = "If you miss your outbound flight, the rest of the booking is cancelled."
    assert Verifier().check(missed, ev).supported  # "take", the word said no to, is not in the claim


def test_a_claim_that_says_yes_to_what_a_sentence_says_no_to_is_not_supported_by_it() -> None:
    no = (
        "Compensation is not paid when the disruption is caused by extraordinary circumstances, "
        "such as severe weather, air traffic control restrictions, security alerts or strikes by airport staff."
    )
    ev = evidence(
        (no, 0.6),
        (
            "If you cannot travel because of illness, injury or death of a relative, cancellation cover pays.",
            0.5,
        ),
    )
    # 15 of its 19 words are the sentence's, and none is "paid", the word it says no to
    opposite = (
        "You can also claim compensation for delays caused by extraordinary circumstances, such as severe "
        "weather, air traffic control restrictions, security alerts, strikes by airport staff."
    )
    assert not Verifier().check(opposite, ev).supported
    said = "No compensation is paid for extraordinary circumstances such as severe weather."
    assert Verifier().check(said, ev).supported
    # a negation in a condition says no to nothing
    assert (
        Verifier().check("Cancellation cover pays for illness, injury or death of a relative.", ev).supported
    )


def test_a_claim_that_says_no_needs_a_sentence_that_says_no_to_the_same() -> None:
    ev = evidence(
        (
            "Power banks and spare lithium batteries up to 100 Wh are allowed only in cabin baggage, "
            "never in checked bags.",
            0.7,
        ),
        ("Tickets cannot be transferred to another person.", 0.6),
        ("Top-ups by bank transfer are free.", 0.5),
        ("Extra-legroom seats are free only in Business.", 0.5),
    )
    check = Verifier().check
    assert not check(
        "No, you cannot bring a power bank in your cabin bag.", ev
    ).supported  # "never" is on checked bags
    assert check("No, you cannot bring a power bank in your checked bag.", ev).supported
    assert check("Power banks are not allowed in checked bags.", ev).supported  # "checked" is under its "not"
    assert check("You can't transfer your ticket to another person.", ev).supported
    assert not check("Tickets can't be changed, but can be transferred to another person.", ev).supported
    assert check("There is no fee for top-ups by bank transfer.", ev).supported  # "free" says no to a cost
    assert not check("Top-ups by bank transfer are not possible.", ev).supported
    assert not check("No, extra-legroom seats are not free in Business.", ev).supported
    cover = evidence(("Cancellation cover pays out if you cannot travel because of illness or injury.", 0.7))
    assert not check(
        "No, travel insurance does not cover cancellation.", cover
    ).supported  # "No," is its own clause
    assert check("No, you cannot travel because of illness.", cover).supported


def test_a_claim_tells_what_its_sentence_says_beyond_the_question() -> None:
    ev = evidence(
        (
            "Standard seats are free to choose for Premium Economy and Business passengers and for "
            "Northwind Miles Silver and Gold members.",
            0.7,
        ),
        ("5G is included on every Northwind Mobile plan at no extra cost.", 0.6),
    )
    ev.question = "Can I choose my seat for free?"
    check = Verifier().check
    said_back = check("You can choose your seat for free at any time.", ev)  # "at any time": its own
    assert said_back.supported and not said_back.tells
    assert check("Business passengers can choose standard seats for free.", ev).tells
    ev = evidence(("5G is included on every Northwind Mobile plan at no extra cost.", 0.6))
    ev.question = "Is 5G included in my plan?"
    assert not check("5G is included in your plan.", ev).tells
    assert check("Yes, 5G is included on every plan.", ev).tells  # "every": the sentence says it
    assert check("No, 5G is not extra.", ev).tells  # "not": the sentence says no too ("no extra cost")


def test_a_negation_covers_its_clause() -> None:
    assert negated_scope("Allowed only in cabin baggage, never in checked bags.") == {"check", "bag"}
    assert negated_scope("Tickets can't be changed, but can be transferred.") == {"chang"}
    assert negated_scope("You can bring one.") == frozenset()


def test_a_question_asks_for_a_number_by_its_words() -> None:
    for q in ("How much is a second bag?", "Roughly how long do refunds take?", "What time is check-in?"):
        assert asks_for_number(q)
    for q in ("Can I bring a pet?", "How do I add a bag?", "What is the baggage policy?"):
        assert not asks_for_number(q)


def test_a_copied_or_quoted_evidence_sentence_has_its_similarity_known() -> None:
    """The claim-focus check weighs a claim by its similarity to the question; for a sentence the
    evidence already holds (copied, a list item with its marker, quoted after a heading) that is
    known, so no model run is needed."""
    ev = evidence(
        ("Adding a second bag online costs €40 on short-haul flights.", 0.6),
        ("Tier: Gold — Points needed: 4,000.", 0.3),
    )
    assert ev.similarity_of("Adding a second bag online costs €40 on short-haul flights.") == np.float32(0.6)
    assert ev.similarity_of("- Tier: Gold — Points needed: 4,000.") == np.float32(0.3)
    assert ev.similarity_of("Bags Adding a second bag online costs €40 on short-haul flights.") == np.float32(
        0.6
    )
    assert ev.similarity_of("A second bag costs €40.") is None  # the verifier's own words: embed it
    assert (
        ev.similarity_of("Gold members, read this first: Tier: Gold — Points needed: 4,000.") is None
    )  # mostly new


def test_the_question_said_back_answers_a_wh_question_but_not_a_yes_no_one() -> None:
    ev = evidence(("Find your phone's IMEI number by dialling *#06#.", 0.8))
    ev.question = "How do I find my IMEI number?"
    assert not Verifier().check("This is where you can find your IMEI number. [1]", ev).supported
    assert Verifier().check("Find your phone's IMEI number by dialling *#06#.", ev).supported
    ev = evidence(("You can find your IMEI number in the app.", 0.8))
    ev.question = "My phone is new. Can I find my IMEI number in the app?"
    assert Verifier().check("You can find your IMEI number in the app.", ev).supported
    ev = evidence(("5G is included on every Northwind Mobile plan at no extra cost.", 0.8))
    ev.question = "Which plans include 5G?"
    assert not Verifier().check("Plans include 5G.", ev).supported
    for answer in ("All plans include 5G.", "No plans include 5G."):
        assert says_nothing_new(answer, content_words(answer), numbers(answer), ev) is False


def test_a_count_or_ordinal_in_words_is_a_number() -> None:
    """9 of the claim's 10 words are in the page, but it says "second" where the page says "first"."""
    ev = evidence(("The same prices apply when you add a first checked bag to an Economy Light fare.", 0.8))
    assert (
        not Verifier()
        .check("The same prices apply when you add a second checked bag to an Economy Light fare.", ev)
        .supported
    )
    assert (
        Verifier()
        .check("The same prices apply when you add a first checked bag to an Economy Light fare.", ev)
        .supported
    )
    ev = evidence(("Economy tickets include 1 checked bag of up to 23 kg.", 0.8))
    assert Verifier().check("Economy tickets include one checked bag of up to 23 kg.", ev).supported
    assert not Verifier().check("Economy tickets include two checked bags of up to 23 kg.", ev).supported
    assert numbers("First, open the app.") == set()  # a step, not a quantity


def test_a_claim_about_what_was_asked_needs_a_sentence_about_it() -> None:
    """The claim's subject says the question's "cabin"; the sentence it shares 6 of 8 words with is
    about the checked bag."""
    ev = evidence(
        ("The checked baggage allowance on an Economy ticket is one checked bag of up to 23 kg.", 0.7),
        ("The cabin bag allowance is one bag of up to 8 kg.", 0.7),
    )
    ev.question = "What is the cabin bag allowance?"
    relabelled = (
        "The cabin bag allowance is one checked bag of up to 23 kg, and it applies to all checked bags."
    )
    assert not Verifier().check(relabelled, ev).supported
    assert Verifier().check("The cabin bag allowance is one bag of up to 8 kg.", ev).supported
    assert Verifier().check("The checked baggage allowance is one checked bag of up to 23 kg.", ev).supported


def test_a_follow_up_is_answered_only_by_claims_about_it() -> None:
    ev = evidence(
        ("The checked baggage allowance on an Economy ticket is one checked bag of up to 23 kg.", 0.7),
        ("Business passengers can check 2 bags of up to 32 kg each.", 0.6),
    )
    ev.question = "What is the checked baggage allowance on an economy ticket? and for business?"
    claim = "The checked baggage allowance on an Economy ticket is one checked bag of up to 23 kg."
    assert Verifier().check(claim, ev).supported
    assert ev.best_sentences(1)[0][1] == claim
    ev.focus = frozenset(content_words("and for business?"))  # the follow-up as asked
    assert not Verifier().check(claim, ev).supported  # about the question it follows
    assert Verifier().check("Business passengers can check 2 bags of up to 32 kg each.", ev).supported
    assert ev.best_sentences(1)[0][1].startswith("Business passengers")  # the quotes too


def test_a_section_about_another_action_supports_no_claim_about_how_to_do_the_one_asked() -> None:
    """A claim in the words of the step that opens an account answers no "how do I close it?"; it
    still answers "how do I open one?", and the closing section's step supports its claim."""
    text = (
        "# Opening and closing an account\n\n"
        "## Opening an account\n\n1. Download the app and enter your mobile number.\n\n"
        "## Closing your account\n\nGo to Settings > Account > Close account.\n"
    )
    passage = Passage(
        doc_id="a.md", title="Opening and closing an account", chunk=0, text=text, score=0.5, source=""
    )
    steps = ["Download the app and enter your mobile number.", "Go to Settings > Account > Close account."]

    def asked(question: str) -> Evidence:
        return Evidence(
            question=question,
            passages=[passage],
            sentences=[(0, s) for s in steps],
            sims=np.array([0.82, 0.63], dtype=np.float32),
            relevance=[0.82],
            answerable=True,
            answerability=0.8,
        )

    opening = "You can do this by going to the app and entering your mobile number."
    assert not Verifier().check(opening, asked("How do I close my account?")).supported
    assert Verifier().check(steps[1], asked("How do I close my account?")).supported
    assert Verifier().check(opening, asked("How do I open an account?")).supported
