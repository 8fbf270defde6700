"""The JetStream streams the services share: durable intake and durable domain tasks.

Consumers declare them through FastStream at start-up; the router also declares the task stream
before its first dispatch, so tasks are kept even when no domain replica is up yet. Declaring is
idempotent: the same configuration may be declared by any number of replicas.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from faststream.nats import JStream
from nats.js.api import RetentionPolicy, StorageType
from nats.js.errors import BadRequestError

from contracts import subjects

TASK_SUBJECTS = subjects.TASK_PATTERN.format(domain="*")


def intake_stream() -> JStream:
    """The durable intake stream (a new object per broker: FastStream declares each one once)."""
    return JStream(
        subjects.INTAKE_STREAM,
        subjects=[subjects.INTAKE],
        duplicate_window=subjects.INTAKE_DUPLICATE_WINDOW_S,
        max_age=24 * 3600,
    )


def task_stream() -> JStream:
    """Domain tasks: a work queue (each task is removed once acked), deduplicated by task id."""
    return JStream(
        subjects.TASK_STREAM,
        subjects=[TASK_SUBJECTS],
        retention=RetentionPolicy.WORK_QUEUE,
        storage=StorageType.FILE,
        duplicate_window=subjects.INTAKE_DUPLICATE_WINDOW_S,
        max_age=subjects.TASK_MAX_AGE_S,
    )


async def declare(js: Any, stream: JStream) -> None:
    """Create the stream, or bring an existing one to this configuration."""
    config = dataclasses.replace(stream.config, subjects=list(stream.subjects))
    try:
        await js.add_stream(config=config)
    except BadRequestError as exc:
        if exc.err_code != 10058:  # "stream name already in use with a different configuration"
            raise
        await js.update_stream(config=config)
