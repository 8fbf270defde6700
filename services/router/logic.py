"""Routing decisions: guard, split, classify, and (only when unsure) ask a router LLM or the context.

Order of work for one query:

1. the guard rejects empty, oversize, non-text, injection and unsafe queries with a reason code;
2. the query and its candidate sub-queries are classified in one batch (fast path);
3. if sub-queries land confidently in two or more different domains, the plan has one route per
   domain, each with its own self-contained sub-query (parallel dispatch downstream); a generic
   follow-up ("how much?") opens no domain and goes with its neighbour;
4. otherwise the whole query is routed to its best class. When the top two classes are closer than
   the calibrated margin, the fast path is unsure, and:
   - a follow-up ("and the hotels there?") is re-read with the previous turn (path ``context``);
   - else the router LLM, if configured, chooses between the candidate domains and "none" (path
     ``llm``);
   - else the fast path's best guess stands.
5. a short question still out of scope that names a compound term only one domain's texts use
   ("Is there a sleep timer?") goes to that domain when it is the closest (``_named``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from contracts import DomainRoute, QueryEmbedding, RouteDecision, Turn
from contracts.messages import RoutePath, new_id
from services.router import guard
from services.router.classifier import OOS, DomainClassifier, Prediction, compound_terms
from services.router.language import LanguageGuard
from services.router.segment import asks_something, context, cut, is_question
from shared.embeddings import to_message
from shared.inference import ChatModel, ModelUnavailable
from shared.text import courtesy, following, stem, words

log = logging.getLogger(__name__)

SEGMENT_CONFIDENCE = 0.5
SIBLING_MAX_OOS = 0.9
SIBLING_DOMINANCE = 0.6
# A part out of scope is declined only when it is a question about something: "what is the capital
# of Australia?" (or one word no domain uses: "what is photosynthesis?"), not "Hi!", "thanks a lot",
# "can you help me?" or "please explain step by step".
DECLINED_MIN_WORDS = 2
_FOLLOW_UP_WORDS = 3
NAMED_MAX_WORDS = 4  # content words, at most, of a question that asks about the term it names
_FOLLOW_UP = re.compile(
    r"^\s*(and|what about|how about|also|same|ok|okay|then)\b|\b(there|it|that|those|them|this one|these)\b",
    re.IGNORECASE,
)
_CONTEXT_TURNS = 3  # previous questions a follow-up may be read with, while each was a follow-up


def _follows(question: str) -> bool:
    """Whether an earlier question was itself a follow-up: it points back and says too little to
    stand alone ("and the Unlimited one?")."""
    return _FOLLOW_UP.search(question) is not None and len(words(question)) <= _FOLLOW_UP_WORDS


@dataclass
class Outcome:
    decision: RouteDecision
    routes: list[DomainRoute]
    llm_called: bool = False
    llm_ms: float = 0.0
    segments: list[str] = field(default_factory=list)
    tier: int = 0
    vectors: dict[str, np.ndarray] = field(default_factory=dict)  # full-model vectors by text

    def embedding(
        self, route: DomainRoute, tokens: Callable[[str], np.ndarray | None] | None = None
    ) -> QueryEmbedding | None:
        """The router's vector of a route's sub-query, to travel with its task (None if not computed),
        with its token vectors when ``tokens`` (the embedder's recent ones) still has them."""
        vector = self.vectors.get(route.sub_query)
        if vector is None:
            return None
        return to_message(route.sub_query, vector, tokens(route.sub_query) if tokens else None)


class RouterLLM:
    """Asks a chat model which domain (or none) a query belongs to, among the fast path's candidates."""

    def __init__(self, model: ChatModel, max_tokens: int = 8) -> None:
        self.model = model
        self.max_tokens = max_tokens

    async def choose(
        self, text: str, candidates: list[str], descriptions: dict[str, str], allow_none: bool = True
    ) -> str | None:
        """The candidate the model names, or None (it said none, or named no candidate)."""
        options = "\n".join(f"- {c}: {descriptions[c]}" for c in candidates)
        none = ", or none if no service fits" if allow_none else ""
        messages = [
            {
                "role": "system",
                "content": "You route customer questions. Reply with exactly one word: the name of the "
                f"service that should answer{none}.\nServices:\n" + options,
            },
            {"role": "user", "content": text},
        ]
        out = await self.model.complete(messages, max_tokens=self.max_tokens, temperature=0.0)
        answer = out.text.strip().lower()
        for c in sorted(candidates, key=answer.find):
            if c in answer:
                return c
        return None


def _joined(parts: list[str]) -> str:
    """One sub-query from the parts that go to one domain, each kept apart by its own punctuation."""
    return " ".join(p if p[-1:] in ".?!;:" or i == len(parts) - 1 else p + "," for i, p in enumerate(parts))


def _agreement(rows: np.ndarray) -> np.ndarray:
    """One probability row for parts that are about one thing: the normalised geometric mean of
    theirs, so a class must have the support of every part (a product of experts)."""
    if len(rows) == 1:
        return rows[0]
    p = np.exp(np.log(np.clip(rows, 1e-9, None)).mean(axis=0))
    return p / p.sum()


def _units(dependent: np.ndarray, background: np.ndarray) -> list[list[int]]:
    """The parts (indices) decided together: a run of background parts with the part after it; a
    generic follow-up never ends such a run (it leans on the statement) and stands alone."""
    units: list[list[int]] = []
    current: list[int] = []
    for i, (leans, stated) in enumerate(zip(dependent, background, strict=True)):
        if leans and current:
            units.append(current)
            current = []
        current.append(i)
        if leans or not stated:
            units.append(current)
            current = []
    return [*units, current] if current else units


def _neighbour(chosen: list[str | None], k: int) -> str | None:
    """The domain of the nearest unit before unit ``k`` that has one, else of the nearest after it."""
    before = [d for d in chosen[:k] if d is not None]
    after = [d for d in chosen[k + 1 :] if d is not None]
    return before[-1] if before else (after[0] if after else None)


def _grouped(parts: list[str], units: list[list[int]], chosen: list[str | None]) -> dict[str, list[str]]:
    """The parts each domain is asked, in order, from the units it was chosen for."""
    routed: dict[str, list[str]] = {}
    for unit, domain in zip(units, chosen, strict=True):
        if domain is not None:
            routed.setdefault(domain, []).extend(parts[i] for i in unit)
    return routed


ELLIPTICAL_CONFIDENCE = 0.8


def _elliptical(part: str, row: np.ndarray) -> bool:
    """Whether a part after the first says at most one word of its own (numbers count) and no class
    is ``ELLIPTICAL_CONFIDENCE`` sure of it ("is there a charge?", e-commerce 0.59; "what's the
    excess?", out of scope 0.58): it asks about what the part before it said. A part a domain claims
    firmly ("where is my parcel?", 0.98) opens that domain; one firmly out of scope may be declined."""
    return len({stem(w) for w in words(part)}) <= 1 and float(row.max()) < ELLIPTICAL_CONFIDENCE


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


class PredictBatcher:
    """Classifies the texts of concurrent queries in one batch, off the event loop.

    While one batch is being classified (in a worker thread) new queries queue up; the next batch
    takes all of them at once. Nothing waits for a batch to fill, so a lone query pays no delay,
    and under load the embedding model and the TF-IDF/logistic steps run on batches, which costs
    less per query than one at a time. A batch whose texts the embedder has seen lately needs no
    model run and is classified on the event loop (well under a millisecond).
    """

    def __init__(self, classifier: DomainClassifier, max_texts: int = 64) -> None:
        self.classifier = classifier
        self.max_texts = max_texts
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future[Prediction]]] | None = None
        self._worker: asyncio.Task[None] | None = None
        self.batches = 0
        self.batched_texts = 0

    def _embedded(self, texts: list[str]) -> bool:
        """Whether the embedder keeps the vectors of all ``texts`` (seen lately)."""
        recent = self.classifier.embedder.recent
        return all(recent.has(t) for t in texts)

    async def predict(self, texts: list[str]) -> Prediction:
        if self._queue is None or self._worker is None or self._worker.done():
            self._queue = asyncio.Queue()
            self._worker = asyncio.create_task(self._run(self._queue))
        future: asyncio.Future[Prediction] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((texts, future))
        return await future

    async def close(self) -> None:
        """Stop the worker (it waits for the next batch forever); predictions still waiting are
        cancelled. The next ``predict`` starts a new worker."""
        worker, queue, self._worker, self._queue = self._worker, self._queue, None, None
        if worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        while queue is not None and not queue.empty():
            queue.get_nowait()[1].cancel()

    async def _run(self, queue: asyncio.Queue[tuple[list[str], asyncio.Future[Prediction]]]) -> None:
        while True:
            batch = [await queue.get()]
            size = len(batch[0][0])
            while not queue.empty() and size < self.max_texts:
                batch.append(queue.get_nowait())
                size += len(batch[-1][0])
            texts = [t for item, _ in batch for t in item]
            try:
                if self._embedded(texts):  # no model run: a thread hop would cost more than the work
                    prediction = self.classifier.predict_tiered(texts)
                else:
                    prediction = await asyncio.to_thread(self.classifier.predict_tiered, texts)
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except asyncio.CancelledError:  # closed mid-batch: its callers are not left waiting
                for _, future in batch:
                    future.cancel()
                raise
            self.batches += 1
            self.batched_texts += len(texts)
            start = 0
            for item, future in batch:
                end = start + len(item)
                vectors = {t: v for t, v in prediction.vectors.items() if t in item}
                rows = Prediction(prediction.probs[start:end], 2 if vectors else 1, vectors)
                start = end
                if not future.done():
                    future.set_result(rows)


class Router:
    def __init__(
        self,
        classifier: DomainClassifier,
        max_chars: int = 2000,
        llm: RouterLLM | None = None,
        segment_confidence: float = SEGMENT_CONFIDENCE,
        language: LanguageGuard | None = None,
    ) -> None:
        """``language``: tells a query in another language than the domains' from one that no
        domain covers (``services.router.language``); None: every such query is out of scope."""
        self.segment_confidence = segment_confidence
        self.classifier = classifier
        self.max_chars = max_chars
        self.llm = llm
        self.language = language
        self.batcher = PredictBatcher(classifier)

    @property
    def margin(self) -> float:
        return self.classifier.calibration.unsure_margin

    def _scores(self, probs: np.ndarray) -> dict[str, float]:
        return {c: round(float(p), 4) for c, p in zip(self.classifier.classes, probs, strict=True)}

    def _ranked(self, probs: np.ndarray) -> list[tuple[str, float]]:
        order = np.argsort(-probs)
        return [(self.classifier.classes[i], float(probs[i])) for i in order]

    def fast(self, text: str) -> tuple[Outcome, bool]:
        """The fast path alone: (outcome, unsure)."""
        t0 = time.perf_counter()
        rejected, parts, background = self._prepare(text, t0)
        if rejected is not None:
            return rejected, False
        first = self.classifier.predict_tiered(parts) if len(parts) > 1 else None
        if first is not None and (split := self._split(text, parts, background, first, t0)) is not None:
            return split, False
        whole = self.classifier.predict_tiered([text], self._composed(text, parts, first))
        return self._whole(text, parts, whole, first, t0)

    def _composed(self, text: str, parts: list[str], first: Prediction | None) -> dict[str, np.ndarray]:
        """A stand-in vector for a query that was cut into parts but not split: the token-weighted
        mean of its parts' vectors. MiniLM mean-pools its token states, so this is the query's own
        pooling minus the attention across parts. It spares one embedding on these queries (the
        slowest: p99 22 → 15-16 ms on our set) and changed 7 of 660 decisions, 2 right, 2 wrong and 3
        wrong either way. It only classifies: downstream hops embed the query for real."""
        if first is None:
            return {}
        vectors = {t.strip(): v for t, v in first.vectors.items()}
        if not all(p in vectors for p in parts):
            return {}  # tier 1 decided some part: no full-model vector to compose from
        tokens = self.classifier.embedder.tokenizer
        weights = np.array([len(tokens.encode(p).ids) for p in parts], dtype=np.float32)
        v = (np.stack([vectors[p] for p in parts]) * weights[:, None]).sum(axis=0)
        return {text: v / max(float(np.linalg.norm(v)), 1e-9)}

    async def fast_async(self, text: str) -> tuple[Outcome, bool]:
        """The fast path, with the classification batched with other queries in flight."""
        t0 = time.perf_counter()
        rejected, parts, background = self._prepare(text, t0)
        if rejected is not None:
            return rejected, False
        first = await self.batcher.predict(parts) if len(parts) > 1 else None
        if first is not None and (split := self._split(text, parts, background, first, t0)) is not None:
            return split, False
        composed = self._composed(text, parts, first)
        if composed:  # nothing to embed: its parts' vectors make the whole's
            whole = self.classifier.predict_tiered([text], composed)
        else:
            whole = await self.batcher.predict([text])
        return self._whole(text, parts, whole, first, t0)

    def _prepare(self, text: str, t0: float) -> tuple[Outcome | None, list[str], list[bool]]:
        """The guard's rejection, or the query's candidate parts (the query itself when it has one) and
        which of them are background to the part after them (see ``segment.context``)."""
        verdict = guard.check(text, self.max_chars)
        if verdict is not None:
            decision = RouteDecision(
                rejected=True,
                reason_code=verdict.reason_code,
                reason=verdict.reason,
                path="guard",
                decision_ms=_ms(t0),
            )
            return Outcome(decision, []), [], []
        cuts = cut(text)
        if len(cuts) < 2:
            return None, [text.strip()], [False]
        parts, leads = [p for p, _ in cuts], [lead for _, lead in cuts]
        return None, parts, context(parts, leads)

    def _split(
        self, text: str, parts: list[str], background: list[bool], prediction: Prediction, t0: float
    ) -> Outcome | None:
        """The routes of a query whose parts land in two or more domains (or of one question after a
        statement that points elsewhere, see ``_split_routes``), or None. The whole query is then
        never embedded: its per-domain scores are each domain's best part."""
        probs = prediction.probs
        scores = self._scores(probs.max(axis=0))
        vectors = {t.strip(): v for t, v in prediction.vectors.items()}
        dependent = np.zeros(len(parts), dtype=bool)
        known = [i for i, p in enumerate(parts) if p in vectors]  # tier 1 computes no full vectors
        if known:
            dependent[known] = self.classifier.dependent(np.stack([vectors[parts[i]] for i in known]))
        dependent[1:] |= [_elliptical(p, row) for p, row in zip(parts[1:], probs[1:], strict=True)]
        routes, declined = self._split_routes(
            parts, probs, scores, dependent, np.array(background, dtype=bool), text.strip()
        )
        if not routes:
            return None
        if len(routes) > 1:
            reason = "split into " + "; ".join(f"{r.domain}: {r.sub_query!r}" for r in routes)
        elif declined:
            reason = f"{routes[0].domain}: {routes[0].sub_query!r}"
        else:
            reason = f"{routes[0].domain}: named by the question after a statement that points elsewhere"
        if declined:
            reason += "; no configured domain covers " + ", ".join(repr(d) for d in declined)
        decision = RouteDecision(
            rejected=False, reason=reason, scores=scores, threshold=self.margin, path="fast",
            decision_ms=_ms(t0), declined=declined,
        )  # fmt: skip
        return Outcome(decision, routes, segments=parts, tier=prediction.tier, vectors=vectors)

    def _whole(
        self, text: str, parts: list[str], whole: Prediction, first: Prediction | None, t0: float
    ) -> tuple[Outcome, bool]:
        """The decision on the whole query (one domain, or out of scope): (outcome, unsure)."""
        scores = self._scores(whole.probs[0])
        (best, p1), (_second, p2) = self._ranked(whole.probs[0])[:2]
        outcome = self._single(text, best, p1, p2, scores, "fast", _ms(t0))
        outcome.segments = parts
        outcome.tier = max(whole.tier, first.tier if first is not None else 0)
        outcome.vectors = {
            t.strip(): v for p in (first, whole) if p is not None for t, v in p.vectors.items()
        }
        return outcome, (p1 - p2) < self.margin

    def _split_routes(
        self,
        parts: list[str],
        rows: np.ndarray,
        scores: dict[str, float],
        dependent: np.ndarray,
        background: np.ndarray,
        text: str,
    ) -> tuple[list[DomainRoute], list[str]]:
        """Routes when the parts of a query belong to two or more domains, else none; and the parts
        declined, which no domain covers.

        A ``background`` part (a statement about the asker before their question: "I'm a freelance
        lawyer and bill 120k a year. Should I make quarterly tax payments?") opens no domain of its
        own: it is one unit with the part after it, decided by the mean of their class
        probabilities, and it goes into that unit's sub-query. A unit is anchored when its best
        class is a domain at ``segment_confidence`` or more. Once a query has an anchor, a sibling
        unit whose out-of-scope probability is below ``SIBLING_MAX_OOS`` joins the domain that
        dominates it among the domains alone (``SIBLING_DOMINANCE``): people rarely mix a service
        question with an unrelated one. A ``dependent`` part (a generic follow-up such as "how
        much?") takes no domain of its own: it goes with the unit before it (or after it, when it
        comes first), into that sub-query; after background, it leans on the statement ("I got a
        loan offer email, is it real?"). When a statement and one question are the whole query and
        their mean is unsure (they point to different domains), the question decides, and its one
        route takes the whole ``text``. A unit that is a question about something (see
        ``_about_something``; not a request such as "please explain step by step", which says how
        to answer) and is out of scope with ``SIBLING_MAX_OOS`` or more goes to no domain and is
        declined, when every routed sub-query asks something by itself too ("What is the baggage
        allowance on economy, and who won the world cup in 2018?"): the answer says that no domain
        covers it, rather than a domain being asked it.
        """
        units = _units(dependent, background)
        oos = self.classifier.classes.index(OOS)
        # what decides a unit: its parts that name a domain ("is it real?" on its own is out of scope)
        said = [i for i, row in enumerate(rows) if not dependent[i] and int(np.argmax(row)) != oos]
        framed = len(units) == 1 and bool(background.any())  # only a statement about the asker and a question
        asks = [i for i in said if not background[i]]
        agreed = np.stack([_agreement(rows[[i for i in u if i in said] or u]) for u in units])
        asked = framed and bool(asks) and float(agreed[0].max()) < self.segment_confidence
        if asked:  # statement and question disagree ("I'm flying to Lisbon on Friday. What is the EUR
            agreed = rows[asks[-1:]]  # to USD rate?"): the question decides, the statement is context
        rows = agreed
        leaning = [all(dependent[i] for i in u) for u in units]
        domain_cols = [i for i in range(len(self.classifier.classes)) if i != oos]
        chosen: list[str | None] = []
        for row, leans in zip(rows, leaning, strict=True):
            (best, p), _ = self._ranked(row)[:2]
            chosen.append(best if best != OOS and p >= self.segment_confidence and not leans else None)
        if not any(chosen):
            return [], []
        for i, row in enumerate(rows):
            if chosen[i] is None and not leaning[i] and row[oos] < SIBLING_MAX_OOS:
                dom = row[domain_cols] / max(float(row[domain_cols].sum()), 1e-9)
                j = int(np.argmax(dom))
                if dom[j] >= SIBLING_DOMINANCE:
                    chosen[i] = self.classifier.classes[domain_cols[j]]
        for k in (k for k, leans in enumerate(leaning) if leans):
            chosen[k] = _neighbour(chosen, k)
        declining: dict[int, str] = {}
        for k, (unit, domain, row, leans) in enumerate(zip(units, chosen, rows, leaning, strict=True)):
            if domain is None and not leans and not asked and row[oos] >= SIBLING_MAX_OOS:
                said_here = _joined([parts[i] for i in unit])
                if is_question(said_here) and self._about_something(said_here):
                    declining[k] = said_here
        if declining and not all(
            asks_something(_joined(ps)) for ps in _grouped(parts, units, chosen).values()
        ):
            declining = {}  # a fragment may lean on it: "Downloads limit reached, how do I free up space"
        declined = list(declining.values())
        # A unit neither routed nor declined is still part of what was asked ("how much is the" cut
        # from "… and how much is the Plus mobile plan?"): it goes with the unit before it (or
        # after it, when it comes first), into that sub-query, as a generic follow-up does.
        for k in range(len(units)):
            if chosen[k] is None and k not in declining:
                chosen[k] = _neighbour(chosen, k)
        routed = _grouped(parts, units, chosen)
        if asked and len(routed) == 1:
            ((domain, _),) = routed.items()
            return [
                DomainRoute(task_id=new_id(), domain=domain, sub_query=text, score=scores.get(domain, 0.0))
            ], []
        if len(routed) < 2 and not (routed and declined):
            return [], []
        return [
            DomainRoute(task_id=new_id(), domain=d, sub_query=_joined(ps), score=scores.get(d, 0.0))
            for d, ps in routed.items()
        ], declined

    def _about_something(self, question: str) -> bool:
        """Whether a question names something to be asked about: ``DECLINED_MIN_WORDS`` content
        words, or, in a whole question (ending in "?": not a fragment such as "Is click" cut from
        "Is click and collect available?"), one that none of the domains' texts uses ("What is
        photosynthesis?", not "Can you help me?")."""
        said = set(words(question))
        if len(said) >= DECLINED_MIN_WORDS:
            return True
        whole = question.rstrip().endswith("?")
        return whole and len(said) == 1 and stem(next(iter(said))) not in self.classifier.domain_stems

    def _single(
        self, text: str, best: str, p1: float, p2: float, scores: dict[str, float], path: RoutePath, ms: float
    ) -> Outcome:
        if best == OOS:
            domains = ", ".join(self.classifier.names)
            decision = RouteDecision(
                rejected=True,
                reason_code="out_of_scope",
                reason=f"no configured domain covers this query (out-of-scope {p1:.2f}); domains: {domains}",
                scores=scores,
                threshold=self.margin,
                path=path,
                decision_ms=ms,
            )
            return Outcome(decision, [])
        decision = RouteDecision(
            rejected=False,
            reason=f"{best} {p1:.2f} (next {p2:.2f}, unsure below a margin of {self.margin:.2f})",
            scores=scores,
            threshold=self.margin,
            path=path,
            decision_ms=ms,
        )
        route = DomainRoute(task_id=new_id(), domain=best, sub_query=text.strip(), score=scores.get(best, p1))
        return Outcome(decision, [route])

    async def decide(self, text: str, history: list[Turn] | None = None, use_llm: bool = True) -> Outcome:
        t0 = time.perf_counter()
        outcome, unsure = await self.fast_async(text)
        return await self.settle(text, outcome, unsure, history, use_llm, t0)

    async def settle(
        self,
        text: str,
        outcome: Outcome,
        unsure: bool,
        history: list[Turn] | None = None,
        use_llm: bool = True,
        t0: float | None = None,
    ) -> Outcome:
        """The decision after the fast path: its own when it was sure, else the context's or the router
        LLM's. Split from ``decide`` so a caller can fetch the history while the fast path runs. A
        greeting, thanks or goodbye that no domain claims is told apart (``courtesy``): taken as a
        follow-up, "ok thanks" would have had the last question answered again. So is, when it is
        rejected, a query in another language than the domains' (``language``)."""
        settled = await self._settle(text, outcome, unsure, history, use_llm, t0)
        d = settled.decision
        if d.rejected and d.reason_code == "out_of_scope" and (named := self._named(text, d)) is not None:
            return named
        if not (d.rejected and d.reason_code == "out_of_scope" and self.language is not None):
            return settled
        name = self.language.foreign(text)
        if name is None:
            return settled
        theirs = self.language.names()
        reason = (
            f"the query reads as {name}, and the domains answer questions in {theirs}: please ask in {theirs}"
        )
        return Outcome(d.model_copy(update={"reason_code": "language", "reason": reason}), [])

    async def _settle(
        self,
        text: str,
        outcome: Outcome,
        unsure: bool,
        history: list[Turn] | None,
        use_llm: bool,
        t0: float | None,
    ) -> Outcome:
        if self._unclaimed(outcome, unsure) and (kind := courtesy(text)) is not None:
            decision = outcome.decision.model_copy(
                update={
                    "rejected": True,
                    "reason_code": "courtesy",
                    "reason": f"a {kind}: nothing to look up",
                }
            )
            return Outcome(decision, [])
        t0 = time.perf_counter() if t0 is None else t0
        if not unsure:
            if history and self._refers_back(text, outcome):
                return await self._with_context(text, history, t0) or outcome
            return outcome
        scores = outcome.decision.scores
        if history and _FOLLOW_UP.search(text):
            contextual = await self._with_context(text, history, t0)
            if contextual is not None:
                return contextual
        if use_llm and self.llm is not None:
            ranked = [c for c, _ in self._ranked(np.array([scores[c] for c in self.classifier.classes]))]
            candidates = [c for c in ranked if c != OOS][:3]
            # The LLM settles what the fast path was unsure between: it may reject only when
            # out-of-scope was one of the two closest classes.
            allow_none = OOS in ranked[:2]
            t1 = time.perf_counter()
            try:
                choice = await self.llm.choose(
                    text, candidates, self.classifier.descriptions, allow_none=allow_none
                )
            except ModelUnavailable as exc:
                log.warning("router LLM unavailable, keeping the fast decision: %s", exc)
                return outcome
            llm_ms = round((time.perf_counter() - t1) * 1000, 3)
            total = round((time.perf_counter() - t0) * 1000, 3)
            if choice is None and not allow_none:
                best, why = ranked[0], "router LLM named no candidate, fast choice kept"
            else:
                best, why = choice or OOS, f"router LLM chose {choice or 'none'}"
            chosen = self._single(text, best, scores.get(best, 0.0), 0.0, scores, "llm", total)
            chosen.decision = chosen.decision.model_copy(
                update={"reason": f"fast path unsure; {why}: " + chosen.decision.reason}
            )
            chosen.llm_called, chosen.llm_ms = True, llm_ms
            chosen.vectors = outcome.vectors
            return chosen
        return outcome

    def _named(self, text: str, rejected: RouteDecision) -> Outcome | None:
        """A short question the classifier finds out of scope that names a compound term only one
        domain's texts use, routed to that domain when it is the closest: "Is there a sleep
        timer?" (media 0.25, out of scope 0.71; "A sleep timer stops playback after 5 to 60
        minutes."), "What is a pickup point?", "What are Liked songs?". Every word of such a term
        is everyday English, so the classifier, which learned a domain from 20 examples and the
        background from hundreds of everyday questions, reads the question as everyday; the term
        says whose it is. Every word of the question must be one the domain's texts use ("What
        is a round-up in cattle farming?" stays out of scope). Compound terms only (two content
        words side by side, or hyphenated): single words that one domain's texts use ("trip",
        "Amazon") routed out-of-scope questions on our set ("Is Amazon Prime worth it?" to
        media)."""
        asked = {stem(w) for w in words(text)}
        if len(asked) > NAMED_MAX_WORDS:
            return None
        terms = self.classifier.domain_terms
        said = sorted(t for t in compound_terms(text) if t in terms)
        owners = {terms[t] for t in said}
        scores = rejected.scores
        if len(owners) != 1 or not scores:
            return None
        domain = owners.pop()
        closest = max((c for c in scores if c != OOS), key=lambda c: scores[c], default=None)
        if domain != closest or not asked <= self.classifier.stems_of.get(domain, frozenset()):
            return None
        named = ", ".join(repr(t) for t in said if terms[t] == domain)
        decision = rejected.model_copy(
            update={
                "rejected": False,
                "reason_code": None,
                "reason": (
                    f"{domain}: the query names {named}, a term only {domain}'s texts use "
                    f"(out-of-scope {scores.get(OOS, 0.0):.2f}, {domain} {scores[domain]:.2f})"
                ),
            }
        )
        route = DomainRoute(task_id=new_id(), domain=domain, sub_query=text.strip(), score=scores[domain])
        return Outcome(decision, [route])

    @staticmethod
    def _refers_back(text: str, outcome: Outcome) -> bool:
        """Whether a text the fast path is sure no domain covers may still be a follow-up: it
        points back ("it", "there", "and …") and says too little to stand alone (at most
        ``_FOLLOW_UP_WORDS`` content words): "how heavy can it be?" after a question on cabin bags.
        The context path keeps it out of scope unless the two together are confidently a domain's."""
        d = outcome.decision
        return d.rejected and d.reason_code == "out_of_scope" and _follows(text)

    @staticmethod
    def _unclaimed(outcome: Outcome, unsure: bool) -> bool:
        """Whether no domain claims the text: the fast path found it out of scope, or was unsure
        (a team may configure a small-talk domain, which the fast path is then sure of)."""
        d = outcome.decision
        return d.reason_code == "out_of_scope" if d.rejected else unsure

    async def _with_context(self, text: str, history: list[Turn], t0: float) -> Outcome | None:
        """The text read after the previous question, when the two are confidently one domain's;
        and after the questions before that while each was itself a follow-up ("How much is the
        Plus plan?" → "and the Unlimited one?" → "Can I use it in Turkey?": the last two alone
        are mobile 0.65 against fintech 0.17, under the margin; all three 0.92)."""
        start = len(history) - 1
        while True:
            earlier = " ".join(turn.question for turn in history[start:])
            # A text no cache has seen: through the batcher, so that its model run does not hold
            # up the event loop (and the queries behind it) for several milliseconds.
            probs = (await self.batcher.predict([f"{earlier} {text}"])).probs[0]
            (best, p1), (_s, p2) = self._ranked(probs)[:2]
            if best != OOS and (p1 - p2) >= self.margin:
                break
            if not (start and len(history) - start < _CONTEXT_TURNS and _follows(history[start].question)):
                return None
            start -= 1
        ms = round((time.perf_counter() - t0) * 1000, 3)
        decision = RouteDecision(
            rejected=False,
            reason=f"{best} {p1:.2f} as a follow-up to {earlier!r}",
            scores=self._scores(probs),
            threshold=self.margin,
            path="context",
            decision_ms=ms,
        )
        route = DomainRoute(
            task_id=new_id(),
            domain=best,
            sub_query=following(text, earlier),
            score=p1,
        )
        return Outcome(decision, [route])
