"""Domain app factory: one process serves one configured domain."""

from __future__ import annotations

from faststream import FastStream
from pydantic import ValidationError

from contracts import RetrievalRequest, RetrievalResult, TokenDelta, subjects
from services.domain.agents import Grader, Searcher, Verifier
from services.domain.coverage import knowledge_documents
from services.domain.handlers import build_handlers
from services.domain.pipeline import DomainPipeline, RetrievalFailed
from services.domain.settings import DomainSettings
from shared.broker import Spawner, make_broker, request
from shared.domains import EMBEDDED_ENDPOINT, load_domains
from shared.embeddings import default_embedder
from shared.inference import ChatModel
from shared.service import build_app, service_name

SERVICE = "domain"


def create_app(settings: DomainSettings) -> FastStream:
    domain = load_domains(settings.domains_dir, only=[settings.domain])[settings.domain]
    endpoint = settings.model_endpoint or domain.generation.endpoint
    if endpoint == EMBEDDED_ENDPOINT:
        endpoint = settings.embedded_model_url
    model = ChatModel(  # a call on every query: the direct client (see shared/inference.py)
        endpoint, model=domain.generation.model, api_key=settings.model_api_key, client="direct"
    )
    broker = make_broker(settings.nats_url, f"{SERVICE}-{domain.name}")

    async def retrieve(req: RetrievalRequest, timeout: float) -> RetrievalResult:
        try:
            reply = await request(broker, req, subjects.retrieve(req.domain), timeout)
        except Exception as exc:
            raise RetrievalFailed(
                f"retriever did not answer within {timeout:.1f}s ({type(exc).__name__})"
            ) from exc
        try:
            return RetrievalResult.model_validate_json(reply)
        except ValidationError:
            raise RetrievalFailed(f"retriever error: {reply[:300]!r}") from None

    async def publish_delta(subject: str, delta: TokenDelta) -> None:
        await broker.publish(delta, subject)

    embedder = default_embedder()
    embedder.keep_recent(settings.embedding_cache)
    searcher = Searcher(retrieve, top_k=settings.top_k, timeout_s=settings.retrieve_timeout_s)
    documents = knowledge_documents(domain.knowledge_dir)
    knowledge = [doc.text for doc in documents]
    grader = Grader(
        embedder,
        min_relevance=settings.min_relevance,
        answer_threshold=settings.answer_threshold,
        coverage_threshold=settings.coverage_threshold,
        knowledge=knowledge,
    )
    if settings.warm_coverage:
        grader.warm(knowledge, [doc.title for doc in documents])
    verifier = Verifier(min_overlap=settings.verify_overlap, min_relevance=settings.claim_relevance)
    pages = {doc.title: doc.doc_id for doc in documents}
    texts = {doc.title: doc.text for doc in documents}
    pipeline = DomainPipeline(
        domain, settings, model, searcher, grader, verifier, publish_delta, pages, texts
    )
    work = Spawner(settings.max_concurrency)
    broker.include_router(
        build_handlers(
            pipeline, settings.max_concurrency, settings.task_ack_wait_s, settings.task_max_deliver, work
        )
    )

    async def shutdown() -> None:
        await work.drain()  # tasks being answered are answered (and acked) first
        await model.close()

    return build_app(
        broker,
        name=service_name(SERVICE, domain.name),
        subjects=[subjects.task(domain.name)],
        metadata={"domain": domain.name, "endpoint": endpoint, "model": domain.generation.model},
        on_shutdown=shutdown,
    )
