"""Reading and chunking documents."""

import itertools
from pathlib import Path

from shared.documents import Document, chunk_document, find_documents, read_document


def test_chunks_are_bounded_and_overlap() -> None:
    text = " ".join(f"Fact number {i} is here." for i in range(100))
    chunks = chunk_document(Document("d", "T", text, "s"), max_words=50, overlap_words=10)
    assert len(chunks) > 5
    assert all(len(c.text.split()) <= 50 for c in chunks)
    for a, b in itertools.pairwise(chunks):
        assert a.text.split()[-10:] == b.text.split()[:10]  # the last sentences (10 words) repeat
    joined = " ".join(c.text for c in chunks)
    assert all(f"Fact number {i} is here." in joined for i in range(100))


def test_empty_document_has_no_chunks() -> None:
    assert chunk_document(Document("d", "T", "", "s")) == []


def test_markdown_title_and_html_text(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Cabin bags\n\nOne cabin bag of 8 kg.")
    (tmp_path / "b.html").write_text(
        "<html><head><title>Fees</title><style>p{}</style></head><body><h1>Fees</h1><p>No fee.</p>"
        "<script>evil()</script></body></html>"
    )
    (tmp_path / "ignored.bin").write_bytes(b"\x00")
    files = find_documents(tmp_path)
    assert [f.name for f in files] == ["a.md", "b.html"]
    md = read_document(files[0], tmp_path)
    assert md.title == "Cabin bags" and md.text == "One cabin bag of 8 kg." and md.doc_id == "a.md"
    html = read_document(files[1], tmp_path)
    assert (
        html.title == "Fees" and "No fee." in html.text and "evil" not in html.text and "p{}" not in html.text
    )
