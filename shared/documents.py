"""Reading documents (text, Markdown, HTML, PDF) and cutting them into overlapping chunks."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

from shared.text import HEADING, LIST_MARK

log = logging.getLogger(__name__)

SUPPORTED = {".txt", ".md", ".markdown", ".html", ".htm", ".pdf"}
# 3: table rows read with their headers; 4: a list item kept whole; 5: rows as items; 6: headings whole
CHUNKING_VERSION = 6


class DocumentError(ValueError):
    """A file that cannot be read as a document: a damaged or encrypted PDF, a binary file with a
    text file's name, or one without text."""


@dataclass(frozen=True)
class Document:
    doc_id: str
    title: str
    text: str
    source: str

    @property
    def content_hash(self) -> str:
        """Changes with the text and with the chunking method, so either change re-ingests."""
        return hashlib.sha256(f"{CHUNKING_VERSION}\n{self.title}\n{self.text}".encode()).hexdigest()


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    title: str
    chunk: int
    text: str
    source: str


class _TextExtractor(HTMLParser):
    _SKIP: ClassVar[set[str]] = {"script", "style", "head"}
    _BLOCK: ClassVar[set[str]] = {
        "p",
        "div",
        "li",
        "br",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "tr",
        "section",
        "article",
    }

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.title = ""
        self._skip = 0
        self._in_title = False
        self._row: list[str] | None = None  # the cells of the table row being read
        self._header_row = True  # every cell of that row so far is a <th>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        if tag in ("title", "h1") and not self.title:
            self._in_title = True
        if tag == "tr":
            self._end_row()
            self._row, self._header_row = [], True
        elif tag in ("td", "th") and self._row is not None:
            self._row.append("")
            self._header_row &= tag == "th"
        elif tag in self._BLOCK and self._row is None:
            self.parts.append("\n\n" + self._heading(tag))

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        if tag in ("title", "h1"):
            self._in_title = False
        if tag in ("tr", "table"):
            self._end_row()
        elif self._heading(tag) and self._row is None:
            self.parts.append("\n")

    @staticmethod
    def _heading(tag: str) -> str:
        """The Markdown marker of a heading tag ("## " for ``h2``), so that HTML headings are
        read as Markdown's are (``shared.text.headings``); "" for any other tag."""
        return "#" * int(tag[1]) + " " if len(tag) == 2 and tag[0] == "h" and tag[1] in "123456" else ""

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()
        if self._skip:
            return
        if self._row:  # inside a cell: one line per row, whatever the markup's line breaks
            self._row[-1] += " ".join(data.split()) + (" " if data[-1:].isspace() else "")
        elif self._row is None:
            self.parts.append(data)

    def _end_row(self) -> None:
        """A table row as a Markdown row (and a rule under a row of headers), which
        ``tables_as_sentences`` then reads like a Markdown file's tables."""
        if self._row:
            start = "" if self.parts and self.parts[-1].endswith("\n") else "\n"
            self.parts.append(start + "| " + " | ".join(c.strip() for c in self._row) + " |\n")
            if self._header_row:
                self.parts.append("|" + "---|" * len(self._row) + "\n")
        self._row = None


_SENTENCE_END = re.compile(r"[.!?:;]['\")\]]?$")
_DIGITS = re.compile(r"\d+")


def _reflow(lines: list[str]) -> str:
    """A PDF's non-empty, stripped lines with its wrapped lines joined back into paragraphs. PDFs
    break lines where the page ran out of width; the chunker and the grader read every line as a
    unit of meaning. A line continues the one before when that one does not end a sentence and
    either is long (body text) or is followed by a lowercase word or a number. List items and
    numbered headings start anew; a word hyphenated across lines is joined."""
    out: list[str] = []
    for line in lines:
        prev = out[-1] if out else ""
        joins = (
            prev
            and not _SENTENCE_END.search(prev)
            and not LIST_MARK.match(line)
            and (len(prev.split()) > 8 or line[0].islower() or line[0].isdigit())
        )
        if not joins:
            out.append(line)
        elif prev.endswith("-") and line[0].islower():
            out[-1] = prev[:-1] + line
        else:
            out[-1] = f"{prev} {line}"
    return "\n".join(out)


def _without_running_lines(pages: list[str]) -> list[str]:
    """The pages' lines without running headers and footers: a page's first or last two lines whose
    text (numbers aside, so "Page 3 of 9" and a bare "3" count as one) opens or closes at least 60%
    of the pages, when there are three or more. They would otherwise cut into paragraphs that run
    across a page break and land in every chunk."""
    lines = [[line.strip() for line in page.splitlines() if line.strip()] for page in pages]
    if len(lines) < 3:
        return [line for page in lines for line in page]
    edges: dict[str, int] = {}
    for page in lines:
        for key in {_DIGITS.sub("#", line) for line in page[:2] + page[-2:]}:
            edges[key] = edges.get(key, 0) + 1
    running = {key for key, n in edges.items() if n >= 0.6 * len(lines)}
    out: list[str] = []
    for page in lines:
        keep = [
            line
            for i, line in enumerate(page)
            if not ((i < 2 or i >= len(page) - 2) and _DIGITS.sub("#", line) in running)
        ]
        out.extend(keep)
    return out


def _decoded(path: Path) -> str:
    """A text file's text: UTF-8 (a byte-order mark dropped), UTF-16 when it starts with that
    mark, else Windows-1252, the usual encoding of legacy text that is not UTF-8 (a byte it leaves
    undefined becomes U+FFFD). A file with NUL bytes and no UTF-16 mark is not text: skipped."""
    raw = path.read_bytes()
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", errors="replace")
    if b"\x00" in raw[:8192]:  # git's test for a binary file
        raise DocumentError(f"{path}: not a text file (it holds NUL bytes); ingest its text instead")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _read_pdf(path: Path) -> tuple[str, str]:
    """(text, title) of a PDF: its pages' text reflowed, and the title in its metadata ("" if none)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not reader.decrypt(""):
            raise DocumentError(
                f"{path}: the PDF is encrypted with a password; save a decrypted copy "
                "(for example `qpdf --decrypt --password=... in.pdf out.pdf`) and ingest that"
            )
        pages = [page.extract_text() or "" for page in reader.pages]
        title = str(reader.metadata.title or "") if reader.metadata else ""
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many kinds of errors on a damaged file
        raise DocumentError(f"{path}: not a readable PDF ({type(exc).__name__}: {exc})") from exc
    text = _reflow(_without_running_lines(pages))
    if not text:
        raise DocumentError(
            f"{path}: the PDF has no text layer (a scanned document?); run OCR on it first "
            "(for example `ocrmypdf in.pdf out.pdf`)"
        )
    return text, " ".join(title.split())


def document_id(path: Path, root: Path) -> str:
    """A document's id: its path relative to ``root`` (its file name when outside it)."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def read_document(path: Path, root: Path) -> Document:
    """The document in ``path`` (id: ``document_id``). Raises ``DocumentError`` for a file that
    cannot be read as a document (see ``_decoded`` for text files, ``_read_pdf``) or has no text."""
    doc_id = document_id(path, root)
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text, title = _read_pdf(path)
    else:
        raw = _decoded(path)
        if suffix in (".html", ".htm"):
            parser = _TextExtractor()
            parser.feed(raw)
            text, title = "".join(parser.parts), parser.title
        else:
            text, title = raw, ""
            first = raw.lstrip().splitlines()[0] if raw.strip() else ""
            if first.startswith("#"):
                title = first.lstrip("#").strip()
                text = raw.lstrip()[len(first) :]
    text = tables_as_sentences(re.sub(r"[ \t]+", " ", text))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    if not text:
        raise DocumentError(f"{path}: no text in it")
    return Document(
        doc_id=doc_id, title=title or path.stem.replace("-", " ").title(), text=text, source=str(path)
    )


_TABLE_LINE = re.compile(r"^\s*\|.*\|\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?[\s|:-]*-[\s|:-]*$")


def _is_rule(line: str) -> bool:
    return bool(_TABLE_LINE.match(line) and _TABLE_RULE.match(line))


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def _row_sentence(header: list[str], cells: list[str]) -> str:
    """One table row as a line that says what it says without the table: each cell with its
    column's header ("When you add the bag: Online, up to 24 hours before departure — Short-haul:
    €40; Long-haul: €65.")."""
    named = [f"{h}: {c}" if h else c for h, c in zip(header, cells, strict=False) if c]
    named += [c for c in cells[len(header) :] if c]
    if not named:
        return ""
    first, rest = named[0], named[1:]
    line = f"{first} — {'; '.join(rest)}" if rest else first
    return line if line.endswith((".", "!", "?")) else line + "."


def tables_as_sentences(text: str) -> str:
    """``text`` with every Markdown table (a row of headers over a rule line, then rows) rewritten
    row by row as self-contained lines (``_row_sentence``). A bare row says "Monthly price | Free |
    €4.99 | €12.99": which plan costs what is in the header row, which the chunker, the embeddings,
    the grader, the verifier and an extractive answer would otherwise never see beside it. Each
    row is a list item ("- Monthly price — …"): a table lists its rows, and a sentence that
    introduces one ("Your tier depends on the points you earn:") is quoted with them
    (``shared.text.list_after``); evidence sentences leave the marker out. Lines of a table
    without a header row stay as they are."""
    lines = text.splitlines()
    out: list[str] = []
    header: list[str] | None = None
    for i, line in enumerate(lines):
        if not _TABLE_LINE.match(line):
            header = None
            out.append(line)
        elif _is_rule(line):
            continue
        elif header is None and i + 1 < len(lines) and _is_rule(lines[i + 1]):
            header = _cells(line)  # the header row says nothing on its own
        elif header is not None:
            row = _row_sentence(header, _cells(line))
            out.append(f"- {row}" if row else "")
        else:
            out.append(line)
    return "\n".join(out)


def read_documents(root: Path) -> Iterator[Document]:
    """Every document under ``root`` (a folder, or one file) that can be read; the others are
    logged and skipped (``accel ingest`` lists them with the reason)."""
    base = root if root.is_dir() else root.parent
    for path in find_documents(root):
        try:
            yield read_document(path, base)
        except DocumentError as exc:
            log.warning("skipped %s", exc)


def find_documents(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)


_RULE_LINE = re.compile(r"^[\s|:+-]*$")


def _sentences(text: str) -> list[str]:
    """Units of meaning: every line on its own (headings, list items, table rows), and sentences
    within a line that is neither a list item nor a heading ("## 1. Block your SIM" was cut into
    "## 1." and "Block your SIM", a heading no more, quoted as an answer). Table rule lines
    (``|---|``) are dropped."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or _RULE_LINE.match(line):
            continue
        if LIST_MARK.match(line) or HEADING.match(line):  # "1. Go to …", "## 1. Block your SIM"
            out.append(line)
        else:
            out.extend(s for s in re.split(r"(?<=[.!?])\s+", line) if s.strip())
    return out


def chunk_document(doc: Document, max_words: int = 120, overlap_words: int = 30) -> list[Chunk]:
    """Sentence-aligned chunks of about ``max_words``; each repeats the previous one's last sentences
    (up to ``overlap_words``) so that a fact cut at a border is still whole in one chunk."""
    pieces: list[list[str]] = []
    for sentence in _sentences(doc.text):
        words = sentence.split()
        while len(words) > max_words:  # a run-on sentence is split by words
            pieces.append(words[:max_words])
            words = words[max_words:]
        if words:
            pieces.append(words)
    chunks: list[list[list[str]]] = []
    current: list[list[str]] = []
    fresh = 0
    for piece in pieces:
        if fresh and sum(len(p) for p in current) + len(piece) > max_words:
            chunks.append(current)
            carry: list[list[str]] = []
            for prev in reversed(current):
                if sum(len(p) for p in carry) + len(prev) > overlap_words:
                    break
                carry.insert(0, prev)
            current, fresh = carry, 0
        current.append(piece)
        fresh += 1
    if fresh:
        chunks.append(current)
    return [
        Chunk(
            doc_id=doc.doc_id,
            title=doc.title,
            chunk=i,
            text="\n".join(" ".join(piece) for piece in c),
            source=doc.source,
        )
        for i, c in enumerate(chunks)
    ]
