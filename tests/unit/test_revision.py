"""The extractive revision: what a domain answers when none of its model's sentences survive."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import numpy as np

from contracts import DomainAnswer, DomainTask, Passage, SentenceScore, Turn
from contracts.messages import deadline_in, utcnow
from services.domain.agents import Evidence, Rewriter, amounts, asked_action, bounds_amount
from services.domain.pipeline import DomainPipeline, _closed, _with_pointed, cut_off, queued_ms
from services.domain.settings import DomainSettings
from shared.domains import load_domains
from shared.settings import DEFAULT_DOMAINS_DIR
from shared.text import evidence_sentences, followed, following, stem


def _pipeline(floor: float = 0.55) -> DomainPipeline:
    travel = load_domains(DEFAULT_DOMAINS_DIR)["travel"]
    grader: Any = SimpleNamespace(answer_threshold=floor)
    model: Any = SimpleNamespace(model="stub")
    unused: Any = None
    return DomainPipeline(travel, DomainSettings(domain="travel"), model, unused, grader, unused, unused)


def _evidence(sims: list[float]) -> Evidence:
    passages = [
        Passage(doc_id=f"doc-{i}.md", title=f"Doc {i}", chunk=0, text="…", score=0.5, source="")
        for i in range(2)
    ]
    sentences = [
        (0, "Economy Classic includes one checked bag of 23 kg."),
        (1, "A second bag costs 45 EUR online."),
        (0, "Seats can be chosen at check-in."),
    ]
    return Evidence(
        question="How many bags are included?",
        passages=passages,
        sentences=sentences,
        sims=np.array(sims, dtype=np.float32),
        relevance=[max(sims[0], sims[2]), sims[1]],
        answerable=True,
        answerability=max(sims),
    )


def _task() -> DomainTask:
    return DomainTask(
        query_id="q1", conversation_id="c1", deadline=deadline_in(30), domain="travel",
        sub_query="How many bags are included?", text="How many bags are included?", reply_subject="r",
    )  # fmt: skip


async def _revised(evidence: Evidence, floor: float = 0.55) -> DomainAnswer:
    """The revision of ``evidence``; what it streams is its answer, once."""
    emitted: list[str] = []

    async def emit(text: str, done: bool = False) -> None:
        emitted.append(text)

    answer = await _pipeline(floor)._revise(_task(), evidence, {}, emit, 0.0, {})
    assert emitted == [answer.text]
    return answer


async def _revise(sims: list[float], floor: float = 0.55) -> tuple[str, str, list[str]]:
    answer = await _revised(_evidence(sims), floor)
    return answer.status, answer.text, [c.doc_id for c in answer.citations]


async def test_quotes_the_two_best_sentences_when_both_clear_the_bar() -> None:
    status, text, cited = await _revise([0.71, 0.62, 0.40])
    assert status == "answered"
    assert (
        text == "Economy Classic includes one checked bag of 23 kg. [1] A second bag costs 45 EUR online. [2]"
    )
    assert cited == ["doc-0.md", "doc-1.md"]


async def test_a_sentence_two_overlapping_chunks_share_is_quoted_once() -> None:
    evidence = _evidence([0.71, 0.62, 0.40])
    repeated = "Economy Classic includes one checked bag of 23 kg."
    evidence.sentences = [(0, repeated), (1, repeated), (1, "A second bag costs 45 EUR online.")]
    evidence.sims = np.array([0.71, 0.71, 0.60], dtype=np.float32)
    answer = await _revised(evidence)
    assert answer.text == f"{repeated} [1] A second bag costs 45 EUR online. [2]"


async def test_quotes_only_the_best_when_the_next_is_below_the_bar() -> None:
    status, text, cited = await _revise([0.71, 0.50, 0.40])
    assert (status, text, cited) == (
        "answered",
        "Economy Classic includes one checked bag of 23 kg. [1]",
        ["doc-0.md"],
    )


async def test_a_quoted_heading_or_table_row_is_closed_so_it_stays_its_own_sentence() -> None:
    assert _closed("Express 1–2 business days €9.99") == "Express 1–2 business days €9.99."
    assert _closed("we refund the difference: ") == "we refund the difference."
    assert _closed("Is it covered?") == "Is it covered?"


async def test_a_heading_is_never_quoted_the_next_best_sentence_is() -> None:
    evidence = _evidence([0.71, 0.62, 0.40])
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={"text": "## Checked baggage allowance\nEconomy Classic includes one checked bag of 23 kg."}
    )
    evidence.sentences = [(0, "Checked baggage allowance"), *evidence.sentences]
    evidence.sims = np.array([0.80, 0.71, 0.62, 0.40], dtype=np.float32)
    answer = await _revised(evidence)
    assert (
        answer.text
        == "Economy Classic includes one checked bag of 23 kg. [1] A second bag costs 45 EUR online. [2]"
    )
    evidence.sims = np.array([0.80, 0.50, 0.45, 0.40], dtype=np.float32)  # only the heading clears the bar
    assert (await _revised(evidence)).status == "abstained"


async def test_a_quoted_lead_in_brings_the_list_it_introduces() -> None:
    evidence = _evidence([0.71, 0.62, 0.40])
    lead = "Economy Classic includes all of the following:"
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={
            "text": f"{lead}\n- one checked bag of 23 kg\n- a seat chosen at check-in\nSeats can be chosen at check-in."
        }
    )
    evidence.sentences[0] = (0, lead)
    answer = await _revised(evidence)
    assert answer.text == (
        f"{lead}\n- one checked bag of 23 kg\n- a seat chosen at check-in [1]\nA second bag costs 45 EUR online. [2]"
    )


async def test_a_list_item_that_finishes_its_lead_in_is_quoted_as_the_lead_in_with_its_list() -> None:
    evidence = _evidence([0.71, 0.62, 0.40])
    lead = "Unlocking is free when either of these is true:"
    item = "the phone was bought outright and your account has been active for 3 months; or"
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={
            "text": f"{lead}\n\n- {item}\n- the phone was paid off in full.\n\nSeats can be chosen at check-in."
        }
    )
    evidence.sentences[0] = (0, item)  # half a sentence: its condition is in the lead-in
    answer = await _revised(evidence)
    assert answer.text == (
        f"{lead}\n- {item}\n- the phone was paid off in full. [1]\nA second bag costs 45 EUR online. [2]"
    )


async def test_abstains_when_even_the_best_is_below_the_bar() -> None:
    status, text, cited = await _revise([0.50, 0.45, 0.40])
    assert status == "abstained" and "does not say" in text and cited == []


async def test_the_best_needs_only_the_graders_floor_the_next_needs_the_quote_threshold() -> None:
    status, text, cited = await _revise([0.50, 0.45, 0.40], floor=0.40)  # quote_threshold 0.55
    assert (status, text, cited) == (
        "answered",
        "Economy Classic includes one checked bag of 23 kg. [1]",
        ["doc-0.md"],
    )


def test_the_queue_wait_runs_from_the_task_being_built_to_its_start() -> None:
    task = _task()
    assert queued_ms(task, task.created_at + timedelta(milliseconds=40)) == 40.0
    # two hosts' clocks: a task that seems to come from the future waited for nothing
    assert queued_ms(task, task.created_at - timedelta(milliseconds=5)) == 0.0


async def test_a_task_past_its_deadline_still_reports_its_wait() -> None:
    task = _task().model_copy(update={"deadline": utcnow() - timedelta(seconds=1)})
    answer = await _pipeline().run(task)
    assert answer.status == "failed"
    assert answer.timings_ms["queued"] >= 0


def test_an_unfinished_last_sentence_is_cut_off() -> None:
    assert cut_off("The plan is [1]") and cut_off("This") and cut_off("but it [3]")
    assert not cut_off("It costs €5. [1]") and not cut_off("It costs €5 [1].")
    assert not cut_off('He said "yes."') and not cut_off("Up to 23 kg (per bag).")


async def test_the_row_that_holds_the_name_asked_about_is_quoted_first() -> None:
    evidence = _evidence([0.71, 0.62, 0.40])
    evidence.question = "The app shows error MOB-402. What does that mean?"
    evidence.sentences = [
        (0, "Code: MOB-204 — Meaning: Can't reach our servers."),
        (0, "Code: MOB-310 — Meaning: Payment method declined."),
        (1, "Code: MOB-402 — Meaning: Account suspended; What to do: Pay your overdue balance."),
    ]
    evidence.sims = np.array([0.66, 0.64, 0.58], dtype=np.float32)
    answer = await _revised(evidence)
    assert answer.text == (
        "Code: MOB-402 — Meaning: Account suspended; What to do: Pay your overdue balance. [2]"
    )  # the closer rows name other codes: not quoted beside it


def test_quotes_are_ranked_by_similarity_plus_their_own_coverage_of_the_question() -> None:
    """Similarity finds the topic; a sentence's coverage of the question finds the one holding what
    was asked. The floor still applies to similarity alone."""
    ev = _evidence([0.60, 0.50, 0.45])
    assert ev.best_sentences(2)[0][1].startswith("Economy Classic")  # no coverage: similarity
    ev.covers = np.array([0.40, 0.70, 0.90], dtype=np.float32)
    assert [t for _, t, _ in ev.best_sentences(2)] == [
        "Seats can be chosen at check-in.",  # 0.45 + 0.90
        "A second bag costs 45 EUR online.",  # 0.50 + 0.70
    ]
    assert ev.best_sentences(2, floor=0.5)[0][1] == "A second bag costs 45 EUR online."


async def test_a_quoted_row_of_a_small_table_brings_its_sibling_rows() -> None:
    """One row answers one cell: "How much does a second checked bag cost?" quoted the airport row
    of a two-row table and not the online one."""
    online = "When you add the bag: Online — Short-haul: €40; Long-haul: €65."
    airport = "When you add the bag: At the airport — Short-haul: €70; Long-haul: €110."
    evidence = _evidence([0.71, 0.50, 0.40])
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={"text": f"## Additional bags\n- {online}\n- {airport}\nThe same prices apply to a first bag."}
    )
    evidence.sentences[0] = (0, airport)
    assert (await _revised(evidence)).text == f"{online}\n{airport} [1]"
    rows = [f"Plan: P{i} — Data: {i} GB; Price: €{i}." for i in range(5)]  # too big to quote whole
    evidence.passages[0] = evidence.passages[0].model_copy(update={"text": "\n".join(f"- {r}" for r in rows)})
    evidence.sentences[0] = (0, rows[2])
    assert (await _revised(evidence)).text == f"{rows[2]} [1]"


async def test_a_sentence_that_points_back_is_quoted_after_the_sentence_it_points_to() -> None:
    evidence = _evidence([0.71, 0.40, 0.62])
    before = "Your main balance is not covered by the deposit guarantee."
    pointing = "Instead, it is safeguarded in separate accounts."
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={"text": f"## Is my money protected?\n\n{before} {pointing}"}
    )
    evidence.sentences[0] = (0, pointing)
    evidence.sentences[2] = (0, before)  # the next best: said once, inside the first quote
    answer = await _revised(evidence)
    assert answer.text == f"{before} {pointing} [1]"


async def test_a_sentence_about_another_ordinal_is_quoted_after_those_that_are_not() -> None:
    evidence = _evidence([0.75, 0.70, 0.40])
    evidence.question = "How much does a second bag cost?"
    evidence.sentences[0] = (0, "The same prices apply when you add a first bag to a Light fare.")
    answer = await _revised(evidence)
    assert answer.text.startswith("A second bag costs 45 EUR online. [2]"), answer.text


async def test_a_heading_above_a_list_is_quoted_with_it_and_its_items_are_not_quoted_again() -> None:
    evidence = _evidence([0.71, 0.40, 0.62])
    heading, items = "What you need", ["A 5G-capable phone", "5G switched on"]
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={"text": "\n".join(["# 5G", "", f"## {heading}", "", *(f"- {i}" for i in items)])}
    )
    evidence.sentences[0] = (0, heading)
    evidence.sentences[2] = (0, items[0])  # quoted after its heading alone; said once, in the list
    answer = await _revised(evidence)
    assert answer.text == "\n".join([f"{heading}:", *(f"- {i}" for i in items)]) + " [1]"
    evidence.passages[0] = evidence.passages[0].model_copy(update={"text": f"## {heading}\n\nBring a phone."})
    assert heading not in (await _revised(evidence)).text  # a heading above no list is never quoted


async def test_a_quote_that_only_points_to_a_page_already_quoted_is_not_said() -> None:
    evidence = _evidence([0.71, 0.62, 0.40])
    evidence.passages[0] = evidence.passages[0].model_copy(update={"title": "Roaming"})
    evidence.sentences[1] = (1, "For using your phone while you are abroad, see Roaming.")
    answer = await _revised(evidence)
    assert answer.text == "Economy Classic includes one checked bag of 23 kg. [1]"
    assert [c.ref for c in answer.citations] == [1]
    evidence.sentences[1] = (1, "For a lost phone, see Lost or stolen phone.")  # another page: said
    assert (await _revised(evidence)).text.endswith("see Lost or stolen phone. [2]")


async def test_a_sentence_that_follows_a_list_is_quoted_after_the_whole_list() -> None:
    evidence = _evidence([0.71, 0.40, 0.62])
    lead, items = "Before you close your account:", ["move your balance out;", "repay any loan."]
    then = "Then go to Settings > Account > Close account."
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={"text": "\n".join(["## Closing", "", lead, "", *(f"- {i}" for i in items), "", then])}
    )
    evidence.sentences[0] = (0, then)
    evidence.sentences[2] = (0, lead)  # the next best: the list, said once, inside the first quote
    answer = await _revised(evidence)
    assert answer.text == "\n".join([lead, *(f"- {i}" for i in items), f"{then} [1]"])


async def test_a_quote_that_points_to_a_kept_page_brings_that_pages_best_sentence() -> None:
    evidence = _evidence([0.71, 0.45, 0.30])
    pointer = "The fee for more bags depends on your fare (see Doc 1)."
    evidence.sentences[0] = (0, pointer)
    answer = await _revised(evidence, floor=0.40)  # 0.45: below the second quote's bar, above the floor
    assert answer.text == f"{pointer} [1] A second bag costs 45 EUR online. [2]"  # one of its words: chance
    assert [c.doc_id for c in answer.citations] == ["doc-0.md", "doc-1.md"]
    evidence.sentences[0] = (0, "The fee for more bags depends on your fare (see Doc 7).")  # not kept
    assert (await _revised(evidence, floor=0.40)).text.count("[") == 1


async def test_a_page_the_best_retrieved_sentence_points_to_is_fetched_when_not_retrieved() -> None:
    fetched: list[list[str]] = []
    plans = Passage(
        doc_id="plans.md", title="Plans", chunk=0, text="Screens: 1, 2 or 4.", score=0.2, source=""
    )

    async def fetch(question: str, doc_ids: list[str], **_: object) -> list[Passage]:
        fetched.append(doc_ids)
        return [plans]

    travel = load_domains(DEFAULT_DOMAINS_DIR)["travel"]
    unused: Any = None
    searcher: Any = SimpleNamespace(fetch=fetch)
    pages = {"Plans": "plans.md", "Devices": "devices.md", "Music": "music.md"}
    pipeline = DomainPipeline(
        travel, DomainSettings(domain="travel"), unused, searcher, unused, unused, unused, pages
    )

    def retrieved(*sentences: tuple[str, float]) -> Passage:
        scored = [SentenceScore(text=t, score=s) for t, s in sentences]
        return Passage(
            doc_id="devices.md", title="Devices", chunk=0, text="…", score=0.5, source="", sentences=scored
        )

    best = ("Screens depend on your plan (see Plans).", 0.51)
    assert await pipeline._follow(
        _task(), "How many screens?", [retrieved(best, ("Cast to a TV.", 0.3))], None
    ) == [plans]
    assert fetched == [["plans.md"]]
    weak = ("Screens depend on your plan (see Plans).", 0.40)  # not among the best: not followed
    assert (
        await pipeline._follow(_task(), "How many screens?", [retrieved(("Cast to a TV.", 0.5), weak)], None)
        == []
    )
    own = ("More on the Devices page (see Devices).", 0.6)  # a page retrieved already: nothing to fetch
    assert await pipeline._follow(_task(), "How many screens?", [retrieved(own)], None) == []
    assert fetched == [["plans.md"]]

    async def broken(question: str, doc_ids: list[str], **_: object) -> list[Passage]:
        raise TimeoutError("retriever gone")

    pipeline.searcher = SimpleNamespace(fetch=broken)  # type: ignore[assignment]
    assert await pipeline._follow(_task(), "How many screens?", [retrieved(best)], None) == []  # answers on


def test_a_pointer_brings_the_pointed_pages_sentence_that_says_two_of_its_words() -> None:
    """The sentence of the pointed page that says what the pointer promises; one shared word is
    chance, and the page's best sentence for the question comes instead."""
    passages = [
        Passage(doc_id=f"{t}.md", title=t, chunk=0, text="…", score=0.5, source="")
        for t in ("Plans and fees", "Savings Vaults")
    ]
    pointer = (0, "Savings interest rates by plan are in Savings Vaults.", 0.7)
    page = [
        (1, "Savings Vaults keep money apart and earn interest.", 0.8),
        (1, "Plan: Plus — Interest rate: 2.25%.", 0.6),
        (1, "Transfers arrive within hours.", 0.5),
    ]
    evidence: Any = SimpleNamespace(passages=passages)
    assert _with_pointed(evidence, [page[0], pointer], [page[0], pointer, *page[1:]]) == [
        page[0],
        page[1],  # "plan", "interest", "rate": before the sentence that points to it
        pointer,
    ]
    lone = (0, "Fees charged by the hour are in Savings Vaults.", 0.7)
    assert _with_pointed(evidence, [lone], [lone, *page]) == [lone, page[0]]  # "hours" alone: chance


def test_a_follow_up_the_router_read_with_the_conversation_is_searched_with_what_it_follows() -> None:
    earlier = "What is the checked baggage allowance on an economy ticket?"
    sub_query = following("and for business? ", earlier)
    assert sub_query == f"and for business? (follow-up to: {earlier})"
    assert followed(sub_query) == ("and for business?", earlier)
    assert followed("Where is my parcel (the blue one)?") == ("Where is my parcel (the blue one)?", None)
    history = [Turn(query_id="q1", question="Something else entirely?", answer="-", domains=["travel"])]
    # the note names what it follows; the note itself is not searched, nor graded as the question
    assert Rewriter().rewrite(sub_query, history) == ["and for business?", f"{earlier} and for business?"]
    assert Rewriter().rewrite("and for business?", history) == [
        "and for business?",
        "Something else entirely? and for business?",
    ]


def test_a_follow_up_is_searched_with_the_follow_ups_it_comes_after_and_what_they_follow() -> None:
    """ "Does it include 5G?" after "How much is the Unlimited plan?" and "and the Lite one?" was
    searched as "and the Lite one? Does it include 5G?" and abstained; a question that stands alone
    ends the chain, and it goes back at most 3 questions."""

    def turns(*questions: str) -> list[Turn]:
        return [
            Turn(query_id=f"q{i}", question=q, answer="-", domains=["mobile"])
            for i, q in enumerate(questions)
        ]

    history = turns("Where is my parcel?", "How much is the Unlimited plan?", "and the Lite one?")
    assert Rewriter().rewrite("Does it include 5G?", history) == [
        "Does it include 5G?",
        "How much is the Unlimited plan? and the Lite one? Does it include 5G?",
    ]
    chained = turns("How much is the Unlimited plan?", "and the Lite one?", "and that one?", "and this?")
    assert (
        Rewriter().rewrite("Does it include 5G?", chained)[1]
        == "and the Lite one? and that one? and this? Does it include 5G?"
    )
    standalone = turns("How much is the Unlimited plan?", "Can I use my phone as a hotspot on the Lite plan?")
    assert Rewriter().rewrite("Does it include 5G?", standalone)[1] == (
        "Can I use my phone as a hotspot on the Lite plan? Does it include 5G?"
    )


def test_a_bound_on_an_amount_of_the_size_asked_about_is_read_as_such() -> None:
    assert amounts("Can I get a loan of 20000 or €25,000.50?") == [20000.0, 25000.5]
    assert amounts("Error MOB-402 on 5G, a 12-month plan, 9.9% APR") == [9.9]  # codes and names: none
    asked = amounts("Can I get a loan of 20000?")
    assert bounds_amount("You can borrow between €1,000 and €25,000 over 12 to 60 months.", asked)
    assert bounds_amount("Loans of €5,000–€30,000.", asked)
    assert not bounds_amount("You need an income of at least €1,000 a month.", asked)  # another size
    assert not bounds_amount("A loan of €20,000 costs €160 a month.", asked)  # no bound
    assert bounds_amount("Minimum age 21.", amounts("Can I rent a car at 19?"))
    assert bounds_amount("Bags over 32 kg are not accepted.", amounts("Can I check a 40 kg bag?"))
    assert not bounds_amount("Pause for 1, 2 or 3 months under Account > Plan.", amounts("Pause 2 months?"))


async def test_a_sentence_bounding_the_amount_asked_about_is_quoted_first() -> None:
    evidence = _evidence([0.71, 0.40, 0.62])
    evidence.question = "Can I take a 30 kg bag?"
    evidence.sentences[2] = (0, "Each checked bag can weigh up to 23 kg.")
    assert (await _revised(evidence)).text.startswith("Each checked bag can weigh up to 23 kg. [1]")
    evidence.question = "Can I take a bag?"  # no amount asked about: the most similar first
    assert (await _revised(evidence)).text.startswith("Economy Classic includes")


async def test_a_quote_another_holds_is_said_by_the_other_in_its_place() -> None:
    evidence = _evidence([0.71, 0.40, 0.62])
    evidence.question = "Why does my video keep buffering?"
    step, heading = "Restart your router (see Doc 1).", "Buffering or low quality"
    evidence.passages[0] = evidence.passages[0].model_copy(
        update={"text": f"## {heading}\n\n1. Run a speed test.\n2. {step}\n"}
    )
    evidence.sentences[0] = (0, step)  # quoted with its steps, then Doc 1 it points to
    evidence.sentences[2] = (0, heading)  # quoted with the same steps: it leads, where they were
    answer = await _revised(evidence, floor=0.40)
    assert answer.text == (
        f"{heading}:\n1. Run a speed test.\n2. {step} [1]\nA second bag costs 45 EUR online. [2]"
    ), answer.text


def _page_evidence(question: str, title: str, text: str, said: list[str], sims: list[float]) -> Evidence:
    """Evidence of one page (a passage of the whole ``text``) whose sentences ``said`` are this similar
    to ``question``."""
    passage = Passage(doc_id="p.md", title=title, chunk=0, text=text, score=0.5, source="")
    return Evidence(
        question=question,
        passages=[passage],
        sentences=[(0, s) for s in said],
        sims=np.array(sims, dtype=np.float32),
        relevance=[max(sims)],
        answerable=True,
        answerability=0.8,
    )


def test_for_how_to_do_something_the_section_whose_heading_says_it_comes_first() -> None:
    """MiniLM embeds opening and closing alike; the page's section headings tell them apart by the
    action the question asks how to do. The page's title, which says every section's topic,
    demotes nothing, and a question that asks no "how do I …" keeps the plain ranking."""
    text = (
        "# Opening and closing an account\n\nEach person can hold one personal account.\n\n"
        "## Opening an account\n\n1. Download the app and enter your mobile number.\n"
        "2. Confirm the number with the code we send.\n\n"
        "## Closing your account\n\nThen go to Settings > Account > Close account.\n"
    )
    said = [
        "Download the app and enter your mobile number.",
        "Then go to Settings > Account > Close account.",
        "Each person can hold one personal account.",
    ]
    assert set(said) <= set(evidence_sentences(text))

    def best(question: str) -> list[str]:
        ev = _page_evidence(question, "Opening and closing an account", text, said, [0.82, 0.63, 0.70])
        return [t for _, t, _ in ev.best_sentences(3)]

    assert best("How do I close my account?") == [said[2], said[1], said[0]]
    assert best("How do I open an account?") == [said[0], said[2], said[1]]
    assert best("Can I close my account today?") == [said[0], said[2], said[1]]  # asks no "how to"


def test_a_sentence_that_says_the_action_under_a_heading_of_another_action_comes_after() -> None:
    """ "Cancel your subscription first." says the action asked about, but under "Deleting your
    account" it is what to do before deleting; "Cancelling" is said under another heading."""
    text = (
        "# Cancelling your subscription\n\nYou can cancel at any time under Account > Plan > Cancel.\n\n"
        "## What happens after you cancel\n\n- You keep access until the end of the period.\n\n"
        "## Deleting your account\n\nGo to Account > Privacy > Delete account. Cancel your subscription first.\n"
    )
    said = ["Cancel your subscription first.", "You can cancel at any time under Account > Plan > Cancel."]
    ev = _page_evidence(
        "How do I cancel my subscription?", "Cancelling your subscription", text, said, [0.82, 0.71]
    )
    assert [t for _, t, _ in ev.best_sentences(2)] == [said[1], said[0]]
    assert ev.off_section == [True, False]


def test_for_how_to_do_something_the_section_whose_heading_says_how_comes_first() -> None:
    """Every heading of the page says the action ("dispute"); the one that says how to do it
    answers "how do I …?", though the page reads the one that says when as close."""
    text = (
        "# Card payment disputes\n\n## When you can dispute a payment\n\n- You were charged twice.\n\n"
        "## How to raise a dispute\n\n1. Tap the transaction and choose Dispute this payment.\n"
        "2. Upload your evidence.\n"
    )
    said = ["When you can dispute a payment", "How to raise a dispute", "You were charged twice."]

    def best(question: str) -> list[str]:
        ev = _page_evidence(question, "Card payment disputes", text, said, [0.85, 0.80, 0.60])
        return [t for _, t, _ in ev.best_sentences(2)]

    assert best("How do I dispute a card payment?") == [said[1], said[0]]
    assert best("Can I dispute a card payment?") == [said[0], said[1]]  # asks no "how to"
    assert best("How do I cancel a card payment?") == [said[0], said[1]]  # the heading says another action


def test_the_action_a_question_asks_how_to_do() -> None:
    assert asked_action("How do I close my Northwind Pay account?") == stem("close")
    assert asked_action("how to cancel my plan") == stem("cancel")
    assert asked_action("How long can I use a gift card?") is None
    assert asked_action("How do I do this?") is None  # no action: a function word
