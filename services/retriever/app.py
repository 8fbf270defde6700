"""Retriever app factory: loads the store and (by default) ingests each domain's knowledge folder."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from faststream import FastStream

from contracts import subjects
from services.retriever.handlers import SERVICE, RetrieverState, build_handlers
from services.retriever.ingest import ingest_path
from services.retriever.sentences import SentenceVectors
from services.retriever.settings import RetrieverSettings
from services.retriever.stores import make_store
from shared.broker import make_broker
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.service import build_app, service_name

log = logging.getLogger(SERVICE)
DEFAULT_TENANT = "default"


def create_app(settings: RetrieverSettings | None = None) -> FastStream:
    settings = settings or RetrieverSettings()
    domains = load_domains(settings.domains_dir)
    embedder = default_embedder()
    embedder.keep_recent(settings.embedding_cache)
    store = make_store(settings)
    sentences = SentenceVectors(embedder, settings.index_dir)
    if settings.ingest_on_start:
        for name, d in domains.items():
            if d.knowledge_dir is not None and d.knowledge_dir.is_dir():
                report = ingest_path(
                    store,
                    embedder,
                    tenant=DEFAULT_TENANT,
                    domain=name,
                    path=d.knowledge_dir,
                    prune=True,
                    sentences=sentences,
                )
                log.info("%s", report.summary())
                for reason in report.skipped.values():
                    log.warning("skipped %s", reason)
        sentences.save()
        log.info("%d knowledge-base sentences embedded", len(sentences))
    state = RetrieverState(store=store, embedder=embedder, domains=set(domains), sentences=sentences)
    broker = make_broker(settings.nats_url, SERVICE)
    broker.include_router(build_handlers(state))
    return build_app(
        broker,
        name=service_name(SERVICE),
        subjects=[subjects.RETRIEVE_PATTERN.format(domain="*")],
        metadata={"domains": ",".join(sorted(domains)), "store": settings.store},
        on_shutdown=_closer(store),
    )


def _closer(store: object) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        close_store = getattr(store, "close", None)
        if close_store is not None:
            await asyncio.to_thread(close_store)

    return close
