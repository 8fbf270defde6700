"""Small text helpers shared by the retriever (BM25), the domain agents (verification), the router
and the aggregator (courtesy messages)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Literal

import Stemmer

STOPWORDS = frozenset((Path(__file__).with_name("stopwords.txt")).read_text(encoding="utf-8").split())
_WORD = re.compile(r"[a-z0-9][a-z0-9'-]*")
# A pronoun or an auxiliary with its contraction ("won't", "I'm", "you'll") is a function word.
_CONTRACTED = ("n't", "'re", "'ve", "'ll", "'d", "'m")


def _lower(text: str) -> str:
    """Lower case, with typographic apostrophes as straight ones (same length: offsets hold)."""
    return text.lower().replace("\u2019", "'")


def stopword(word: str) -> bool:
    """Whether a lower-cased word (as ``word_spans`` reads it) carries no content of its own."""
    return word in STOPWORDS or word.endswith(_CONTRACTED) or word.removesuffix("'s") in STOPWORDS


def words(text: str) -> list[str]:
    """Lower-cased word tokens without stopwords, without a possessive's "'s" ("daughter's" is
    "daughter")."""
    return [w.removesuffix("'s").rstrip("'") for w in _WORD.findall(_lower(text)) if not stopword(w)]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, lower-cased word) of every word, stopwords and possessives included."""
    return [(m.start(), m.end(), m.group()) for m in _WORD.finditer(_lower(text))]


_STEMMERS = threading.local()  # a PyStemmer object is not to be shared between threads


def stem(word: str) -> str:
    """The Snowball (Porter2) English stem of a lower-cased word (PyStemmer, ~0.4 µs, cached by
    the stemmer): 'bags' and 'bag', 'charge' and 'charged', 'close' and 'closing', 'savings' and
    'saving' are one word each. The light suffix stripper before it cut 'close' from 'closing'
    and 'charge' from 'charged', which its own docstring said it matched."""
    stemmer = getattr(_STEMMERS, "english", None)
    if stemmer is None:
        stemmer = _STEMMERS.english = Stemmer.Stemmer("english")
    out: str = stemmer.stemWord(word)
    return out


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])|\n+")
_CODE = re.compile(r"(`+)(.+?)\1")
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_QUOTE_MARK = re.compile(r"^ {0,3}>[> ]*", re.MULTILINE)
_EMPHASIS = re.compile(r"(?<!\w)[*_]+|[*_]+(?!\w)")  # not inside a word: "snake_case" keeps its "_"
_BARS = re.compile(r"\|+")
_RULE = re.compile(r"(?<!\w):?-{3,}:?(?!\w)")


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def asked_span(text: str) -> tuple[int, int]:
    """Where the question is, in a text that says something first ("My flight was 4 hours late.
    How much compensation can I get?"): the character span of its last sentence that asks (ends
    in "?"); the whole text when it is one sentence or none of its sentences asks."""
    start, spans = 0, []
    for m in _SENTENCE.finditer(text):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(text)))
    asking = [(a, b) for a, b in spans if text[a:b].rstrip().endswith("?")]
    return asking[-1] if len(spans) > 1 and asking else (0, len(text))


# A capitalised word inside a sentence, in brackets too ("… Scheme (NGDGS)"); "I'm" and "I've" are
# no names.
NAME = re.compile(r"(?:(?<=[\w,;:)]\s)|(?<=\w\s\())(?!I\b)[A-Z][A-Za-z0-9'-]+")


_LOOSE_MARK = re.compile(r" ([.,;:!?])(?=\s|$)")
_LOOSE_BRACKET = re.compile(r"(?<=[(\[]) | (?=[)\]])")


def unmark(text: str) -> str:
    """Markdown without its markup: emphasis, heading and quote markers go; a code span's text stays
    as written ("dial `*#06#`" is "dial *#06#"), and so do "#" and ">" inside a line ("order #123",
    "Settings > eSIM": a menu path)."""
    pieces = _CODE.split(text)  # text, fence, code, text, fence, code, …, text
    out = []
    for i in range(0, len(pieces), 3):
        out.append(_EMPHASIS.sub("", _QUOTE_MARK.sub("", _HEADING_LINE.sub(r"\1", pieces[i]))))
        if i + 2 < len(pieces):
            out.append(pieces[i + 2])
    return "".join(out)


def plain(text: str) -> str:
    """One line of text without Markdown (``unmark``), table bars and rules, and without the space
    their removal leaves before punctuation or inside brackets ("choose **Request price
    adjustment**." reads "choose Request price adjustment.", "(see *Plans*)" reads "(see Plans)")."""
    flat = " ".join(_RULE.sub(" ", _BARS.sub(" ", unmark(text))).split())
    return _LOOSE_MARK.sub(r"\1", _LOOSE_BRACKET.sub("", flat))


# The marker a list item begins with: "- ", "* ", "• ", "· ", "2. ", "2) ", "1.1. ". One pattern for
# the chunker (an item is a unit) and for every reader of evidence (the marker is not the item's).
LIST_MARK = re.compile(r"^(?:[-+*\u2022\u2013\u00b7]|\d{1,3}(?:\.\d{1,3})*[.)])\s+")


def without_list_marker(line: str) -> str:
    """A line without the marker of a list item it begins with ("- ", "2. "): not part of the
    item's sentence."""
    return LIST_MARK.sub("", line)


def evidence_sentences(text: str, min_words: int = 3) -> list[str]:
    """The sentences of a passage that can carry a fact, as plain text without a list item's
    marker ("- ", "2. "): the unit the grader scores, the retriever pre-embeds and an extractive
    answer quotes, so all of them must cut passages the same way. Cached by text (``_sentences``)."""
    return list(_sentences(text, min_words))


@lru_cache(maxsize=8192)
def _sentences(text: str, min_words: int) -> tuple[str, ...]:
    """``evidence_sentences``, cached: the same passages and lines come back for many questions, and
    cutting them (Markdown, sentence ends) was an eighth of a domain's CPU under ``bench load``."""
    out = (without_list_marker(plain(x)) for x in split_sentences(text))
    return tuple(s for s in out if len(s.split()) >= min_words)


HEADING = re.compile(r"^ {0,3}#{1,6}\s")  # a Markdown heading's line


@lru_cache(maxsize=4096)
def headings(text: str) -> frozenset[str]:
    """A passage's Markdown headings ("## Using a gift card"; HTML headings are read as such), as
    ``evidence_sentences`` gives them. A heading names a topic and answers nothing: quoted as an
    answer it reads "Using a gift card.". Cached by text, as ``section_headings``."""
    return frozenset(s for line in text.splitlines() if HEADING.match(line) for s in evidence_sentences(line))


@lru_cache(maxsize=4096)
def _lines(text: str) -> tuple[str, ...]:
    """A passage's non-blank lines, stripped: its paragraphs, list items and table rows. Cached by
    text."""
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@lru_cache(maxsize=4096)
def _places(text: str) -> Mapping[str, tuple[int, tuple[str, ...]]]:
    """Each evidence sentence of a passage (at least one word), with the index of the first of its
    ``_lines`` that holds it and that line's evidence sentences. Cached by text; read it, never
    change it."""
    out: dict[str, tuple[int, tuple[str, ...]]] = {}
    for i, line in enumerate(_lines(text)):
        found = _sentences(line, 1)
        for sentence in found:
            out.setdefault(sentence, (i, found))
    return out


def _run(lines: Sequence[str], i: int, belongs: Callable[[str], object]) -> tuple[int, int]:
    """The first and last index of the run of ``lines`` around ``lines[i]`` that ``belongs`` (the
    items of one list, the rows of one table)."""
    lo = hi = i
    while lo > 0 and belongs(lines[lo - 1]):
        lo -= 1
    while hi + 1 < len(lines) and belongs(lines[hi + 1]):
        hi += 1
    return lo, hi


def lead_in_of(text: str, item: str) -> str | None:
    """The sentence that introduces the list ``item`` (an evidence sentence of ``text``) belongs to
    ("Unlocking is free when either of these is true:" for "the phone was bought outright …; or."),
    or None when ``item`` is no list item or its list has no lead-in ending with a colon."""
    lines = _lines(text)
    where = _place(text, item)
    if where is None or not LIST_MARK.match(lines[where[0]]):
        return None
    j = _run(lines, where[0], LIST_MARK.match)[0] - 1
    lead = evidence_sentences(lines[j], min_words=1) if j >= 0 and lines[j].endswith(":") else []
    return lead[-1] if lead else None


# A sentence that begins by pointing back ("It is valid for 30 days.", "Instead, it is
# safeguarded: …", "Until then you keep your current plan's features.") says what it says of the
# sentence before it. Not "There is …": it introduces, it does not point back.
_POINTS_BACK = re.compile(
    r"(?:it|its|they|their|them|this|that|these|those|instead|however|otherwise|then|also|both|such"
    r"|until then|after that|before that|in that case|if so|if not|either way"
    r"|(?:[\w'-]+\s+){1,3}then"  # "The PIN is then needed …", "We then cancel the card"
    r"|(?:[\w'-]+\s+){0,3}(?:above|below|beyond|over|under|besides|than) (?:that|this|it|them)"
    r")\b(?!-)",  # "Any amount above that earns no interest."
    re.IGNORECASE,
)


_FOLLOWING = re.compile(r"(?P<text>.*?) \(follow-up to: (?P<earlier>.*)\)", re.DOTALL)


def following(text: str, earlier: str) -> str:
    """The sub-query of a follow-up the router read with the conversation: the text as asked, with
    the earlier questions it follows ("and for business? (follow-up to: What is the checked baggage
    allowance on an economy ticket?)"), so that the answer shows what it was read with."""
    return f"{text.strip()} (follow-up to: {earlier.strip()})"


def followed(sub_query: str) -> tuple[str, str | None]:
    """A sub-query's own text and the earlier questions it follows (``following``); None when it
    follows none."""
    m = _FOLLOWING.fullmatch(sub_query.strip())
    return (m["text"], m["earlier"]) if m else (sub_query.strip(), None)


def refers_back(sentence: str) -> bool:
    """Whether ``sentence`` begins with a word that points back to the sentence before it."""
    return _POINTS_BACK.match(sentence.lstrip()) is not None


def sentence_before(text: str, sentence: str) -> str | None:
    """The evidence sentence of ``text`` right before ``sentence`` (one of its evidence sentences):
    in the same paragraph or list item, or the last of the line before when ``sentence`` begins its
    line; None when it begins the passage or follows a heading or a table."""
    lines = _lines(text)
    where = _place(text, sentence)
    if where is None:
        return None
    i, found = where
    k = found.index(sentence)
    if k:
        return found[k - 1]
    if i and not HEADING.match(lines[i - 1]) and not lines[i - 1].startswith("|"):
        previous = evidence_sentences(lines[i - 1], min_words=1)
        return previous[-1] if previous else None
    return None


def holds(text: str, sentence: str) -> bool:
    """Whether one of the lines of ``text`` holds the evidence sentence ``sentence``."""
    return _place(text, sentence) is not None


def _place(text: str, sentence: str) -> tuple[int, tuple[str, ...]] | None:
    """The index of the first of the ``_lines`` of ``text`` that holds the evidence sentence
    ``sentence``, with that line's evidence sentences; None when no line holds it."""
    return _places(text).get(sentence)


def list_before(text: str, sentence: str) -> str | None:
    """The lead-in of the list that ends right before ``sentence`` ("Before you close your
    account:" for "Then go to Settings > Account > Close account.", which begins the line after the
    list's last item), or None when ``sentence`` does not begin the line after a list item or that
    list has no lead-in ending with a colon. What such a sentence points back to is the whole list,
    not its last item."""
    lines = _lines(text)
    where = _place(text, sentence)
    if where is None:
        return None
    i, found = where
    if found.index(sentence) or LIST_MARK.match(lines[i]) or not i or not LIST_MARK.match(lines[i - 1]):
        return None
    last = evidence_sentences(lines[i - 1], min_words=1)
    return lead_in_of(text, last[-1]) if last else None


_POINTER = re.compile(r"^(?:[^()]*,\s*)?see\s+(.+?)(?:\s+for\s.*)?[.!]?$", re.IGNORECASE)


def points_to(sentence: str) -> str | None:
    """The page a sentence only points to ("For using your phone while you are abroad, see
    Roaming.", "See Playback troubleshooting for other fixes."): its target's name, or None when
    the sentence says something itself ("… roaming in the EU/EEA (see Roaming).")."""
    m = _POINTER.match(sentence.strip())
    return m.group(1).strip() if m else None


def references(sentence: str, titles: Iterable[str]) -> list[str]:
    """The pages of ``titles`` that ``sentence`` sends the reader to, in the order it names them:
    "… depends on your plan (see Subscription plans).", "ATM fees are explained in Plans and fees,
    and card top-up limits in Adding money.", "… allowances are described in Premium Economy and
    Business cabins." A title counts after "see" or "in", written capitalised as titles are, so
    "money held in savings vaults" names no page."""
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for title in sorted({t.strip() for t in titles if t.strip()}, key=len, reverse=True):
        pattern = _reference_pattern(title)
        for m in pattern.finditer(sentence):
            a, b = m.span(1)
            if sentence[a].isupper() and not any(lo < b and a < hi for lo, hi in taken):
                taken.append((a, b))
                found.append((a, title))
                break
    return [title for _, title in sorted(found)]


def reference_clause(sentence: str, title: str) -> str:
    """The clause of ``sentence`` that sends the reader to the page ``title`` (``references``):
    from the last comma, semicolon or colon before the reference to the reference's end. "For
    loss or theft, block your SIM and phone first (see Lost or stolen phone) and report the theft
    to the police within 48 hours." promises how to block them there, not the police report; the
    whole sentence when no reference to ``title`` is found."""
    m = _reference_pattern(title.strip()).search(sentence)
    if m is None:
        return sentence
    start = max(sentence.rfind(mark, 0, m.start()) for mark in (",", ";", ":")) + 1
    return sentence[start : m.end()].strip()


@lru_cache(maxsize=4096)
def _reference_pattern(title: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:see|in)\s+(?:the\s+)?({re.escape(title)})(?![\w-])", re.IGNORECASE)


_STEP = re.compile(r"^(\d{1,3})[.)]\s+")


# A sentence that promises what follows it ("You can watch Northwind Media on the following
# devices.") introduces the list after it as a colon does; "… the following calendar year." is a time.
_PROMISES = re.compile(
    r"\b(?:the following|as follows)\b(?!(?:\s+\w+)?\s+(?:day|week|month|year|morning|evening|night)s?\.)"
    r"(?:\s+[\w-]+){0,2}\.$",
    re.IGNORECASE,
)


def introduces(sentence: str) -> bool:
    """Whether ``sentence``, at the end of its line, would introduce a list after it."""
    return sentence.endswith(":") or bool(_PROMISES.search(sentence))


def list_after(text: str, sentence: str, limit: int = 8, marked: bool = False) -> list[str]:
    """The items of the list that ``sentence``, an evidence sentence of ``text`` that ends its line
    with a colon or a promise of what follows (``introduces``), introduces ("4K playback needs all
    of the following:", then "- a Premium plan", …): each item's first line as plain text without
    its marker, at most ``limit``; [] when the sentence introduces no list in ``text``. ``marked``:
    each item as an answer quotes it, "- a Premium plan", or with its number when it is a step
    ("1. Go to …", as ``steps_of`` has it)."""
    if not introduces(sentence):
        return []
    lines = _lines(text)
    for i, line in enumerate(lines):
        if line.endswith(sentence[-1]) and evidence_sentences(line, min_words=1)[-1:] == [sentence]:
            items = _items_after(lines, i, limit)
            return [_as_item(x) if marked else without_list_marker(plain(x)) for x in items]
    return []


def _items_after(lines: Sequence[str], i: int, limit: int) -> list[str]:
    """The lines of the list that begins right after ``lines[i]``, at most ``limit``; [] when the
    next line is no list item."""
    if i + 1 >= len(lines) or not LIST_MARK.match(lines[i + 1]):
        return []
    return list(lines[i + 1 : _run(lines, i + 1, LIST_MARK.match)[1] + 1][:limit])


def steps_of(text: str, sentence: str, limit: int = 6) -> list[str]:
    """The numbered list that ``sentence``, an evidence sentence of ``text``, is a step of: each
    step whole, with its number, as plain text ("1. Freeze your card in the app straight away.");
    [] when ``sentence`` is in no numbered list of ``text`` or the list has more than ``limit``
    steps. Steps are done in order: "Check whether the payment could be from a merchant under a
    different name …" alone answered "Someone used my card without permission, what should I
    do?" without the freezing of the card before it or the report after it."""
    lines = _lines(text)
    where = _place(text, sentence)
    if where is None or not _STEP.match(lines[where[0]]):
        return []
    lo, hi = _run(lines, where[0], _STEP.match)
    if not 2 <= hi - lo + 1 <= limit:
        return []
    return [f"{n}. {without_list_marker(plain(x))}" for x in lines[lo : hi + 1] for n in _STEP.findall(x)]


@lru_cache(maxsize=4096)
def section_headings(text: str) -> Mapping[str, str]:
    """Each evidence sentence of a passage below a Markdown heading, with the nearest heading above
    its line, as plain text ("Returns up to 29 minutes late are free; …" → "Extras and returns").
    Sentences above every heading, and the headings themselves, are not in it. Cached by text:
    the same passages come back for many questions; read it, never change it."""
    out: dict[str, str] = {}
    heading = ""
    for line in _lines(text):
        if HEADING.match(line):
            heading = plain(line)
        elif heading:
            for sentence in evidence_sentences(line, min_words=1):
                out.setdefault(sentence, heading)
    return out


SUBHEADING = re.compile(r"^ {0,3}#{2,6}\s")  # a heading below a page's title


@lru_cache(maxsize=4096)
def subheadings(text: str) -> frozenset[str]:
    """A passage's section headings below its page's title (``##`` and deeper), as
    ``section_headings`` gives them. The title says what every section of the page is about; a
    section heading says what sets its section apart from the others. Cached by text."""
    return frozenset(plain(line) for line in _lines(text) if SUBHEADING.match(line))


def section_of(text: str, item: str) -> str | None:
    """The heading right above the list whose item is ``item`` (an evidence sentence of ``text``),
    when the list follows it with no lead-in and the item is no sentence but a fragment (no full
    stop), as plain text: the fragment is said of that section ("Free seat selection, including
    extra-legroom seats" is what *Business* gets, not every passenger; "Screen repair: €49" is
    the *Excess per claim*). None otherwise, and for a table row (its cells name their headers).
    A whole sentence says what it is about ("Your profiles … are kept for 10 months."): quoted
    after its heading too, in 15 of 98 answers of our QA set, it read no better."""
    lines = _lines(text)
    where = _place(text, item)
    if where is None or not LIST_MARK.match(line := lines[where[0]]):
        return None
    if without_list_marker(plain(line)).endswith((".", "!", "?")):
        return None
    return _heading_above(lines, where[0])


def heading_above(text: str, item: str) -> str | None:
    """The heading right above the list whose item is ``item`` (an evidence sentence of ``text``),
    when the list follows it with no lead-in, as plain text: the heading is its lead-in ("Driver
    requirements" for "Minimum age 21."). None otherwise, and for a table row (its cells name
    their headers)."""
    lines = _lines(text)
    where = _place(text, item)
    if where is None or not LIST_MARK.match(lines[where[0]]):
        return None
    return _heading_above(lines, where[0])


def _heading_above(lines: Sequence[str], i: int) -> str | None:
    if len(_cell_headers(lines[i])) >= 2:
        return None
    first = _run(lines, i, LIST_MARK.match)[0]
    if not first or not HEADING.match(lines[first - 1]):
        return None
    return plain(lines[first - 1]) or None


def section_list(text: str, item: str, limit: int = 8) -> list[str]:
    """The section whose list ``item`` is an item of (``heading_above``), whole (``heading_list``);
    [] when ``item`` is no item of a list right under a heading."""
    heading = heading_above(text, item)
    return [] if heading is None else list(heading_list(text, heading, limit))


@lru_cache(maxsize=4096)
def heading_list(text: str, heading: str, limit: int = 8) -> tuple[str, ...]:
    """The list right under the Markdown heading of ``text`` that reads ``heading`` (as
    ``section_of`` or ``evidence_sentences`` give it), with no lead-in between: the heading closed
    with a colon, then each item as an answer quotes it ("- Checked baggage: 2 bags of up to 23 kg
    each", "1. Check your safe place and ask your neighbours."), at most ``limit``; () when no
    heading says it or no list follows it. A heading names what its list is about: "Parcel marked
    delivered but not received" and its three steps, "Premium Economy" and what it includes."""
    lines = _lines(text)
    for i, line in enumerate(lines):
        if HEADING.match(line) and heading in (plain(line), *evidence_sentences(line, min_words=1)):
            items = _items_after(lines, i, limit)
            return (f"{heading.rstrip(':')}:", *map(_as_item, items)) if items else ()
    return ()


def _as_item(line: str) -> str:
    """A list item's line as an answer quotes it: "- a Premium plan", or with its number when it is
    a step ("1. Go to …")."""
    said = without_list_marker(plain(line))
    return f"{step.group(1)}. {said}" if (step := _STEP.match(line)) else f"- {said}"


_HEADER = r"[^:;—]{1,60}"  # a column header as a table row names a cell by it ("Zone", "How it works")
_CELL_HEADER = re.compile(rf"(?:^|— |; )({_HEADER}): ")
_ROW = re.compile(rf"^{_HEADER}: .+ — {_HEADER}: ")


def is_row(sentence: str) -> bool:
    """Whether an evidence sentence is a table row as ``shared.documents.tables_as_sentences``
    writes one, its first cell named by its header ("Zone: Zone 2 — Countries: United Kingdom, …;
    How it works: …")."""
    return bool(_ROW.match(sentence))


_KEY = re.compile(rf"^({_HEADER}): (.+?) — {_HEADER}: ")


def row_key(sentence: str) -> tuple[str, str] | None:
    """A table row's first cell, as (header, value): ("Plan", "Plus") for "Plan: Plus — Interest
    rate (AER, variable): 2.25%."; None for any other sentence."""
    found = _KEY.match(sentence)
    return (found.group(1), found.group(2)) if found else None


def _cell_headers(line: str) -> tuple[str, ...]:
    """The column headers a table row names its cells by (a list item "Tier: Gold — Points needed:
    4,000; …", as ``shared.documents.tables_as_sentences`` writes a row); () for any other line."""
    if not LIST_MARK.match(line) or " — " not in line:
        return ()
    return tuple(_CELL_HEADER.findall(without_list_marker(plain(line))))


def table_rows(text: str, row: str, limit: int = 4) -> list[str]:
    """The rows of the small table that ``row``, an evidence sentence of ``text``, is a row of, in
    the table's order, as plain text (``shared.documents.tables_as_sentences`` wrote each row as a
    list item naming its cells by their headers: "When you add the bag: Online … — Short-haul: €40;
    Long-haul: €65."); [] when ``row`` is no table row or its table has more than ``limit`` rows.
    One row answers one cell of a question about the table ("How much does a second checked bag
    cost?": online and at the airport)."""
    lines = _lines(text)
    where = _place(text, row)
    if where is None or len(key := _cell_headers(lines[where[0]])) < 2:
        return []  # no table row
    lo, hi = _run(lines, where[0], lambda other: _cell_headers(other) == key)
    if not 2 <= hi - lo + 1 <= limit:
        return []
    return [without_list_marker(plain(x)) for x in lines[lo : hi + 1]]


CourtesyKind = Literal["greeting", "thanks", "acknowledgement", "goodbye", "request for help"]


def _word_set(spaced: str) -> frozenset[str]:
    return frozenset(spaced.split())


_COURTESY: dict[CourtesyKind, frozenset[str]] = {
    "goodbye": _word_set("bye goodbye byebye cya farewell later"),
    "thanks": _word_set("thanks thank thx ty cheers appreciated appreciate"),
    "acknowledgement": _word_set(
        "ok okay k kk great cool perfect nice awesome alright fine understood noted brilliant excellent "
        "helpful got gotcha sure lovely"
    ),
    # help asked for with nothing to help with yet: "Can you help me?", "Hi, I have a question"
    "request for help": _word_set("help assist assistance question questions"),
    "greeting": _word_set("hi hello hey hiya howdy greetings morning afternoon evening"),
}
_COURTESY_FILLER = _word_set(
    "a all and again day for good have i it just lot many much no now oh really see so that "
    "that's thats the there u very well yeah yep yes you your was is this everyone "
    "can could would will me need some please ask quick small someone somebody anyone like want "
    "i'd i've i'm got"
)
_COURTESY_KNOWN = frozenset().union(*_COURTESY.values(), _COURTESY_FILLER)
_COURTESY_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def courtesy(text: str) -> CourtesyKind | None:
    """What a message made only of courtesy words is ("Thanks a lot!", "ok great", "hi there",
    "bye for now", "Can you help me?"), or None when it says anything else. Nothing to look up:
    answering it from a knowledge base would repeat the previous answer or invent one."""
    said = _COURTESY_WORD.findall(text.lower())
    if not said or len(said) > 8 or len(text) > 80:
        return None
    kinds = [k for k, ws in _COURTESY.items() if any(w in ws for w in said)]
    if not kinds or any(w not in _COURTESY_KNOWN for w in said):
        return None
    return kinds[0]  # in the order above: "thanks, bye" is a goodbye
