"""Router app factory."""

from __future__ import annotations

import logging

from faststream import FastStream

from contracts import subjects
from services.router.classifier import DomainClassifier
from services.router.handlers import SERVICE, RouterState, build_handlers
from services.router.language import LanguageGuard, LanguageId
from services.router.logic import Router, RouterLLM
from services.router.settings import RouterSettings
from shared.broker import make_broker
from shared.domains import load_domains
from shared.embeddings import default_embedder
from shared.inference import ChatModel
from shared.memory import ConversationMemory
from shared.service import build_app, service_name

log = logging.getLogger(__name__)


def build_router(settings: RouterSettings) -> Router:
    """Learn the router from the domain definitions (seconds; training embeddings are cached)."""
    domains = load_domains(settings.domains_dir)
    embedder = default_embedder()
    embedder.keep_recent(settings.embedding_cache)
    classifier = DomainClassifier(
        embedder,
        cache_dir=settings.cache_dir,
        use_knowledge=settings.use_knowledge,
        tiered=settings.tiered,
        max_examples=settings.max_examples,
        tier1_tolerance=settings.tier1_tolerance,
        max_false_rejection=settings.max_false_rejection,
    ).fit(domains)
    cal = classifier.calibration
    log.info(
        "router learned %d domains from %d example utterances: cross-validated accuracy %.3f, unsure "
        "margin %.3f", len(classifier.names), cal.examples, cal.cv_accuracy, cal.unsure_margin,
    )  # fmt: skip
    if cal.oos_offset < 0:
        log.info(
            "out-of-scope guard relaxed by %.2f (logit): the background rejected %.0f%% of held-out "
            "examples, more than the %.0f%% allowed (ACCEL_MAX_FALSE_REJECTION)",
            -cal.oos_offset, cal.cv_rejected * 100, settings.max_false_rejection * 100,
        )  # fmt: skip
    lid = LanguageId.load()
    language = None
    if lid is not None:
        language = LanguageGuard.of_texts(lid, [t for d in domains.values() for t in d.examples])
        log.info("router domains are written in %s", language.names())
    return Router(classifier, settings.max_query_chars, llm=router_llm(settings), language=language)


def router_llm(settings: RouterSettings) -> RouterLLM | None:
    """The cascade's LLM client (``ACCEL_ROUTER_LLM``), with its endpoint's key if one is set."""
    if settings.router_llm == "off":
        return None
    url = settings.embedded_model_url if settings.router_llm == "embedded" else settings.router_llm
    key = settings.router_llm_api_key
    return RouterLLM(ChatModel(url, model=settings.router_llm_model, timeout_s=5.0, api_key=key))


def create_app(settings: RouterSettings | None = None) -> FastStream:
    settings = settings or RouterSettings()
    router = build_router(settings)
    classifier = router.classifier
    memory = ConversationMemory.from_url(settings.redis_url)
    state = RouterState(settings=settings, router=router, memory=memory)
    broker = make_broker(settings.nats_url, SERVICE)
    broker.include_router(build_handlers(state))

    async def shutdown() -> None:
        await state.work.drain()  # queries being planned finish before the connections close
        await memory.close()

    return build_app(
        broker,
        name=service_name(SERVICE),
        subjects=[subjects.QUERY, subjects.INTAKE],
        metadata={
            "domains": ",".join(classifier.names),
            "unsure_margin": f"{classifier.calibration.unsure_margin:.4f}",
            "oos_offset": f"{classifier.calibration.oos_offset:.4f}",
            "router_llm": settings.router_llm,
        },
        on_shutdown=shutdown,
    )
