"""Router app factory."""

from __future__ import annotations

from faststream import FastStream

from contracts import subjects
from services.router.classifier import DomainClassifier
from services.router.handlers import SERVICE, RouterState, build_handlers
from services.router.logic import Router, RouterLLM
from services.router.settings import RouterSettings
from shared.broker import make_broker
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.inference import ChatModel
from shared.memory import ConversationMemory
from shared.service import build_app, service_name


def build_router(settings: RouterSettings) -> Router:
    """Learn the router from the domain definitions (seconds; training embeddings are cached)."""
    domains = load_domains(settings.domains_dir)
    classifier = DomainClassifier(
        default_embedder(),
        cache_dir=settings.cache_dir,
        use_knowledge=settings.use_knowledge,
        tiered=settings.tiered,
        max_examples=settings.max_examples,
        tier1_tolerance=settings.tier1_tolerance,
        max_false_rejection=settings.max_false_rejection,
    ).fit(domains)
    llm = None
    if settings.router_llm != "off":
        url = settings.embedded_model_url if settings.router_llm == "embedded" else settings.router_llm
        llm = RouterLLM(ChatModel(url, model=settings.router_llm_model, timeout_s=5.0))
    return Router(classifier, settings.max_query_chars, llm=llm)


def create_app(settings: RouterSettings | None = None) -> FastStream:
    settings = settings or RouterSettings()
    router = build_router(settings)
    classifier = router.classifier
    memory = ConversationMemory.from_url(settings.redis_url)
    state = RouterState(settings=settings, router=router, memory=memory)
    broker = make_broker(settings.nats_url, SERVICE)
    broker.include_router(build_handlers(state))
    return build_app(
        broker,
        name=service_name(SERVICE),
        subjects=[subjects.QUERY, subjects.INTAKE],
        metadata={
            "domains": ",".join(classifier.names),
            "unsure_margin": f"{classifier.calibration.unsure_margin:.4f}",
            "router_llm": settings.router_llm,
        },
        on_shutdown=memory.close,
    )
