"""Domain handlers: DomainTask in (queue group per domain), DomainAnswer to the plan's aggregator."""

from __future__ import annotations

import logging

from faststream.nats import NatsRouter
from faststream.nats.annotations import NatsBroker

from contracts import DomainTask, subjects
from services.domain.pipeline import DomainPipeline

log = logging.getLogger(__name__)


def build_handlers(pipeline: DomainPipeline, max_workers: int) -> NatsRouter:
    nats = NatsRouter()
    name = pipeline.domain.name

    @nats.subscriber(
        subjects.task(name), queue=f"domain-{name}", max_workers=max_workers, title=f"task.{name}"
    )
    async def on_task(task: DomainTask, broker: NatsBroker) -> None:
        if task.domain != name:
            raise ValueError(f"task for domain {task.domain!r} arrived at the {name!r} service")
        answer = await pipeline.run(task)
        await broker.publish(answer, task.reply_subject)

    return nats
