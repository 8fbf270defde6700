"""Domain handlers: DomainTask in (durable JetStream consumer per domain), DomainAnswer to the aggregator.

Every replica of a domain pulls from one durable consumer (``domain-<name>``) on the ACCEL_TASKS
work queue. A task is acked only after its answer is published; while it is being answered the
replica marks it in progress, so a slow model is not mistaken for a dead worker. A replica killed
mid-task leaves it unacked, and JetStream redelivers it to another (or the restarted) replica
after ``task_ack_wait_s``, up to ``task_max_deliver`` times; past the deadline the aggregator has
already answered with the part marked missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from faststream import AckPolicy
from faststream.nats import ConsumerConfig, NatsRouter, PullSub
from faststream.nats.annotations import NatsMessage

from contracts import DomainTask, subjects
from services.domain.pipeline import DomainPipeline
from shared.broker import Handling
from shared.streams import task_stream

log = logging.getLogger(__name__)


def delivery_attempt(msg: NatsMessage) -> int:
    try:
        return max(1, int(msg.raw_message.metadata.num_delivered))
    except Exception:  # not a JetStream delivery (in-memory test broker)
        return 1


async def _keep_alive(msg: NatsMessage, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):
            await msg.in_progress()


def build_handlers(
    pipeline: DomainPipeline, max_workers: int, ack_wait_s: float = 30.0, max_deliver: int = 3
) -> NatsRouter:
    nats = NatsRouter()
    current = Handling(nats)
    name = pipeline.domain.name

    @nats.subscriber(
        subjects.task(name),
        stream=task_stream(),
        durable=f"domain-{name}",
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        config=ConsumerConfig(
            ack_wait=ack_wait_s,
            max_deliver=max_deliver,
        ),
        ack_policy=AckPolicy.NACK_ON_ERROR,
        max_workers=max_workers,
        no_reply=True,
        title=f"task.{name}",
    )
    async def on_task(task: DomainTask) -> None:
        msg, broker = current.message, current.broker
        if task.domain != name:
            raise ValueError(f"task for domain {task.domain!r} arrived at the {name!r} service")
        attempt = delivery_attempt(msg)
        if attempt > 1:
            log.warning("task %s redelivered (attempt %d)", task.task_id, attempt)
        beat = asyncio.create_task(_keep_alive(msg, ack_wait_s / 3))
        try:
            answer = await pipeline.run(task, attempt=attempt)
        finally:
            beat.cancel()
        await broker.publish(answer, task.reply_subject)

    return nats
