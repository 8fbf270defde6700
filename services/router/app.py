"""Router app factory."""

from __future__ import annotations

from faststream import FastStream

from contracts import subjects
from services.router.classifier import DomainClassifier
from services.router.handlers import SERVICE, RouterState, build_handlers
from services.router.logic import Router
from services.router.settings import RouterSettings
from shared.broker import make_broker
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.memory import ConversationMemory
from shared.service import build_app, service_name


def create_app(settings: RouterSettings | None = None) -> FastStream:
    settings = settings or RouterSettings()
    domains = load_domains(settings.domains_dir)
    classifier = DomainClassifier(default_embedder()).fit(domains)
    memory = ConversationMemory.from_url(settings.redis_url)
    state = RouterState(settings=settings, router=Router(classifier, settings.max_query_chars), memory=memory)
    broker = make_broker(settings.nats_url, SERVICE)
    broker.include_router(build_handlers(state))
    return build_app(
        broker,
        name=service_name(SERVICE),
        subjects=[subjects.QUERY],
        metadata={
            "domains": ",".join(sorted(domains)),
            "threshold": f"{classifier.calibration.threshold:.4f}",
        },
        on_shutdown=memory.close,
    )
