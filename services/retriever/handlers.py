"""Retriever handlers: RetrievalRequest in, RetrievalResult out (request/reply)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import numpy as np
from faststream.nats import NatsRouter
from opentelemetry import trace

from contracts import Passage, RetrievalRequest, RetrievalResult, subjects
from services.retriever.sentences import SentenceVectors
from services.retriever.store import KnowledgeStore
from shared.broker import Handling
from shared.embeddings import Embedder, from_message

SERVICE = "retriever"


class UnknownDomain(ValueError):
    pass


@dataclass
class RetrieverState:
    store: KnowledgeStore
    embedder: Embedder
    domains: set[str]
    sentences: SentenceVectors | None = None


def retrieve(
    state: RetrieverState, req: RetrievalRequest, vector: np.ndarray | None = None
) -> tuple[list[Passage], bool]:
    """The passages for a request (blocking: store and model work), and whether the carried query
    vector (``vector``, if already decoded) was reused instead of embedding the query here."""
    if vector is None:
        vector = from_message(req.embedding, req.query)
    reused = vector is not None
    if vector is None:
        vector = state.embedder.encode_one(req.query)
    passages = state.store.search(req.tenant_id, req.domain, req.query, vector, req.top_k, req.doc_ids)
    if req.sentence_scores and state.sentences is not None:
        passages = state.sentences.annotate(passages, vector)
    return passages, reused


def build_handlers(state: RetrieverState) -> NatsRouter:
    nats = NatsRouter()
    current = Handling(nats)

    # Sequential: a request whose query vector came with it (every domain's) is answered without
    # awaiting anything, and FastStream's max_workers costs ~150 µs more a message (see
    # shared.broker.Spawner). Only a request without a vector (a hand-made one) waits for the
    # model in a thread, and holds up the requests behind it for those few milliseconds.
    @nats.subscriber(subjects.RETRIEVE_PATTERN.format(domain="*"), queue=SERVICE, title="retrieve")
    async def on_retrieve(req: RetrievalRequest) -> RetrievalResult:
        t0 = time.perf_counter()
        subject_domain = current.message.raw_message.subject.rsplit(".", 1)[-1]
        if req.domain != subject_domain or req.domain not in state.domains:
            raise UnknownDomain(
                f"domain {req.domain!r} (subject {subject_domain!r}) is not served; "
                f"known: {sorted(state.domains)}"
            )
        vector = from_message(req.embedding, req.query)
        if vector is not None:  # no model run: the search alone costs less than a thread hop
            passages, reused = retrieve(state, req, vector)
        else:
            passages, reused = await asyncio.to_thread(retrieve, state, req)
        span = trace.get_current_span()
        span.set_attribute("accel.retrieval.domain", req.domain)
        span.set_attribute("accel.retrieval.hits", len(passages))
        span.set_attribute("accel.embedding.reused", reused)
        return RetrievalResult(
            query_id=req.query_id,
            domain=req.domain,
            passages=passages,
            took_ms=round((time.perf_counter() - t0) * 1000, 3),
        )

    return nats
