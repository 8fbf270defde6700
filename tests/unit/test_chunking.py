"""Reading and chunking documents."""

import itertools
from pathlib import Path

import pytest
from pypdf import PdfWriter

from services.domain.prompts import clean_passage
from shared.documents import (
    Document,
    DocumentError,
    chunk_document,
    find_documents,
    read_document,
    read_documents,
    tables_as_sentences,
)
from shared.text import (
    evidence_sentences,
    heading_above,
    heading_list,
    headings,
    lead_in_of,
    list_after,
    list_before,
    plain,
    points_to,
    reference_clause,
    references,
    refers_back,
    section_headings,
    section_list,
    section_of,
    sentence_before,
    steps_of,
    table_rows,
)
from tests.helpers.pdf import write_pdf


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


def chunk_lines(text: str) -> list[str]:
    """The lines of the first chunk of a document holding ``text``."""
    return chunk_document(Document("d", "T", text, "s"))[0].text.splitlines()


def test_a_numbered_heading_stays_one_heading() -> None:
    """ "## 1. Block your SIM" was cut like a paragraph after "1.": "Block your SIM" lost its
    heading's "##", and an answer quoted it."""
    lines = chunk_lines("Act quickly.\n\n## 1. Block your SIM\n\nCalls stop within 15 minutes. Nothing else.")
    assert lines == ["Act quickly.", "## 1. Block your SIM", "Calls stop within 15 minutes.", "Nothing else."]
    assert headings("\n".join(lines)) == {"Block your SIM"}


def test_a_list_item_stays_one_line_with_its_marker() -> None:
    text = "To claim it:\n1. Go to **Account > Orders**. Pick the item.\n2) Choose Request.\n- 1.2. Wait.\nDone. Now."
    lines = chunk_lines(text)
    assert lines == [
        "To claim it:",
        "1. Go to **Account > Orders**. Pick the item.",
        "2) Choose Request.",
        "- 1.2. Wait.",
        "Done.",
        "Now.",
    ]
    assert list_after("\n".join(lines), "To claim it:") == [
        "Go to Account > Orders. Pick the item.",
        "Choose Request.",
        "1.2. Wait.",
    ]
    assert evidence_sentences(lines[1]) == ["Go to Account > Orders.", "Pick the item."]  # graded one by one
    evidence_sentences(lines[1]).append("Invented.")  # each call's own list: the cache stays as cut
    assert evidence_sentences(lines[1]) == ["Go to Account > Orders.", "Pick the item."]
    assert list_after("\n".join(lines), "To claim it:", marked=True) == [  # as an answer quotes them
        "1. Go to Account > Orders. Pick the item.",
        "2. Choose Request.",
        "- 1.2. Wait.",
    ]


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


def test_pdf_text_title_and_reflowed_lines(tmp_path: Path) -> None:
    write_pdf(
        tmp_path / "bags.pdf",
        [
            [
                "Checked baggage",
                "Each passenger on an economy fare may bring one checked bag weighing up",
                "to 23 kg. Heavier bags cost EUR 40 each and are weighed at the desk; excep-",
                "tions apply to sports equipment.",
                "- Skis count as one bag",
                "- Golf bags count as one bag",
            ],
            ["Pets travel in the hold (cabin: under 8 kg)."],
        ],
        title="Baggage rules",
    )
    (tmp_path / "notes.md").write_text("# Notes\n\nSee the PDF.")
    assert [f.name for f in find_documents(tmp_path)] == ["bags.pdf", "notes.md"]
    doc = read_document(tmp_path / "bags.pdf", tmp_path)
    assert doc.doc_id == "bags.pdf" and doc.title == "Baggage rules"
    assert doc.text.splitlines() == [
        "Checked baggage",  # a short line: a heading, kept apart
        "Each passenger on an economy fare may bring one checked bag weighing up to 23 kg. Heavier bags "
        "cost EUR 40 each and are weighed at the desk; exceptions apply to sports equipment.",
        "- Skis count as one bag",
        "- Golf bags count as one bag",
        "Pets travel in the hold (cabin: under 8 kg).",  # the next page
    ]
    chunks = chunk_document(doc)
    assert any("weighing up to 23 kg." in c.text for c in chunks)


def test_running_headers_and_page_numbers_go_and_paragraphs_run_across_pages(tmp_path: Path) -> None:
    header = "Northwind Travel - Conditions of Carriage"
    write_pdf(
        tmp_path / "carriage.pdf",
        [
            [
                header,
                "1. Scope",
                "These conditions apply to every flight booked through Northwind and to",
                "Page 1 of 3",
            ],
            [
                header,
                "every passenger named on the booking.",
                "1.1. Fares",
                "Fares include taxes.",
                "Page 2 of 3",
            ],
            [header, "2) Baggage", "Bags over 23 kg pay a fee.", "Page 3 of 3"],
        ],
    )
    doc = read_document(tmp_path / "carriage.pdf", tmp_path)
    assert doc.text.splitlines() == [
        "1. Scope",
        "These conditions apply to every flight booked through Northwind and to every passenger named on "
        "the booking.",
        "1.1. Fares",
        "Fares include taxes.",
        "2) Baggage",
        "Bags over 23 kg pay a fee.",
    ]


def test_a_pdf_without_a_title_is_named_after_its_file(tmp_path: Path) -> None:
    write_pdf(tmp_path / "car-rental.pdf", [["Drivers must be 21 or older."]])
    doc = read_document(tmp_path / "car-rental.pdf", tmp_path)
    assert doc.title == "Car Rental" and doc.text == "Drivers must be 21 or older."


def test_unreadable_pdfs_say_why_and_are_skipped_by_read_documents(tmp_path: Path) -> None:
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF body")
    write_pdf(tmp_path / "scan.pdf", [[]])  # a page with no text on it, as a scan without OCR
    locked = tmp_path / "locked.pdf"
    writer = PdfWriter(clone_from=write_pdf(tmp_path / "plain.pdf", [["Secret fares."]]))
    writer.encrypt(user_password="s3cret", algorithm="RC4-128")
    writer.write(locked)
    with pytest.raises(DocumentError, match="not a readable PDF"):
        read_document(tmp_path / "broken.pdf", tmp_path)
    with pytest.raises(DocumentError, match=r"no text layer.*OCR"):
        read_document(tmp_path / "scan.pdf", tmp_path)
    with pytest.raises(DocumentError, match="encrypted with a password"):
        read_document(locked, tmp_path)
    assert [d.doc_id for d in read_documents(tmp_path)] == ["plain.pdf"]


def test_text_files_are_decoded_and_files_that_are_not_text_are_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    (tmp_path / "bom.md").write_bytes("\ufeff# Fares\n\nCafé fares.\n".encode())
    (tmp_path / "legacy.txt").write_bytes("Café crème costs €5.".encode("cp1252"))
    (tmp_path / "wide.txt").write_bytes("Crème brûlée.".encode("utf-16"))  # with its byte-order mark
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "empty.md").write_text("\n  \n")
    (tmp_path / "heading.md").write_text("# Only a heading\n")
    bom = read_document(tmp_path / "bom.md", tmp_path)
    assert (bom.title, bom.text) == ("Fares", "Café fares.")  # the mark does not hide the heading
    assert read_document(tmp_path / "legacy.txt", tmp_path).text == "Café crème costs €5."
    assert read_document(tmp_path / "wide.txt", tmp_path).text == "Crème brûlée."
    with pytest.raises(DocumentError, match="not a text file"):
        read_document(tmp_path / "image.txt", tmp_path)
    for name in ("empty.md", "heading.md"):
        with pytest.raises(DocumentError, match="no text in it"):
            read_document(tmp_path / name, tmp_path)
    assert [d.doc_id for d in read_documents(tmp_path)] == ["bom.md", "legacy.txt", "wide.txt"]


def test_table_rows_are_read_with_their_column_headers(tmp_path: Path) -> None:
    (tmp_path / "plans.md").write_text(
        "# Plans\n\nThree plans.\n\n| | Standard | Plus | Premium |\n|---|:--:|---|---|\n"
        "| Monthly price | Free | €4.99 | €12.99 |\n| Metal card | – | – | Yes |\n\nAfter the table.\n"
        "\n| no | header | here |\n| a | b | c |\n"
    )
    text = read_document(tmp_path / "plans.md", tmp_path).text
    lines = text.splitlines()
    assert "- Monthly price — Standard: Free; Plus: €4.99; Premium: €12.99." in lines
    assert "- Metal card — Standard: –; Plus: –; Premium: Yes." in lines
    assert "Three plans." in lines and "After the table." in lines
    assert "| no | header | here |" in lines and "| a | b | c |" in lines  # no rule line: not read as a table
    assert not any(
        "Standard | Plus" in line or "---" in line for line in lines
    )  # header and rule are folded in
    chunks = chunk_document(Document("plans.md", "Plans", text, "s"))
    assert any("Premium: €12.99" in c.text for c in chunks)
    assert "Monthly price — Standard: Free; Plus: €4.99; Premium: €12.99." in evidence_sentences(text)
    assert list_after("Prices:\n" + text.split("\n\n")[1], "Prices:")[0].startswith("Monthly price —")


def test_a_row_with_a_named_first_column_and_ragged_cells() -> None:
    table = "| When you add the bag | Short-haul | Long-haul |\n|---|---|---|\n| Online | €40 |\n| At the airport | €70 | €110 | note |"
    assert tables_as_sentences(table).splitlines() == [
        "- When you add the bag: Online — Short-haul: €40.",
        "- When you add the bag: At the airport — Short-haul: €70; Long-haul: €110; note.",
    ]


def test_html_tables_are_read_like_markdown_tables(tmp_path: Path) -> None:
    (tmp_path / "fees.html").write_text(
        "<html><body><h1>Fees</h1><p>Per bag.</p><table><tr><th>When</th><th>Short-haul</th></tr>"
        "<tr><td>Online,\n  up to 24 hours before</td><td>€40</td></tr>"
        "<tr><td>At the airport</td><td><b>€70</b></td></tr></table><p>Non-refundable.</p></body></html>"
    )
    lines = read_document(tmp_path / "fees.html", tmp_path).text.splitlines()
    assert "- When: Online, up to 24 hours before — Short-haul: €40." in lines
    assert "- When: At the airport — Short-haul: €70." in lines
    assert "Per bag." in lines and "Non-refundable." in lines


def test_html_headings_are_read_as_markdown_headings(tmp_path: Path) -> None:
    (tmp_path / "cards.html").write_text(
        "<html><body><h1>Northwind gift cards</h1><p>Valid for 3 years.</p><h2>Using <b>a</b> gift card</h2>"
        "Enter the code at checkout.<h3>Lost cards</h3><p>Contact us.</p></body></html>"
    )
    text = read_document(tmp_path / "cards.html", tmp_path).text
    assert "## Using a gift card\nEnter the code at checkout." in text
    assert headings(text) == {"Northwind gift cards", "Using a gift card"}  # "Lost cards": under 3 words
    assert "Using a gift card" in evidence_sentences(text)  # still graded and searched as before


def test_headings_are_the_markdown_heading_lines_as_evidence_sentences_read_them() -> None:
    text = "## **Using** a gift card\n#1 bestseller in the shop.\n- Enter the code.\n   ### Lost or stolen cards ###"
    assert headings(text) == {"Using a gift card", "Lost or stolen cards"}
    assert headings(text) <= set(evidence_sentences(text))


def test_list_after_reads_the_items_a_lead_in_introduces() -> None:
    text = (
        "Each plan has its own price. 4K playback needs all of the following:\n- a **Premium** plan\n"
        "- a 4K TV with HDCP 2.2\n3. the TV app\nIn web browsers, quality is limited to Full HD.\n- not this one"
    )
    lead = "4K playback needs all of the following:"
    assert lead in evidence_sentences(text)
    assert list_after(text, lead) == ["a Premium plan", "a 4K TV with HDCP 2.2", "the TV app"]
    assert list_after(text, lead, limit=1) == ["a Premium plan"]
    assert list_after(text, "Each plan has its own price.") == []  # introduces nothing
    assert list_after("Unlocking is free when:\nThe phone is paid off.", "Unlocking is free when:") == []


def test_a_sentence_that_promises_what_follows_introduces_a_list_as_a_colon_does() -> None:
    """ "You can watch Northwind Media on the following devices." was quoted without its devices."""
    text = (
        "You can watch Northwind Media on the following devices.\n- Device type: Smart TVs\n"
        "- Device type: Game consoles\nThe prices are as follows.\n- Basic: €5\n"
        "A tier stays valid until the end of the following calendar year.\n- a loose item"
    )
    assert list_after(text, "You can watch Northwind Media on the following devices.") == [
        "Device type: Smart TVs",
        "Device type: Game consoles",
    ]
    assert list_after(text, "The prices are as follows.") == ["Basic: €5"]
    assert list_after(text, "A tier stays valid until the end of the following calendar year.") == []


def test_lead_in_of_finds_the_sentence_a_list_item_belongs_to() -> None:
    text = (
        "Unlocking is free when either of these is true:\n\n- the phone was bought outright; or\n"
        "- the phone was paid off in full.\n\nDevice payment plans run for 12 months.\n- a loose item"
    )
    lead = "Unlocking is free when either of these is true:"
    assert lead_in_of(text, "the phone was paid off in full.") == lead  # across the other items
    assert lead_in_of(text, "the phone was bought outright; or") == lead
    assert lead_in_of(text, "Device payment plans run for 12 months.") is None  # no list item
    assert lead_in_of(text, "a loose item") is None  # its list has no lead-in


def test_plain_text_leaves_no_space_where_markup_stood_before_punctuation() -> None:
    assert (
        plain("Choose **Request price adjustment**. Is it **free**?")
        == "Choose Request price adjustment. Is it free?"
    )
    assert plain("under **Account > Gift cards** , then | a |") == "under Account > Gift cards, then a"
    assert plain("3 : 1 ratio, €5 .50") == "3: 1 ratio, €5 .50"  # only before a space or the end


def test_evidence_sentences_leave_list_markers_out() -> None:
    text = "- **Overweight** (23.1–32 kg): €60. Bags over 32 kg go as cargo.\n2. Open the app and tap Cards.\n2024 was the first year."
    assert evidence_sentences(text) == [
        "Overweight (23.1–32 kg): €60.",
        "Bags over 32 kg go as cargo.",
        "Open the app and tap Cards.",
        "2024 was the first year.",
    ]
    # every marker the chunker keeps an item whole by, the readers of evidence leave out
    items = (
        "Steps:\n1.1. Open the app and tap Cards.\n\u00b7 Choose a plan for the trip.\n+ Add a second line."
    )
    assert chunk_lines(items) == ["Steps:", "1.1. Open the app and tap Cards.", "\u00b7 Choose a plan for the trip.",
                                  "+ Add a second line."]  # fmt: skip
    assert evidence_sentences(items) == [
        "Open the app and tap Cards.",
        "Choose a plan for the trip.",
        "Add a second line.",
    ]


def test_markup_goes_and_what_it_marks_stays() -> None:
    """A code span is quoted as written, and "#" or ">" inside a line is text: "dial `*#06#`" read
    "dial 06" and "**Settings > Block SIM**" read "Settings Block SIM", in answers and prompts."""
    assert plain("Find your IMEI by dialling `*#06#`.") == "Find your IMEI by dialling *#06#."
    assert plain("Choose **Settings > Block SIM**, or call order line #2.") == (
        "Choose Settings > Block SIM, or call order line #2."
    )
    assert plain("> A *quoted* note (see *Subscription plans*).") == "A quoted note (see Subscription plans)."
    assert plain("### Using a gift card") == "Using a gift card"
    assert plain("snake_case stays, __bold__ goes") == "snake_case stays, bold goes"
    assert clean_passage("## Unlocking\n\nDial `*#06#` under **Plan > My device**; then *wait*.") == (
        "Unlocking Dial *#06# under Plan > My device; then wait."
    )


def test_table_rows_are_the_rows_of_a_small_table_in_order() -> None:
    text = tables_as_sentences(
        "Prices:\n\n| | Standard | Plus |\n|---|---|---|\n| Monthly price | Free | €4.99 |\n"
        "| Annual price | Free | €49 |\n\n- Cancel at any time: no fee."
    )
    rows = ["Monthly price — Standard: Free; Plus: €4.99.", "Annual price — Standard: Free; Plus: €49."]
    assert table_rows(text, rows[1]) == rows  # the first column had no header: the others tell
    assert table_rows(text, "Cancel at any time: no fee.") == []  # a list item, no table row
    assert table_rows(text, rows[0], limit=1) == []


def test_steps_of_is_the_whole_numbered_list_in_order() -> None:
    text = (
        "## If you see a payment you don't recognise\n\n1. **Freeze your card** now.\n"
        "2. Check the merchant's name.\n3. Report it in the app. Report within **13 months**.\n\n"
        "We refund it by the next day.\n\n- Cards: one.\n- Fees: none."
    )
    steps = [
        "1. Freeze your card now.",
        "2. Check the merchant's name.",
        "3. Report it in the app. Report within 13 months.",
    ]
    assert steps_of(text, "Check the merchant's name.") == steps
    assert steps_of(text, "Report within 13 months.") == steps  # a step's second sentence
    assert steps_of(text, "We refund it by the next day.") == []  # no step
    assert steps_of(text, "Cards: one.") == []  # a bulleted list: items, not steps
    assert steps_of(text, "Freeze your card now.", limit=2) == []


def test_section_of_is_the_heading_right_above_a_list_without_lead_in() -> None:
    text = tables_as_sentences(
        "# Cabins\n\n## Business\n\n- **Checked baggage:** 2 bags\n- Free seat selection\n- Lounges are free.\n\n"
        "## Fees\n\nYou pay:\n\n- €10 a seat\n\n## Rates\n\n| Plan | Rate |\n|---|---|\n| Plus | 2% |\n\n"
        "Lounges open at 05:00."
    )
    assert section_of(text, "Free seat selection") == "Business"
    assert section_of(text, "Checked baggage: 2 bags") == "Business"
    assert section_of(text, "Lounges are free.") is None  # a sentence says what it is about
    assert section_of(text, "€10 a seat") is None  # its lead-in says what it is of
    assert section_of(text, "Plan: Plus — Rate: 2%.") is None  # a table row names its headers
    assert section_of(text, "Lounges open at 05:00.") is None  # no list item


def test_a_heading_right_above_a_list_is_quoted_with_the_list() -> None:
    text = tables_as_sentences(
        "# Cabins\n\n## Business\n\n- **Checked baggage:** 2 bags\n- Free seat selection\n- Lounges are free.\n\n"
        "## Parcel marked delivered\n\n1. Ask your neighbours.\n2. Report it.\n\nWe then investigate.\n\n"
        "## Fees\n\nYou pay:\n\n- €10 a seat\n"
    )
    assert heading_list(text, "Business") == (
        "Business:", "- Checked baggage: 2 bags", "- Free seat selection", "- Lounges are free."
    )  # fmt: skip
    assert heading_list(text, "Parcel marked delivered") == (
        "Parcel marked delivered:", "1. Ask your neighbours.", "2. Report it."
    )  # fmt: skip
    assert heading_list(text, "Business", limit=1) == ("Business:", "- Checked baggage: 2 bags")
    assert heading_list(text, "Fees") == ()  # a lead-in comes between: it says what the list is of
    assert heading_list(text, "Cabins") == ()  # no list right under it
    assert heading_list(text, "Lounges") == ()  # no heading says it
    assert section_list(text, "Free seat selection") == list(heading_list(text, "Business"))
    assert section_list(text, "Lounges are free.") == list(heading_list(text, "Business"))
    assert section_list(text, "Report it.") == list(heading_list(text, "Parcel marked delivered"))
    assert heading_above(text, "Report it.") == "Parcel marked delivered"  # a sentence too
    assert section_of(text, "Report it.") is None  # but only a fragment is said of it when quoted
    assert section_list(text, "€10 a seat") == []  # its lead-in says what it is of
    assert heading_above(text, "We then investigate.") is None  # no list item


def test_section_headings_give_each_sentence_the_heading_above_it() -> None:
    text = tables_as_sentences(
        "Lounges open at 05:00.\n\n## Extras and **returns**\n\n- Additional driver: €8 per day.\n"
        "- Returns up to 29 minutes late are free; after that, an extra day is charged.\n\n"
        "## Rates\n\n| Plan | Rate |\n|---|---|\n| Plus | 2% |\n\nRates change. Rarely, though."
    )
    assert section_headings(text) == {
        "Additional driver: €8 per day.": "Extras and returns",
        "Returns up to 29 minutes late are free; after that, an extra day is charged.": "Extras and returns",
        "Plan: Plus — Rate: 2%.": "Rates",
        "Rates change.": "Rates",
        "Rarely, though.": "Rates",
    }  # above every heading: none


def test_sentence_before_is_read_in_its_paragraph_or_the_line_before() -> None:
    text = (
        "## Changing plan\n\nGo to **Account > Plan**.\n\n"
        "- **Downgrades** apply from your next billing date. Until then you keep your features.\n"
        "- Then nothing else changes."
    )
    assert refers_back("Until then you keep your features.") and refers_back("Instead, it is kept apart.")
    assert not refers_back("There is no fee.") and not refers_back("Itemised bills are free.")
    assert refers_back("The PIN is then needed every time.") and refers_back("We then cancel the card.")
    assert not refers_back("If you leave early, then you pay.")
    assert refers_back("Any amount above that earns no interest.") and refers_back(
        "Beyond this, data costs €2."
    )
    assert not refers_back("Prices above €10 include delivery.") and not refers_back(
        "Check that it is unlocked."
    )
    assert (
        sentence_before(text, "Until then you keep your features.")
        == "Downgrades apply from your next billing date."
    )
    assert sentence_before(text, "Then nothing else changes.") == "Until then you keep your features."
    assert sentence_before(text, "Go to Account > Plan.") is None  # after a heading
    assert sentence_before(text, "Not in the text.") is None


def test_points_to_reads_a_sentence_that_only_names_another_page() -> None:
    assert points_to("For using your phone while you are abroad, see Roaming.") == "Roaming"
    assert points_to("See Playback troubleshooting for other fixes.") == "Playback troubleshooting"
    assert points_to("If your flight is cancelled, see Delays, cancellations and compensation.") == (
        "Delays, cancellations and compensation"
    )
    assert points_to("Every plan includes roaming in the EU/EEA (see Roaming).") is None  # says something
    assert points_to("You can see your balance in the app.") is None


def test_list_before_is_the_lead_in_of_the_list_a_line_follows() -> None:
    text = (
        "## Closing\n\nBefore you close your account:\n\n- move your balance out;\n- repay any loan.\n\n"
        "Then go to **Settings**. Then wait.\n\n- a list without a lead-in\n\nThen nothing."
    )
    assert list_before(text, "Then go to Settings.") == "Before you close your account:"
    assert list_before(text, "Then wait.") is None  # not the first sentence of its line
    assert list_before(text, "repay any loan.") is None  # an item, not the line after the list
    assert list_before(text, "Then nothing.") is None  # its list has no lead-in
    assert list_before(text, "Not in the text.") is None


def test_references_are_the_pages_a_sentence_sends_the_reader_to() -> None:
    titles = ["Plans and fees", "Adding money", "Subscription plans", "Savings Vaults", "Roaming"]
    assert references("It depends on your plan (see Subscription plans).", titles) == ["Subscription plans"]
    assert references(
        "ATM fees are explained in Plans and fees, and card top-up limits in Adding money.", titles
    ) == ["Plans and fees", "Adding money"]
    assert references("Rates by plan are in Savings Vaults.", titles) == ["Savings Vaults"]
    assert references("Money held in savings vaults earns interest.", titles) == []  # no title: lower case
    assert references("Roaming costs extra; see Plans and fees.", ["Plans", "Plans and fees"]) == [
        "Plans and fees"  # the longest title that fits, once
    ]
    assert references("Nothing to see here.", titles) == []


def test_the_clause_that_names_a_page_is_what_it_promises_there() -> None:
    step = "For theft, block your SIM first (see Lost phone) and call the police within 48 hours."
    assert reference_clause(step, "Lost phone") == "block your SIM first (see Lost phone"
    two = "ATM fees are explained in Plans and fees, and card top-up limits in Adding money."
    assert reference_clause(two, "Adding money") == "and card top-up limits in Adding money"
    assert reference_clause(two, "Plans and fees") == "ATM fees are explained in Plans and fees"
    assert reference_clause(two, "Roaming") == two  # names no such page: all of it
