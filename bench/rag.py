"""Agentic-RAG benchmark on bench/data/rag_qa.jsonl with the real embedded model (llama-server).

    python -m bench rag [--limit N] [--domains DIR] [--answer-threshold T] [--no-plain] [--seed N] [--dump FILE]

Prints retrieval recall@5; answer rate on answerable questions (and how many of those answers
contain the gold fact); abstention precision and recall on unanswerable ones; the share of
answers with an unsupported claim, judged independently of the verifier; latency per agent; and
the agents' overhead against plain retrieve-and-answer on the same model.

It also prints the coverage threshold's trade-off from the same run: for each threshold at or
above the one the run used, the answer and abstention rates it would give. A domain answers
exactly when its best evidence sentence clears the similarity floor (``ACCEL_ANSWER_THRESHOLD``)
and the kept passages cover the question at least as well as the coverage threshold; the grader's
answerability is that coverage (0 below the floor), so raising the threshold turns answers into
abstentions and nothing else. Run with a low ``--coverage-threshold`` to see the whole curve
before choosing ``ACCEL_COVERAGE_THRESHOLD`` for a knowledge base (``python -m bench abstain``
compares the signals without a model). ``--no-plain`` skips the plain-RAG comparison (half the
time).

The independent judge: an answer sentence is supported when all its numbers and at least 75% of
its content words occur in a single sentence of the *full text of the documents it cites*, split
into sentences afresh (a Markdown table row read together with its header row, an item of a list
right under a heading with that heading). The verifier
works on the retrieved chunks only, while the stream runs; the judge reads the source files
afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accel.stack import LOOPBACK, Child, free_port, llama_server_argv
from bench.router import _wait_http
from contracts import DomainTask, RetrievalRequest, RetrievalResult, TokenDelta
from contracts.messages import deadline_in
from services.domain import prompts
from services.domain.agents import Evidence, Grader, Search, Searcher, Verifier, content_words
from services.domain.coverage import knowledge_documents
from services.domain.pipeline import DomainPipeline
from services.domain.settings import DomainSettings
from services.retriever.handlers import RetrieverState, retrieve
from services.retriever.ingest import ingest_path
from services.retriever.sentences import SentenceVectors
from services.retriever.store import EmbeddedStore
from shared.domains import DomainDefinition, load_domains
from shared.embeddings import Embedder, default_embedder
from shared.inference import ChatModel
from shared.service import single_threaded_blas
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT
from shared.text import plain, split_sentences

DATA = Path(__file__).parent / "data" / "rag_qa.jsonl"
_CITE = re.compile(r"\s*\[\d{1,2}\]")

_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")


def numbers(text: str) -> set[str]:
    """The judge's numbers: digits only, as the verifier read them until session 31 (it now reads
    counts and ordinals in words too), so that the judge's figures stay comparable across sessions."""
    return {n.replace(",", "") for n in _DIGITS.findall(text)}


@dataclass
class Row:
    qa: dict[str, object]
    status: str
    text: str
    cited_docs: list[str]
    timings: dict[str, float]
    total_ms: float
    in_top5: bool
    revised: bool
    answerability: float


class RecordingGrader(Grader):
    """The domain's grader, keeping the answerability it found for the last question."""

    last = 0.0

    def grade(self, *args: Any, **kwargs: Any) -> Evidence:
        evidence = super().grade(*args, **kwargs)
        self.last = evidence.answerability
        return evidence


def local_search(domains: dict[str, DomainDefinition], embedder: Embedder, prefix: str) -> Search:
    """Every domain's knowledge ingested into a fresh embedded index, and a search that does what the
    retriever service does with a request, without the NATS hop."""
    store = EmbeddedStore(Path(tempfile.mkdtemp(prefix=prefix)))
    sentences = SentenceVectors(embedder)
    for name, d in domains.items():
        assert d.knowledge_dir is not None
        ingest_path(store, embedder, tenant="default", domain=name, path=d.knowledge_dir, sentences=sentences)
    retriever = RetrieverState(store=store, embedder=embedder, domains=set(domains), sentences=sentences)

    async def search(req: RetrievalRequest, _timeout: float) -> RetrievalResult:
        t0 = time.perf_counter()
        passages, _reused = retrieve(retriever, req)
        return RetrievalResult(
            domain=req.domain, passages=passages, took_ms=(time.perf_counter() - t0) * 1000
        )

    return search


_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s+(.*)$")


def _with_headers(docs_text: str) -> str:
    """The source files' Markdown table rows, each read together with its table's header row (a
    row's cells mean what their column headers say), and the items of a list right under a
    heading together with that heading ("## Excess per claim" over "- Screen repair: €49"). Written
    apart from the product's own reading of tables and sections
    (``shared.documents.tables_as_sentences``, ``shared.text.section_of``), which the judge checks."""
    out: list[str] = []
    header = ""
    section = ""
    previous = ""
    for line in docs_text.splitlines():
        stripped = line.strip()
        heading = _HEADING.match(stripped)
        if heading:
            section = heading.group(1)
        elif stripped and not _ITEM.match(stripped):
            section = ""  # a lead-in or a paragraph: the list is not the heading's alone
        if not stripped.startswith("|"):
            header = ""
        elif set(stripped) <= set("|:- "):
            header = previous  # the row above a rule line holds the headers
        elif header:
            line = f"{header} {stripped}"
        item = _ITEM.match(stripped)
        if section and item:
            line = f"{item.group()}{section}: {stripped[item.end() :]}"  # "1. " stays: answers quote it
        out.append(line)
        previous = stripped
    return "\n".join(out)


def judge_supported(text: str, docs_text: str) -> bool:
    """True when every sentence of ``text`` is lexically entailed by one sentence of ``docs_text``
    (a table row counts with its header row)."""
    doc_sentences = [plain(s) for s in split_sentences(_with_headers(docs_text))]
    for sentence in split_sentences(_CITE.sub("", text)):
        words, nums = content_words(sentence), numbers(sentence)
        if not words and not nums:
            continue
        ok = any(
            nums <= numbers(ds) and (not words or len(words & content_words(ds)) / len(words) >= 0.75)
            for ds in doc_sentences
        )
        if not ok:
            return False
    return True


def holds(passage: str, evidence: str) -> bool:
    """Whether a passage holds the evidence of a question: its text, or for a table row (which the
    retriever indexes with its column headers) every word and number of its cells."""
    if plain(evidence)[:60] in plain(passage):
        return True
    wanted = content_words(evidence) | numbers(evidence)
    return evidence.lstrip().startswith("|") and wanted <= content_words(passage) | numbers(passage)


_SAYS_NO = re.compile(r"\b(?:no|not|never|cannot)\b|n't\b", re.IGNORECASE)


def contains_gold(text: str, gold: str, evidence: str = "") -> bool:
    """Whether an answer holds the expected fact: every number of it and half its words and
    numbers or more ("report it within 7 days" does not hold "within 14 days of the marked delivery
    date", though it has half of its words). A bare "yes" or "no" has none (they are stopwords):
    the answer must then hold half of the evidence sentence's and say no exactly when the expected
    answer does."""
    if not numbers(gold) <= numbers(text):
        return False
    want = content_words(gold) | numbers(gold)
    if not want:
        if bool(_SAYS_NO.search(text)) != gold.strip().lower().startswith("no"):
            return False
        want = content_words(evidence) | numbers(evidence)
    have = content_words(text) | numbers(text)
    return bool(want) and len(want & have) / len(want) >= 0.5


def threshold_sweep(rows: list[Row], unsupported: list[Row], used: float, step: float = 0.025) -> str:
    """Answer and abstention rates at thresholds from ``used`` up, from one run's answerability.
    Rows the grader never scored (no passage kept) count as abstaining at every threshold."""
    answerable = [r for r in rows if r.qa["answerable"]]
    unanswerable = [r for r in rows if not r.qa["answerable"]]
    lines = ["coverage threshold (ACCEL_COVERAGE_THRESHOLD) trade-off on this run:",
             "  threshold  answered (answerable)  abstained (unanswerable)  unsupported answers"]  # fmt: skip
    t = used
    while t <= 0.8 + 1e-9:

        def answers(r: Row, t: float = t) -> bool:
            return r.status == "answered" and r.answerability >= t

        bad = sum(1 for r in unsupported if answers(r))
        lines.append(
            f"  {t:9.3f}  {sum(map(answers, answerable)) / max(1, len(answerable)):21.1%}"
            f"  {sum(not answers(r) for r in unanswerable) / max(1, len(unanswerable)):24.1%}"
            f"  {bad:19d}"
        )
        t = round(t + step, 6)
    return "\n".join(lines)


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench rag")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--domains", type=Path, default=DEFAULT_DOMAINS_DIR)
    parser.add_argument("--limit", type=int, default=0, help="questions per domain (0: all)")
    parser.add_argument(
        "--answer-threshold",
        type=float,
        default=None,
        help="the grader's similarity floor for this run (default: the domain service's)",
    )
    parser.add_argument(
        "--coverage-threshold",
        type=float,
        default=None,
        help="the grader's coverage threshold for this run (default: the domain service's)",
    )
    parser.add_argument("--no-plain", action="store_true", help="skip the plain-RAG latency comparison")
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="sampling seed sent with every generation, so that runs compare (-1: none)",
    )
    parser.add_argument("--dump", type=Path, default=None, help="write each question's outcome here (JSONL)")
    args = parser.parse_args(argv)
    single_threaded_blas()  # as the services run: a BLAS pool only spins on these small products
    rows_in = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    if args.limit:
        per: dict[str, int] = {}
        kept = []
        for r in rows_in:
            per[r["domain"]] = per.get(r["domain"], 0) + 1
            if per[r["domain"]] <= args.limit:
                kept.append(r)
        rows_in = kept
    domains = load_domains(args.domains)
    embedder = default_embedder()
    search = local_search(domains, embedder, "accel-bench-rag-")

    async def no_stream(_subject: str, _delta: TokenDelta) -> None:
        return None

    port = free_port()
    server = Child(
        "bench-model",
        llama_server_argv(port, context=4096),
        dict(os.environ),
        REPO_ROOT / ".accel" / "logs" / "bench-rag-model.log",
    )  # fmt: skip
    server.start()
    try:
        await _wait_http(f"http://{LOOPBACK}:{port}/health")
        model = ChatModel(
            f"http://{LOOPBACK}:{port}/v1",
            model="smollm2",
            client="direct",  # as a domain
            seed=None if args.seed < 0 else args.seed,
        )
        settings = DomainSettings(domain="travel")
        if args.answer_threshold is not None:
            settings = settings.model_copy(update={"answer_threshold": args.answer_threshold})
        if args.coverage_threshold is not None:
            settings = settings.model_copy(update={"coverage_threshold": args.coverage_threshold})
        searcher = Searcher(search, top_k=settings.top_k)
        graders = {}
        pages: dict[str, dict[str, str]] = {}  # by domain: doc ids and texts by title, as app.py has them
        texts: dict[str, dict[str, str]] = {}
        for name, d in domains.items():
            documents = knowledge_documents(d.knowledge_dir)
            pages[name] = {doc.title: doc.doc_id for doc in documents}
            texts[name] = {doc.title: doc.text for doc in documents}
            knowledge = [doc.text for doc in documents]
            graders[name] = RecordingGrader(
                embedder, settings.min_relevance, settings.answer_threshold,
                coverage_threshold=settings.coverage_threshold, knowledge=knowledge,
            )  # fmt: skip
            graders[name].warm(knowledge, [doc.title for doc in documents])  # as the domain service does
        verifier = Verifier(settings.verify_overlap, settings.claim_relevance)
        agentic: list[Row] = []
        plain_ms: list[float] = []
        also = "" if args.no_plain else " and through plain RAG"
        print(f"running {len(rows_in)} questions through the agents{also}…", flush=True)
        for n, qa in enumerate(rows_in, start=1):
            domain = domains[str(qa["domain"])]
            grader = graders[domain.name]
            pipeline = DomainPipeline(
                domain, settings, model, searcher, grader, verifier, no_stream,
                pages[domain.name], texts[domain.name],
            )  # fmt: skip
            task = DomainTask(
                query_id=f"bench{n}", conversation_id="bench", deadline=deadline_in(120), domain=domain.name,
                sub_query=str(qa["question"]), text=str(qa["question"]), reply_subject="bench",
            )  # fmt: skip
            top5 = await search(RetrievalRequest(domain=domain.name, query=str(qa["question"]), top_k=5), 5.0)
            evidence = str(qa.get("evidence") or "")
            in_top5 = bool(qa["answerable"]) and any(
                p.doc_id == qa["doc_id"] and holds(p.text, evidence) for p in top5.passages
            )
            t0 = time.perf_counter()
            grader.last = 0.0
            answer = await pipeline.run(task)
            total = (time.perf_counter() - t0) * 1000
            agentic.append(
                Row(qa, answer.status, answer.text, [c.doc_id for c in answer.citations], answer.timings_ms,
                    total, in_top5, answer.revised, grader.last)
            )  # fmt: skip
            if n % 20 == 0:
                print(f"  {n}/{len(rows_in)}", flush=True)
            if args.no_plain:
                continue
            # Plain retrieve-and-answer on the same model: top 3 passages, one generation, no checks.
            t0 = time.perf_counter()
            passages = (
                await search(RetrievalRequest(domain=domain.name, query=str(qa["question"]), top_k=3), 5)
            ).passages
            messages = prompts.build_messages(domain, str(qa["question"]), passages)
            gen = domain.generation
            await model.complete(  # as the domain asks when nobody streams (the tasks here do not)
                messages,
                max_tokens=gen.max_tokens,
                temperature=gen.temperature,
                frequency_penalty=gen.frequency_penalty,
            )
            plain_ms.append((time.perf_counter() - t0) * 1000)
        await model.close()
    finally:
        server.stop()

    docs_text = {
        (name, p.name): p.read_text(encoding="utf-8")
        for name, d in domains.items()
        if d.knowledge_dir
        for p in d.knowledge_dir.glob("*")
    }
    answerable = [r for r in agentic if r.qa["answerable"]]
    unanswerable = [r for r in agentic if not r.qa["answerable"]]
    answered = [r for r in agentic if r.status == "answered"]
    abstained = [r for r in agentic if r.status == "abstained"]
    unsupported = [
        r for r in answered
        if not judge_supported(r.text, "\n".join(docs_text.get((str(r.qa["domain"]), d), "") for d in r.cited_docs))
    ]  # fmt: skip
    gold_hits = [
        r for r in answerable
        if r.status == "answered" and contains_gold(r.text, str(r.qa["answer"]), str(r.qa["evidence"]))
    ]  # fmt: skip
    recall5 = sum(r.in_top5 for r in answerable) / len(answerable)
    if args.dump:
        bad, held = {id(r) for r in unsupported}, {id(r) for r in gold_hits}
        args.dump.write_text(
            "".join(
                json.dumps({
                    "id": r.qa["id"], "answerable": r.qa["answerable"], "status": r.status, "text": r.text,
                    "revised": r.revised, "gold": id(r) in held, "unsupported": id(r) in bad,
                }) + "\n"
                for r in agentic
            )
        )  # fmt: skip
    print(
        f"== agentic RAG on {len(agentic)} questions ({len(answerable)} answerable, {len(unanswerable)} not)"
    )
    print(f"retrieval recall@5                      {recall5:7.2%}")
    print(
        f"answered (answerable)                   {sum(r.status == 'answered' for r in answerable) / len(answerable):7.2%}"
    )
    print(f"  … containing the gold fact            {len(gold_hits) / len(answerable):7.2%}")
    print(
        f"  … revised extractively                {sum(r.revised for r in answered) / max(1, len(answered)):7.2%} of answers"
    )
    print(
        f"abstained (unanswerable) = recall       {sum(r.status == 'abstained' for r in unanswerable) / len(unanswerable):7.2%}"
    )
    print(
        f"abstention precision                    {sum(not r.qa['answerable'] for r in abstained) / max(1, len(abstained)):7.2%}"
    )
    print(
        f"answers with an unsupported claim       {len(unsupported)} of {len(answered)} (independent lexical judge)"
    )
    for r in unsupported[:5]:
        print(f"    {r.qa['id']}: {r.text[:160]!r}")
    print("latency per agent (ms, p50 / p90):")
    for name in ("rewrite", "retrieve", "grade", "ttft", "generate", "verify", "revise"):
        vals = [r.timings[name] for r in agentic if name in r.timings]
        if vals:
            print(f"  {name:<10} {statistics.median(vals):8.1f} / {pct(vals, 0.9):8.1f}   (n={len(vals)})")
    totals = [r.total_ms for r in agentic]
    if plain_ms:
        print(
            f"end to end: agentic p50 {statistics.median(totals):.0f} ms, plain RAG p50 {statistics.median(plain_ms):.0f} ms; "
            f"mean overhead {(sum(totals) - sum(plain_ms)) / sum(plain_ms):+.1%}"
        )
    print(threshold_sweep(agentic, unsupported, settings.coverage_threshold))
