"""The RAG bench's threshold trade-off: raising the threshold only turns answers into abstentions."""

from bench.rag import Row, threshold_sweep


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
