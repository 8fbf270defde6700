"""The RAG bench's judgement: the threshold trade-off (raising the threshold only turns answers into
abstentions) and whether an answer holds the expected fact."""

from bench.rag import Row, contains_gold, judge_supported, threshold_sweep


def row(answerable: bool, status: str, answerability: float) -> Row:
    qa: dict[str, object] = {"answerable": answerable}
    return Row(qa, status, "", [], {}, 0.0, False, False, answerability)


def test_sweep_counts_answers_above_each_threshold() -> None:
    rows = [
        row(True, "answered", 0.70),
        row(True, "answered", 0.52),
        row(True, "abstained", 0.40),
        row(False, "answered", 0.60),
        row(False, "abstained", 0.45),
    ]
    lines = threshold_sweep(rows, unsupported=[rows[3]], used=0.5, step=0.1).splitlines()[2:]
    table = {float(line.split()[0]): line.split()[1:] for line in lines}
    assert table[0.5] == ["66.7%", "50.0%", "1"]  # as run: 2 of 3 answered, 1 of 2 abstained
    assert table[0.6] == ["33.3%", "50.0%", "1"]
    assert table[0.7] == ["33.3%", "100.0%", "0"]
    assert table[0.8] == ["0.0%", "100.0%", "0"]


def test_an_answer_holds_the_expected_fact_by_its_words_or_for_a_bare_no_by_the_evidence_and_its_no() -> None:
    assert contains_gold("Gift cards are valid for 3 years. [1]", "3 years from the date of purchase")
    assert not contains_gold("Gift cards are sold online. [1]", "3 years from the date of purchase")
    assert not contains_gold(
        "Report it within 7 days of delivery.", "within 14 days of the marked delivery date"
    )
    evidence = "Northwind Shop gift cards cannot be used for Northwind Media."
    assert contains_gold("Northwind Shop gift cards cannot be used for Northwind Media. [1]", "no", evidence)
    assert not contains_gold("Northwind Shop gift cards can be used for Northwind Media.", "no", evidence)
    assert not contains_gold("We do not accept cash.", "no", evidence)  # a no, about something else
    assert not contains_gold(
        "Northwind Shop gift cards cannot be used for Northwind Media.", "no"
    )  # no evidence


def test_the_judge_reads_a_table_row_with_its_headers_and_a_list_item_with_its_heading() -> None:
    doc = (
        "## Excess per claim\n\n- Screen repair: **€49**\n\n## Fees\n\nYou pay:\n\n- Paper bill: €2\n\n"
        "| Plan | Price |\n|---|---|\n| Plus | €9 |"
    )
    assert judge_supported("Excess per claim — Screen repair: €49. [1]", doc)
    assert judge_supported("Screen repair: €49.", doc)
    assert not judge_supported("Excess per claim — Screen repair: €99.", doc)
    assert not judge_supported("Fees paper bill: €2.", doc)  # a lead-in came between: not the heading's list
    assert judge_supported("The Plus plan price is €9.", doc)
    steps = "## How to claim\n\n1. Go to **Orders**.\n2. Pick the item."
    assert judge_supported("1. Go to Orders.\n2. Pick the item. [1]", steps)  # the numbers are the list's
