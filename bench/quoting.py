"""What the revision's quoting helpers cost per evidence sentence, read on its whole document.

    python -m bench quoting [--domains DIR] [--rounds 5]

An extractive answer quotes a sentence with what it needs around it: the other steps of its list,
its lead-in, the sentence it points back to, its table's rows, its section's heading
(``services.domain.pipeline._quoted``), all read from the sentence's whole document. This runs
those helpers of ``shared.text`` on every evidence sentence of every knowledge document of the
domains, once with their caches empty (a document's first question) and then warm (the best of
``--rounds`` passes: the same documents come back for question after question), and prints the
time per sentence.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from services.domain.coverage import knowledge_documents
from shared import text
from shared.domains import DomainConfigError, load_domains
from shared.settings import DEFAULT_DOMAINS_DIR


def clear_caches() -> None:
    for value in vars(text).values():
        if callable(clear := getattr(value, "cache_clear", None)):
            clear()


def one_pass(work: list[tuple[str, str]]) -> float:
    """Seconds to run every helper once on each (document, sentence)."""
    t0 = time.perf_counter()
    for document, sentence in work:
        text.holds(document, sentence)
        text.steps_of(document, sentence)
        text.lead_in_of(document, sentence)
        text.list_before(document, sentence)
        text.sentence_before(document, sentence)
        text.list_after(document, sentence, marked=True)
        text.table_rows(document, sentence)
        text.section_of(document, sentence)
    return time.perf_counter() - t0


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench quoting", description=__doc__.split("\n\n")[0])
    parser.add_argument("--domains", type=Path, default=DEFAULT_DOMAINS_DIR)
    parser.add_argument("--rounds", type=int, default=5, help="warm passes; the best is printed")
    args = parser.parse_args(argv)
    try:
        domains = load_domains(args.domains)
    except DomainConfigError as exc:
        raise SystemExit(f"error: {exc}") from None
    documents = [doc for domain in domains.values() for doc in knowledge_documents(domain.knowledge_dir)]
    work = [(doc.text, s) for doc in documents for s in text.evidence_sentences(doc.text)]
    if not work:
        raise SystemExit(f"error: no evidence sentences in the knowledge of {args.domains}")
    clear_caches()
    cold = one_pass(work)
    warm = min(one_pass(work) for _ in range(max(1, args.rounds)))
    print(f"== quoting helpers on {len(work)} evidence sentences of {len(documents)} documents")
    print(f"  caches empty (first sighting)   {cold * 1e6 / len(work):8.1f} µs per sentence")
    print(f"  warm (best of {args.rounds:>2})               {warm * 1e6 / len(work):8.1f} µs per sentence")
