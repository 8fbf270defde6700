"""The domain's answering pipeline: rewrite → search → grade → answer ⇄ verify → (revise | abstain).

Only verified text is streamed: the model's output is cut into sentences as it arrives, each
sentence is checked against the evidence, and only supported sentences go to the caller (with their
citations). If none survive, the answer is revised once, extractively, from the evidence
sentences (the best, and the next best if it is as close to the question as an answer must be); if
even the best is not close enough, the domain abstains.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextvars import ContextVar
from datetime import datetime
from functools import partial

from opentelemetry import trace

from contracts import Citation, DomainAnswer, DomainTask, Passage, QueryEmbedding, TokenDelta, Usage
from contracts.messages import utcnow
from services.domain import prompts
from services.domain.agents import (
    Evidence,
    Grader,
    Rewriter,
    Searcher,
    Verdict,
    Verifier,
    asks_for_number,
    content_words,
    negated,
    numbers,
    pointed_titles,
    says_nothing_new,
)
from services.domain.settings import DomainSettings
from shared.domains import DomainDefinition
from shared.embeddings import from_message, to_message, tokens_from_message
from shared.inference import ChatModel, ModelUnavailable
from shared.metrics import get_metrics
from shared.text import (
    heading_list,
    headings,
    holds,
    lead_in_of,
    list_after,
    list_before,
    points_to,
    reference_clause,
    references,
    refers_back,
    section_list,
    section_of,
    sentence_before,
    steps_of,
    table_rows,
    without_list_marker,
)

log = logging.getLogger(__name__)
PublishDelta = Callable[[str, TokenDelta], Awaitable[None]]
_attempt: ContextVar[int] = ContextVar("attempt", default=1)  # delivery attempt of the current task
tracer = trace.get_tracer("accel.domain")
_BOUNDARY = re.compile(r"(?<=[.!?])\s+")
EXTRACTIVE_SENTENCES = 2  # evidence sentences an extractive revision may quote
TABLE_ROWS = 4  # a quoted row of a table this small brings its sibling rows
STEPS = 6  # a quoted step of a numbered list this short brings the other steps
# A pointed page's sentence that shares this many words with the pointer is what it promises: one
# is chance ("… within 48 hours" and "… can take up to 24 hours").
POINTER_WORDS = 2
_OPEN_END = re.compile(r"[\s:;,\u2013\u2014-]*$")
_ENDED = re.compile(r"[.!?][\"')\]]*(?:\s*\[\d{1,2}\])*\s*$")  # a full stop, maybe quoted, maybe cited


def cut_off(sentence: str) -> bool:
    """Whether the last piece of an answer stops mid-sentence ("The plan is [1]", "This"): the
    model ran out of tokens or lost its way. Its few words may all be in the evidence, but what it
    would have said is not there, so it is not streamed."""
    return not _ENDED.search(sentence)


def _closed(sentence: str) -> str:
    """An evidence sentence as a sentence of the answer. Headings and table rows ("Express 1–2
    business days €9.99") end without a full stop; quoted side by side they would read as one
    sentence that no single passage sentence says."""
    sentence = sentence.strip()
    return sentence if sentence.endswith((".", "!", "?")) else _OPEN_END.sub("", sentence) + "."


def _source(evidence: Evidence, passage_index: int, sentence: str, documents: Mapping[str, str]) -> str:
    """The text a quote of ``sentence`` is read from: its whole document when the domain has it (and
    it holds the sentence), else its passage. A passage is a chunk of about 120 words, and a list
    can run past its end: "You can watch Northwind Media on the following devices." brought 6 of
    its 7 devices from its passage, without the game consoles of "Can I watch it on my
    PlayStation?"; 7 lead-ins of our knowledge bases had such a list cut (the refund times of 3 of
    4 payment methods, 1 of the 2 seat prices)."""
    passage = evidence.passages[passage_index]
    document = documents.get(passage.title)
    return document if document is not None and holds(document, sentence) else passage.text


def _quoted(
    evidence: Evidence, passage_index: int, sentence: str, documents: Mapping[str, str] | None = None
) -> str:
    """An evidence sentence as the answer quotes it: closed (``_closed``), or, when it introduces a
    list ("Your tier depends on the points you earn in a calendar year:"), with the list's items,
    one per line: alone it promises what it does not say. A list item that
    begins in lower case finishes its lead-in's sentence ("Unlocking is free when either of these
    is true:" … "the phone was bought outright and your account has been active for at least 3
    months; or"): it is quoted as that lead-in with its list, since half a sentence drops its
    condition. A sentence that points back ("Instead, it is safeguarded: …", "Until then you keep
    your current plan's features.") is quoted after the sentence it points back to, or after the
    list it follows ("Then go to Settings > Account > Close account." after "Before you close your
    account:" and its items: its last item alone is half a sentence). A step of a short numbered
    list is quoted with the other steps, in order (``steps_of``). A fragment item of a list right
    under a heading is quoted after that heading ("Business — Free seat selection, including
    extra-legroom seats."): it is said of that section (``section_of``); the whole section, its
    heading and items, when only its heading makes it an answer (``Evidence.sections``: "Premium
    Economy:" and its 6 items for "What does premium economy include?"). Lists, steps and the
    sentence before are read from the sentence's whole document when ``documents`` (texts by title)
    has it (``_source``)."""
    text = _source(evidence, passage_index, sentence, documents or {})
    if sentence in headings(text) and (listed := heading_list(text, sentence)):
        return "\n".join(listed)  # a heading is quoted only above a list (``best_sentences``)
    if sentence[:1].islower():
        sentence = lead_in_of(text, sentence) or sentence
    steps = steps_of(text, sentence, STEPS)
    if steps:
        lead = lead_in_of(text, sentence)
        return "\n".join([lead, *steps] if lead else steps)
    back = refers_back(sentence)
    lead = list_before(text, sentence) if back else None
    if lead:
        return "\n".join([lead, *list_after(text, lead, marked=True), _closed(sentence)])
    before = sentence_before(text, sentence) if back else None
    items = list_after(text, sentence, marked=True)
    if items:
        lead = f"{_closed(before)} {sentence.strip()}" if before else sentence.strip()
        return "\n".join([lead, *items])
    rows = table_rows(text, sentence, TABLE_ROWS)
    if rows:
        return "\n".join(rows)
    said = f"{_closed(before)} {_closed(sentence)}" if before else _closed(sentence)
    whole = section_list(text, sentence) if sentence in evidence.sections else []
    if whole:
        return "\n".join(whole)
    section = section_of(text, sentence)
    return f"{_closed(section)[:-1]} — {said}" if section else said


def _half(
    evidence: Evidence, passage_index: int, sentence: str, documents: Mapping[str, str] | None = None
) -> bool:
    """Whether ``sentence`` is half a sentence that cannot be quoted whole: a list item that
    finishes its lead-in's sentence ("uses a simpler layout with larger pictures") where the text
    it is quoted from (``_source``) holds no lead-in before it."""
    if not sentence[:1].islower():
        return False
    return lead_in_of(_source(evidence, passage_index, sentence, documents or {}), sentence) is None


# What a claim says: its content words, its numbers, and whether it says no.
Claimed = tuple[set[str], set[str], bool]


def _claimed(sentence: str) -> Claimed:
    return content_words(sentence), set(numbers(sentence)), negated(sentence)


def _repeats(claim: Claimed, said: list[Claimed]) -> bool:
    """Whether a claim says nothing that one claim already said does not (its content words and
    numbers, saying no or not alike): "You can cancel your subscription by going to Account > Plan >
    Cancel." after "To cancel your subscription, you need to go to Account > Plan > Cancel."."""
    words, nums, no = claim
    return bool(words) and any(words <= w and nums <= n and no == neg for w, n, neg in said)


def _said(body: str) -> frozenset[str]:
    """The lines of a quote as plain statements, without list markers or full stops: a table row
    quoted by itself and as an item of its lead-in's list are one statement, and so are an item
    quoted after its section's heading ("What you need — A 5G-capable phone.") and the heading
    with its list ("What you need:", "- A 5G-capable phone", …)."""
    out: set[str] = set()
    for line in body.splitlines():
        said = without_list_marker(line.strip()).rstrip(". ")
        heading, dash, item = said.partition(" — ")
        out.update((f"{heading}:", item) if dash and ":" not in heading else (said,) if said else ())
    return frozenset(out)


def _with_pointed(
    evidence: Evidence, best: list[tuple[int, str, float]], ranked: list[tuple[int, str, float]]
) -> list[tuple[int, str, float]]:
    """The quotes, each after the sentence (of ``ranked``) of the kept page it sends the reader
    to that says most of what the pointer's clause says is there (``POINTER_WORDS`` of its words at
    least), or else followed by that page's best: where a quote sends the reader, the answer goes
    first when it is found there ("How do I block my SIM if my phone is stolen?" was answered with
    the Device Care claim's steps, "1. For loss or theft, block your SIM and phone first (see Lost
    or stolen phone) …", before the page's "Sign in … and choose Settings > Block SIM …"). "The
    number of screens that can play at the same time depends on your plan (see Subscription
    plans)." says no number; the row of *Subscription plans* does. "Fee-free currency exchange
    allowances depend on your plan and are explained in Currency exchange." is answered by that
    page's row "Plan: Standard — Fee-free exchange per month: €1,000; …", not by its best sentence
    for "Do fee-free currency exchange allowances depend on my plan?", "Each plan includes a
    monthly amount you can exchange with no fee."."""
    titles = {p.title for p in evidence.passages}
    out: list[tuple[int, str, float]] = []
    for b in best:
        own = evidence.passages[b[0]].title
        after: list[tuple[int, str, float]] = []
        for title in references(b[1], titles - {own}):
            page = [r for r in ranked if evidence.passages[r[0]].title == title]
            promised = content_words(reference_clause(b[1], title)) - content_words(title)
            said = [len(promised & content_words(r[1])) for r in page]
            best_said = max(said, default=0)
            if best_said >= POINTER_WORDS:  # says what the pointer promises: the answer, first
                if (pointed := page[said.index(best_said)]) not in out:
                    out.append(pointed)
            elif page and page[0] not in out:
                after.append(page[0])
        out.extend(x for x in [b, *after] if x not in out)
    return out


def queued_ms(task: DomainTask, now: datetime) -> float:
    """How long the task waited between the router building it and this replica starting it: the
    JetStream store, the wait for a free replica, a redelivery after a worker died. Read from two
    hosts' clocks, so never below 0; a wait that grows while the agents' times do not means the
    domain needs more replicas."""
    return round(max(0.0, (now - task.created_at).total_seconds() * 1000), 2)


class RetrievalFailed(Exception):
    """The retriever could not be reached or answered with an error."""


class DomainPipeline:
    def __init__(
        self,
        domain: DomainDefinition,
        settings: DomainSettings,
        model: ChatModel,
        searcher: Searcher,
        grader: Grader,
        verifier: Verifier,
        publish_delta: PublishDelta,
        pages: Mapping[str, str] | None = None,
        documents: Mapping[str, str] | None = None,
    ) -> None:
        """``pages``: the doc id of each page of the domain's knowledge by its title, for the pages
        the retrieved passages send the reader to (``_follow``); ``documents``: the text of each
        page by its title, which a revision quotes lists and steps from whole (``_quoted``)."""
        self.domain = domain
        self.pages = dict(pages or {})
        self.documents = dict(documents or {})
        self.settings = settings
        self.model = model
        self.rewriter = Rewriter()
        self.searcher = searcher
        self.grader = grader
        self.verifier = verifier
        self.publish_delta = publish_delta

    def _usage(self, messages: list[dict[str, str]], completion_tokens: int) -> dict[str, object]:
        """Usage and cost of one generation. Prompt tokens are estimated (4 characters a token):
        streamed chat completions do not report them on every server."""
        prompt_tokens = sum(len(m["content"]) for m in messages) // 4
        gen = self.domain.generation
        cost = (
            prompt_tokens * gen.price_per_1k_prompt_tokens
            + completion_tokens * gen.price_per_1k_completion_tokens
        ) / 1000
        m = get_metrics()
        attrs = {"domain": self.domain.name, "model": self.model.model}
        m.tokens.add(prompt_tokens, {**attrs, "kind": "prompt"})
        m.tokens.add(completion_tokens, {**attrs, "kind": "completion"})
        return {
            "usage": Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens),
            "cost": round(cost, 6),
        }

    def _answer(self, task: DomainTask, **fields: object) -> DomainAnswer:
        return DomainAnswer(
            query_id=task.query_id,
            conversation_id=task.conversation_id,
            tenant_id=task.tenant_id,
            deadline=task.deadline,
            task_id=task.task_id,
            domain=task.domain,
            sub_query=task.sub_query,
            model=self.model.model,
            attempt=_attempt.get(),
            **fields,
        )

    async def run(self, task: DomainTask, attempt: int = 1) -> DomainAnswer:
        """Answer one task; ``attempt`` > 1 when the task was redelivered after a worker died."""
        _attempt.set(attempt)
        now = utcnow()
        remaining = (task.deadline - now).total_seconds() - 0.1
        timings: dict[str, float] = {"queued": queued_ms(task, now)}
        if remaining <= 0:
            error = "the deadline passed before work began"
            return self._answer(task, status="failed", text="", error=error, timings_ms=timings)
        streamed: list[str] = []
        try:
            async with asyncio.timeout(remaining):
                answer = await self._run(task, timings, streamed)
            for hop, ms in answer.timings_ms.items():
                get_metrics().hop_duration.record(ms, {"hop": hop, "domain": task.domain})
            return answer
        except TimeoutError:
            return self._answer(
                task,
                status="failed",
                text=" ".join(streamed),
                error=f"the {self.domain.name} domain ran out of time at the deadline",
                timings_ms=timings,
            )
        except (ModelUnavailable, RetrievalFailed) as exc:
            return self._answer(task, status="failed", text="", error=str(exc), timings_ms=timings)

    async def _run(self, task: DomainTask, timings: dict[str, float], streamed: list[str]) -> DomainAnswer:
        seq = 0

        async def emit(text: str, done: bool = False, revision: bool = False) -> None:
            nonlocal seq
            await self._emit(task, seq, text, done, revision)
            seq += 1

        def lap(name: str, since: float) -> float:
            timings[name] = round(timings.get(name, 0.0) + (time.perf_counter() - since) * 1000, 2)
            return time.perf_counter()

        t = time.perf_counter()
        with tracer.start_as_current_span("rewrite"):
            queries = self.rewriter.rewrite(task.sub_query, task.history)
        t = lap("rewrite", t)
        question = queries[-1]  # the self-contained form when the rewriter joined a follow-up
        with tracer.start_as_current_span("embed") as span:
            qvec = from_message(task.embedding, question)  # the router's vector, if it is of this text
            reused = qvec is not None
            if qvec is None:
                qvec = await asyncio.to_thread(self.grader.embedder.encode_one, question)
            else:  # and its token vectors, if they came with it: coverage needs no model run
                count = self.grader.embedder.token_count(question)
                rows = tokens_from_message(task.embedding, question, count)
                if rows is not None:
                    self.grader.tokens.seed(question, rows)
                span.set_attribute("accel.embedding.tokens_reused", rows is not None)
            span.set_attribute("accel.embedding.reused", reused)
        t = lap("embed", t)
        routed = task.embedding.model_copy(update={"tokens": None}) if task.embedding else None
        if reused and routed is not None:  # the retriever needs the vector, not the token vectors
            carried = {question: routed}
        else:  # the router's vector, if any, is of the original sub-query: the retriever checks
            carried = {q: routed for q in queries if routed is not None}
            carried[question] = to_message(question, qvec)
        with tracer.start_as_current_span("retrieve") as span:
            try:
                passages = await self.searcher.run(
                    queries,
                    domain=task.domain,
                    tenant=task.tenant_id,
                    query_id=task.query_id,
                    embeddings=carried,
                    score_against=question,
                )
            except RetrievalFailed:
                raise
            except Exception as exc:
                raise RetrievalFailed(f"retrieval failed: {type(exc).__name__}: {exc}") from exc
            followed = await self._follow(task, question, passages, carried.get(question))
            passages += followed
            span.set_attribute("accel.retrieval.queries", len(queries))
            span.set_attribute("accel.retrieval.hits", len(passages))
            span.set_attribute("accel.retrieval.followed", [p.doc_id for p in followed])
        t = lap("retrieve", t)
        with tracer.start_as_current_span("grade") as span:
            threaded = self.grader.needs_model(question, passages)
            span.set_attribute("accel.grade.threaded", threaded)
            if threaded:  # a model run: off the event loop
                evidence = await asyncio.to_thread(
                    self.grader.grade, question, passages, question_vector=qvec
                )
            else:
                evidence = self.grader.grade(question, passages, question_vector=qvec)
            if len(queries) > 1:  # a follow-up joined to what it follows: answers must be about it
                evidence.focus = frozenset(content_words(queries[0]))
            span.set_attribute("accel.grade.kept", len(evidence.passages))
            span.set_attribute("accel.grade.answerability", evidence.answerability)
            span.set_attribute("accel.grade.sentences_embedded_here", evidence.computed)
            span.set_attribute("accel.grade.reason", evidence.reason)
        t = lap("grade", t)
        if not evidence.passages or not evidence.answerable:
            text = prompts.abstention(self.domain, task.sub_query)
            await emit(text, done=True)
            return self._answer(
                task, status="abstained", text=text, timings_ms=timings, support=0.0, reason=evidence.reason
            )

        messages = prompts.build_messages(self.domain, task.sub_query, evidence.passages, task.history)
        gen = self.domain.generation
        kept: list[Verdict] = []
        dropped: list[Verdict] = []
        buffer = ""
        produced = 0
        verify_ms = 0.0

        focus_floor = (float(evidence.sims.max()) if len(evidence.sims) else 0.0) - self.settings.claim_focus
        said: dict[str, bool] = {}  # each sentence said: whether its evidence says more than the question
        held: list[Verdict] = []  # sentences that claim nothing, until a claim follows them
        lexical: list[Claimed] = []  # what each claim said

        async def consider(sentence: str) -> None:
            nonlocal verify_ms
            v0 = time.perf_counter()
            verdict = self.verifier.check(sentence, evidence)  # lexical, tens of µs: no thread hop
            if verdict.sentence in said or any(v.sentence == verdict.sentence for v in held):
                return  # said already: a small model repeats itself
            claim = _claimed(verdict.sentence)
            if _repeats(claim, lexical):
                return  # said already in other words
            if verdict.supported and verdict.refs and focus_floor > -1:
                sim = evidence.similarity_of(verdict.sentence)  # a copied sentence: known already
                if sim is None:
                    vector = await asyncio.to_thread(
                        self.grader.embedder.encode, [verdict.sentence], recent=False
                    )
                    sim = float(vector[0] @ qvec)
                if sim < focus_floor:  # true, but not what was asked
                    verdict = Verdict(verdict.sentence, False, verdict.support)
            verify_ms += (time.perf_counter() - v0) * 1000
            if not verdict.supported:
                dropped.append(verdict)
                return
            if not verdict.refs:  # no claim ("Yes.", "No, no, no."): said only before one
                held.append(verdict)
                return
            lexical.append(claim)
            for v in [*held, verdict]:
                text = f"{v.sentence} [{v.refs[0]}]" if v.refs else v.sentence
                kept.append(Verdict(text, True, v.support, v.refs, v.tells))
                said[v.sentence] = v.tells
                streamed.append(text)
                await emit(text + " ")
            held.clear()

        async def pieces() -> AsyncIterator[str]:
            """The answer as it comes: token deltas when the caller streams, else the whole answer
            in one response (nobody renders the tokens, and reading one event a token is most of
            a domain's CPU on a fast model)."""
            nonlocal produced
            tokens, temperature, penalty = gen.max_tokens, gen.temperature, gen.frequency_penalty
            if task.stream_subject:
                async for delta in self.model.stream(
                    messages, max_tokens=tokens, temperature=temperature, frequency_penalty=penalty
                ):
                    produced += 1
                    yield delta
                return
            done = await self.model.complete(
                messages, max_tokens=tokens, temperature=temperature, frequency_penalty=penalty
            )
            produced = done.completion_tokens or len(done.text) // 4
            yield done.text

        t_gen = time.perf_counter()
        with tracer.start_as_current_span("generate") as span:
            span.set_attribute("gen_ai.request.model", self.model.model)
            span.set_attribute("accel.streamed", task.stream_subject is not None)
            async for delta in pieces():
                if "ttft" not in timings:
                    timings["ttft"] = round((time.perf_counter() - t_gen) * 1000, 2)
                    span.set_attribute("accel.ttft_ms", timings["ttft"])
                buffer += delta
                *complete, buffer = _BOUNDARY.split(buffer)
                for sentence in complete:
                    await consider(sentence)
            if buffer.strip() and not cut_off(buffer):
                await consider(buffer)
            span.set_attribute("gen_ai.usage.output_tokens", produced)
        timings["generate"] = round((time.perf_counter() - t_gen) * 1000 - verify_ms, 2)
        timings["verify"] = round(verify_ms, 2)
        claims = [
            v for v in [*kept, *dropped] if v.refs or not v.supported
        ]  # sentences that assert something
        support = round(len([v for v in claims if v.supported]) / len(claims), 4) if claims else 0.0
        with tracer.start_as_current_span("verify") as span:
            span.set_attribute("accel.verify.kept", len(kept))
            span.set_attribute("accel.verify.dropped", len(dropped))
        if (
            not any(v.refs for v in kept)
            or (asks_for_number(question) and not any(numbers(sentence) for sentence in said))
            or all(
                not tells or says_nothing_new(s, content_words(s), numbers(s), evidence)
                for s, tells in said.items()
            )
        ):  # nothing left, no number where one was asked for, or only the question said back
            revise = partial(emit, revision=bool(streamed))  # the revision replaces what was streamed
            return await self._revise(
                task, evidence, timings, revise, support, self._usage(messages, produced)
            )
        await emit("", done=True)
        refs = sorted({r for v in kept for r in v.refs})
        return self._answer(
            task,
            status="answered",
            text=" ".join(v.sentence for v in kept),
            citations=self._citations(evidence, refs),
            timings_ms=timings,
            support=support,
            **self._usage(messages, produced),
        )

    async def _follow(
        self, task: DomainTask, question: str, passages: list[Passage], embedding: QueryEmbedding | None
    ) -> list[Passage]:
        """The passages of the pages the best retrieved sentences send the reader to ("… depends on
        your plan (see Subscription plans).") when none of those pages was retrieved: one more
        search, on those pages alone. [] when no best sentence points to an unretrieved page."""
        retrieved = {p.doc_id for p in passages}
        scored = [(s.score, s.text) for p in passages for s in p.sentences or []]
        wanted = [self.pages[t] for t in pointed_titles(scored, self.pages) if self.pages[t] not in retrieved]
        if not wanted:
            return []
        try:
            return await self.searcher.fetch(
                question, wanted, domain=task.domain, tenant=task.tenant_id, query_id=task.query_id,
                embedding=embedding,
            )  # fmt: skip
        except Exception:  # what was retrieved still answers, without the page it points to
            log.warning("could not fetch %s for query %s", wanted, task.query_id, exc_info=True)
            return []

    async def _revise(
        self,
        task: DomainTask,
        evidence: Evidence,
        timings: dict[str, float],
        emit: Callable[[str, bool], Awaitable[None]],
        support: float,
        usage: dict[str, object],
    ) -> DomainAnswer:
        """The one revision: answer with the evidence sentences themselves, or abstain. It quotes the
        best sentence (when it clears the grader's similarity floor, alone or read on its page) and
        the next best when that one clears ``quote_threshold`` too, alone: on our QA set the best
        alone held the expected fact in 60% of answers, the two in 69%. Read on its page, the
        next best clears the threshold in many more answers, most often with something not asked
        ("We reply within 10 business days." after the deadline for a dispute). Half a sentence
        whose lead-in the text it is quoted from (its page, else its passage) does not hold is
        never quoted.
        A table row that says a rare name of the question is quoted below the floor when it leads
        (``Evidence.best_sentences``)."""
        t = time.perf_counter()
        first, then = self.grader.answer_threshold, self.settings.quote_threshold
        ranked = evidence.best_sentences(len(evidence.sentences), floor=first)
        ranked = [r for r in ranked if not _half(evidence, r[0], r[1], self.documents)]
        bars = [first, *[max(first, then)] * (EXTRACTIVE_SENTENCES - 1)]
        quoted = [  # the first on its page (``Evidence.contexts``), the next for what it says alone
            b
            for n, (b, bar) in enumerate(zip(ranked, bars, strict=False))
            if (b[2] if not n else evidence.similarity_of(b[1]) or 0.0) >= bar
            or (not n and evidence.names_rare(b[1]))
        ]
        best = _with_pointed(evidence, quoted, ranked)
        timings["revise"] = round((time.perf_counter() - t) * 1000, 2)
        if not best:
            text = prompts.abstention(self.domain, task.sub_query)
            await emit(text, True)
            reason = (
                f"the model's draft failed verification (support {support:.2f}) and no evidence "
                f"sentence reaches the quoting floor {first:.2f}"
            )
            return self._answer(
                task, status="abstained", text=text, timings_ms=timings, support=support, reason=reason
            )
        bodies: dict[tuple[str, int], None] = {}
        for i, sentence, _ in best:
            body = _quoted(evidence, i, sentence, self.documents)
            if all(body != b for b, _ in bodies):  # two steps of one list: the list once
                bodies[body, i + 1] = None
        quoted_titles = {evidence.passages[r - 1].title.lower() for _, r in bodies}
        listed = list(bodies)
        said = [_said(b) for b, _ in listed]
        claims = [_claimed(b) for b, _ in listed]

        def repeats(n: int, m: int) -> bool:
            """Whether quote ``m`` says all ``n`` says in words and numbers ("Northwind Rewards
            points earned on returned items are removed from your balance." of "Points for
            returned items are removed."); of two that say the same, the first."""
            return _repeats(claims[n], [claims[m]]) and (m < n or not _repeats(claims[m], [claims[n]]))

        def holder(n: int) -> int | None:
            b = listed[n][0]
            return next(
                (
                    m
                    for m, (other, _) in enumerate(listed)
                    if b != other
                    and (b in other or said[n] < said[m] or (said[n] == said[m] and m < n) or repeats(n, m))
                ),
                None,
            )

        # a quote another holds (the sentence the other points back to, rows of the list another
        # quotes, the steps under a heading quoted with them, a sentence whose words another
        # says; of two that say the same, the first) is said once, by the other, in its place;
        # after the first, one that only points to a page quoted already is not said
        order: list[int] = []
        for n in range(len(listed)):
            seen = {n}
            while (m := holder(n)) is not None and m not in seen:
                seen.add(m)
                n = m
            if n not in order and not (order and (points_to(listed[n][0]) or "").lower() in quoted_titles):
                order.append(n)
        kept = [listed[n] for n in order]
        quotes = [f"{body} [{ref}]" for body, ref in kept]
        text = ("\n" if any("\n" in q for q in quotes) else " ").join(quotes)
        await emit(text, True)
        return self._answer(
            task,
            status="answered",
            text=text,
            citations=self._citations(evidence, sorted({ref for _, ref in kept})),
            timings_ms=timings,
            support=support,
            revised=True,
            **usage,
        )

    @staticmethod
    def _citations(evidence: Evidence, refs: list[int]) -> list[Citation]:
        return [
            Citation(
                ref=r,
                doc_id=evidence.passages[r - 1].doc_id,
                title=evidence.passages[r - 1].title,
                chunk=evidence.passages[r - 1].chunk,
                source=evidence.passages[r - 1].source,
                score=round(evidence.relevance[r - 1], 4),
            )
            for r in refs
        ]

    async def _emit(
        self, task: DomainTask, seq: int, text: str, done: bool = False, revision: bool = False
    ) -> None:
        if task.stream_subject:
            await self.publish_delta(
                task.stream_subject,
                TokenDelta(
                    query_id=task.query_id,
                    task_id=task.task_id,
                    domain=task.domain,
                    seq=seq,
                    text=text,
                    done=done,
                    attempt=_attempt.get(),
                    revision=revision,
                ),
            )
