"""The terminal's view of a streamed answer: interleaved domains shown one after another."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from accel.render import StreamView, streamed_everything
from contracts import DomainAnswer, FinalAnswer, RouteDecision, TokenDelta


def delta(
    task: str, seq: int, text: str, done: bool = False, attempt: int = 1, revision: bool = False
) -> TokenDelta:
    domain = {"t1": "travel", "t2": "fintech", "t3": "mobile"}[task]
    return TokenDelta(
        query_id="q", task_id=task, domain=domain, seq=seq, text=text, done=done, attempt=attempt,
        revision=revision,
    )  # fmt: skip


def screen(deltas: list[TokenDelta]) -> tuple[str, StreamView]:
    """What the terminal shows: '[domain]' for a header, '!domain!' for a restart, '~domain~' for a
    revision."""
    shown: list[str] = []

    def show(kind: str, domain: str, text: str) -> None:
        shown.append(
            {"header": f"\n[{domain}]", "restart": f"!{domain}!", "revision": f"~{domain}~"}.get(kind, text)
        )

    view = StreamView(show)
    for d in deltas:
        view.add(d)
    view.finish()
    return "".join(shown), view


def test_interleaved_domains_are_shown_one_after_another_in_the_order_they_started() -> None:
    shown, view = screen(
        [
            delta("t1", 0, "Bags: 23 kg."),
            delta("t2", 0, "Rate: 1.08."),
            delta("t1", 1, " Extra: 40 EUR."),
            delta("t3", 0, "eSIM: scan it."),
            delta("t2", 1, " Fee: none.", done=True),
            delta("t1", 2, "", done=True),
            delta("t3", 1, " Done.", done=True),
        ]
    )
    assert (
        shown
        == "\n[travel]Bags: 23 kg. Extra: 40 EUR.\n[fintech]Rate: 1.08. Fee: none.\n[mobile]eSIM: scan it. Done."
    )
    assert view.streamed("t2") == "Rate: 1.08. Fee: none."


def test_a_task_that_never_finishes_is_shown_at_the_end() -> None:
    shown, _ = screen([delta("t1", 0, "Bags"), delta("t2", 0, "Rate: 1.08.", done=True)])
    assert shown == "\n[travel]Bags\n[fintech]Rate: 1.08."


def test_a_redelivered_task_starts_over() -> None:
    live, view = screen([delta("t1", 0, "Bags: 2"), delta("t1", 0, "Bags: 23 kg.", attempt=2, done=True)])
    assert live == "\n[travel]Bags: 2!travel!Bags: 23 kg." and view.streamed("t1") == "Bags: 23 kg."
    held, view = screen(
        [
            delta("t1", 0, "Bags."),
            delta("t2", 0, "Rate: 1."),  # held while travel streams
            delta("t2", 0, "Rate: 1.08.", attempt=2, done=True),  # what it held is void
            delta("t2", 1, "late", attempt=1),  # a delta of the given-up attempt
            delta("t1", 1, "", done=True),
        ]
    )
    assert held == "\n[travel]Bags.\n[fintech]Rate: 1.08." and view.streamed("t2") == "Rate: 1.08."
    again, _ = screen(
        [
            delta("t1", 0, "Bags.", done=True),
            delta("t2", 0, "Rate"),
            delta("t1", 0, "Bags: 23 kg.", attempt=2, done=True),  # shown before: shown again after
            delta("t2", 1, ": 1.08.", done=True),
        ]
    )
    assert again == "\n[travel]Bags.\n[fintech]Rate: 1.08.\n[travel]Bags: 23 kg."


def test_a_revision_replaces_what_the_task_streamed() -> None:
    """The verifier kept a true sentence that does not answer, so the domain answered again from
    its sources: what it streamed is void, and the final text is not printed a second time."""
    live, view = screen(
        [
            delta("t1", 0, "Checked bags are included. "),
            delta("t1", 1, "One checked bag of 23 kg. [1]", revision=True, done=True),
        ]
    )
    assert live == "\n[travel]Checked bags are included. ~travel~One checked bag of 23 kg. [1]"
    assert view.streamed("t1") == "One checked bag of 23 kg. [1]"
    assert streamed_everything(
        final("One checked bag of 23 kg. [1]", {"t1": "One checked bag of 23 kg. [1]"}), view
    )
    held, view = screen(
        [
            delta("t2", 0, "Rate."),
            delta("t1", 0, "Bags are included. "),  # held while fintech streams
            delta("t1", 1, "One bag of 23 kg.", revision=True, done=True),
            delta("t2", 1, "", done=True),
        ]
    )
    assert (
        held == "\n[fintech]Rate.\n[travel]One bag of 23 kg." and view.streamed("t1") == "One bag of 23 kg."
    )


def final(text: str, parts: dict[str, str], failed: str = "") -> FinalAnswer:
    dl = datetime.now(UTC) + timedelta(seconds=5)
    return FinalAnswer(
        query_id="q", conversation_id="c", deadline=dl, status="answered", text=text, took_ms=1.0,
        decision=RouteDecision(rejected=False, reason="r", path="fast", decision_ms=1.0),
        parts=[
            DomainAnswer(
                query_id="q", conversation_id="c", deadline=dl, task_id=t, domain="travel", sub_query="s",
                status="failed" if t == failed else "answered", text=body,
            )
            for t, body in parts.items()
        ],
    )  # fmt: skip


def test_the_final_text_is_printed_unless_the_stream_showed_it() -> None:
    _, view = screen([delta("t1", 0, "Bags: 23 kg.", done=True), delta("t2", 0, "Rate: 1.08.", done=True)])
    template = "Travel: Bags: 23 kg.\n\nFintech: Rate: 1.08.\n\nNot answered: 'x': none of the configured domains covers it."
    assert streamed_everything(final(template, {"t1": "Bags: 23 kg.", "t2": "Rate: 1.08."}), view)
    synthesis = "Your bag may weigh 23 kg (Travel) and the rate is 1.08 (Fintech)."
    assert not streamed_everything(final(synthesis, {"t1": "Bags: 23 kg.", "t2": "Rate: 1.08."}), view)
    revised = {"t1": "Bags: 23 kg.", "t2": "Rate: 1.09."}  # not what streamed
    assert not streamed_everything(final("Travel: Bags: 23 kg.\n\nFintech: Rate: 1.09.", revised), view)
    failed = final(
        "Travel: Bags: 23 kg.\n\nFintech: (failed: x)", {"t1": "Bags: 23 kg.", "t2": ""}, failed="t2"
    )
    assert not streamed_everything(failed, view)
