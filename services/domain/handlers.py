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
from faststream.nats.annotations import NatsBroker, NatsMessage

from contracts import DomainTask, subjects
from services.domain.pipeline import DomainPipeline
from shared.broker import Handling, Spawner, connection, error_event, raised
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
    pipeline: DomainPipeline,
    max_workers: int,
    ack_wait_s: float = 30.0,
    max_deliver: int = 3,
    work: Spawner | None = None,
) -> NatsRouter:
    """``work`` runs the tasks, at most ``max_workers`` at once (the app drains it on shutdown)."""
    nats = NatsRouter()
    current = Handling(nats)
    name = pipeline.domain.name
    tasks = work or Spawner(max_workers)
    subject = subjects.task(name)

    async def answer(task: DomainTask, msg: NatsMessage, broker: NatsBroker) -> None:
        """Answer one task and ack it once its answer is out. A replica killed before that leaves
        the task unacked: JetStream redelivers it. A failure is reported as an error event with the
        task's ids (the aggregator fails that part at once) and the task acked, as the error
        middleware does for a handler that raised."""
        attempt = delivery_attempt(msg)
        if attempt > 1:
            log.warning("task %s redelivered (attempt %d)", task.task_id, attempt)
        beat = asyncio.create_task(_keep_alive(msg, ack_wait_s / 3))
        try:
            result = await pipeline.run(task, attempt=attempt)
            await broker.publish(result, task.reply_subject)
        except Exception as exc:
            log.exception("task %s failed", task.task_id)
            event = error_event(
                f"domain-{name}",
                subject,
                "internal",
                raised(exc),
                query_id=task.query_id,
                task_id=task.task_id,
            )
            with contextlib.suppress(Exception):
                await connection(broker).publish(subjects.ERRORS, event.model_dump_json().encode())
        finally:
            beat.cancel()
        with contextlib.suppress(Exception):  # NATS gone: the task is redelivered, answered again
            await msg.ack()

    # Sequential pull subscriber, acks by hand: each task runs as a Spawner task (FastStream's
    # max_workers costs ~150 µs more a message, see shared.broker.Spawner), and is acked only
    # once answered. A malformed task is acked by the error middleware, which answers it.
    @nats.subscriber(
        subject,
        stream=task_stream(),
        durable=f"domain-{name}",
        pull_sub=PullSub(batch_size=1, timeout=1.0),
        config=ConsumerConfig(
            ack_wait=ack_wait_s,
            max_deliver=max_deliver,
        ),
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
        title=f"task.{name}",
    )
    async def on_task(task: DomainTask) -> None:
        msg, broker = current.message, current.broker
        if task.domain != name:
            raise ValueError(f"task for domain {task.domain!r} arrived at the {name!r} service")
        await tasks.spawn(answer(task, msg, broker))

    return nats
