"""Aggregator app factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream import FastStream

from contracts import subjects
from services.aggregator.handlers import SERVICE, AggregatorState, build_handlers, presence
from services.aggregator.settings import AggregatorSettings
from services.aggregator.synthesis import Synthesizer
from shared.broker import make_broker
from shared.domains import load_domains
from shared.inference import ChatModel
from shared.memory import ConversationMemory
from shared.service import build_app, instance_id, service_name


def synthesizer(settings: AggregatorSettings) -> Synthesizer | None:
    """The LLM merge of several domain answers (``ACCEL_SYNTHESIS``), None for the template."""
    if settings.synthesis == "template":
        return None
    url = settings.embedded_model_url if settings.synthesis == "embedded" else settings.synthesis
    model = ChatModel(url, model=settings.synthesis_model, timeout_s=10.0, api_key=settings.synthesis_api_key)
    return Synthesizer(model)


def create_app(settings: AggregatorSettings | None = None) -> FastStream:
    settings = settings or AggregatorSettings()
    aggregator_id = instance_id(settings.instance_id)
    domains = load_domains(settings.domains_dir)
    memory = ConversationMemory.from_url(
        settings.redis_url, max_turns=settings.memory_max_turns, ttl_s=settings.memory_ttl_s
    )
    state = AggregatorState(
        aggregator_id=aggregator_id,
        titles={n: d.display for n, d in domains.items()},
        memory=memory,
        synthesizer=synthesizer(settings),
    )
    broker = make_broker(settings.nats_url, SERVICE)
    broker.include_router(build_handlers(state))
    state.publish = broker.publish
    every = settings.presence_every_s
    announcing: list[asyncio.Task[None]] = []

    async def announce() -> None:
        while True:
            try:
                await broker.publish(presence(state, every), subjects.AGGREGATORS)
            except Exception as exc:  # reconnecting: the next round tells the routers
                logging.getLogger(__name__).warning("presence not announced: %s", exc)
            await asyncio.sleep(every)

    async def shutdown() -> None:
        for task in announcing:
            task.cancel()
        with contextlib.suppress(Exception):  # routers stop sending plans here at once
            await broker.publish(presence(state, every, alive=False), subjects.AGGREGATORS)
        await state.work.drain()  # partials being fanned in finish first
        if state.fanin is not None:
            await state.fanin.close()
        await memory.close()

    app = build_app(
        broker,
        name=service_name(SERVICE),
        subjects=[
            subjects.PLAN,
            subjects.plan_to(aggregator_id),
            subjects.partial(aggregator_id),
            subjects.ERRORS,
        ],
        metadata={"aggregator_id": aggregator_id},
        on_shutdown=shutdown,
    )

    @app.after_startup
    async def start_announcing() -> None:
        announcing.append(asyncio.get_running_loop().create_task(announce()))

    return app
