"""Broker factory: a FastStream NatsBroker with tracing and error events wired in.

Every service builds its broker here so that all of them behave the same way on bad input: the
message is answered with an :class:`~contracts.ErrorEvent` (on its reply subject if it has one, and
always on ``accel.v1.errors``) and the service keeps running.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from typing import Any

from faststream import BaseMiddleware, StreamMessage
from faststream.middlewares import ExceptionMiddleware
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.annotations import NatsBroker as BrokerDep
from faststream.nats.annotations import NatsMessage
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.response import PublishCommand
from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel, ValidationError

from contracts import ErrorEvent, subjects
from contracts.messages import ErrorCode
from contracts.subjects import TOKEN_RE

_SUBJECT = re.compile(r"^[^\s*>]+$")


def subject_ok(subject: str) -> bool:
    return bool(_SUBJECT.match(subject)) and len(subject) <= 256 and subject.isascii()


log = logging.getLogger(__name__)


def _ids_from(body: bytes) -> tuple[str | None, str | None, str | None]:
    """Best-effort query id, task id and reply_to from a message that failed, so its sender can be told."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeError, RecursionError):
        return None, None, None
    if not isinstance(data, dict):
        return None, None, None
    qid, tid = (
        v if isinstance(v, str) and TOKEN_RE.fullmatch(v) else None
        for v in (data.get("query_id"), data.get("task_id"))
    )
    reply = data.get("reply_to")
    return qid, tid, reply if isinstance(reply, str) and subject_ok(reply) else None


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """A short, human-readable summary naming each bad field."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",)) or "message"
        if err.get("type") == "model_type":
            parts.append("body is not a JSON object of the expected message type")
        else:
            parts.append(f"{loc}: {err.get('msg')}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def error_event(
    service: str,
    subject: str,
    code: ErrorCode,
    detail: str,
    *,
    query_id: str | None = None,
    task_id: str | None = None,
) -> ErrorEvent:
    """An ErrorEvent whose detail is cut to 2,000 characters and made encodable (an exception's
    text may hold lone surrogates, which JSON encoding would refuse)."""
    return ErrorEvent(
        service=service,
        subject=subject,
        code=code,
        detail=detail[:2000].encode("utf-8", "replace").decode("utf-8"),
        query_id=query_id,
        task_id=task_id,
    )


def raised(exc: BaseException) -> str:
    """How an error event names an exception."""
    return f"{type(exc).__name__}: {exc}"


def error_reply(header_reply: str, body_reply: str | None) -> str:
    """Where the error event for a failed message sent without a NATS reply subject (a stored
    JetStream message, or a plain publish) goes, besides ``accel.v1.errors``: the reply subject its
    sender named, in FastStream's ``reply_to`` header or the body's ``reply_to`` field. A malformed
    message is not trusted with a subject of the system's own (``accel.v1.*``: a service's input,
    the error subject itself): its event then goes to ``accel.v1.errors`` alone."""
    for reply in (header_reply, body_reply):
        if reply and subject_ok(reply) and not reply.startswith(f"{subjects.PREFIX}."):
            return reply
    return ""


def error_middleware(service: str) -> ExceptionMiddleware:
    """Turns any exception escaping a handler into an ErrorEvent instead of a silent drop."""
    mw = ExceptionMiddleware()

    @mw.add_handler(Exception)
    async def on_error(exc: Exception, message: NatsMessage, broker: BrokerDep) -> None:
        body: bytes = message.body if isinstance(message.body, bytes) else b""
        query_id, task_id, payload_reply = _ids_from(body)
        code: ErrorCode
        if isinstance(exc, ValidationError):
            code, detail = "invalid_message", describe_validation_error(exc)
        elif isinstance(exc, ValueError | UnicodeError | RecursionError):
            # undecodable bodies (bad UTF-8 or JSON under a content-type, too deep, huge integers)
            # and handler checks that reject a well-formed message are the sender's problem
            code, detail = "invalid_message", raised(exc)
        else:
            code, detail = "internal", raised(exc)
            log.exception("handler failed on %s", message.raw_message.subject, exc_info=exc)
        subject = message.raw_message.subject
        event = error_event(service, subject, code, detail, query_id=query_id, task_id=task_id)
        payload = event.model_dump_json().encode()
        conn = broker.config.connection_state.connection
        await conn.publish(subjects.ERRORS, payload)
        # A JetStream delivery's raw reply is the stream's ack subject, and FastStream's reply_to
        # of it is its "reply_to" header; a core message's reply_to is its sender's inbox.
        stored = (message.raw_message.reply or "").startswith("$JS.ACK.")
        if stored:
            reply = error_reply(message.reply_to, payload_reply)
        else:
            reply = message.reply_to or error_reply("", payload_reply)
        if reply:
            await conn.publish(reply, payload)
        if stored:  # answered: not to be redelivered (FastStream's own ack skips a settled message)
            await message.ack()

    return mw


TRACE_HEADERS = ("traceparent", "tracestate", "baggage")  # W3C trace context and baggage
_carried: ContextVar[dict[str, str] | None] = ContextVar("accel_trace_headers", default=None)


class TracePassthrough(BaseMiddleware):
    """Trace context for a process that records no spans: what a consumed message carried in its
    W3C headers goes on every message its handler publishes or requests, so a traced process further
    down keeps the caller's trace.

    FastStream's OpenTelemetry middleware does the same through non-recording spans, but builds
    span attributes, baggage and a span per message on the way: ~45 µs more CPU a request/reply hop
    with no tracer installed (``python -m bench messaging``)."""

    async def consume_scope(self, call_next: Callable[[Any], Awaitable[Any]], msg: StreamMessage[Any]) -> Any:
        headers = msg.headers
        carried = {k: v for k in TRACE_HEADERS if isinstance(v := headers.get(k), str)}
        if not carried:
            return await call_next(msg)
        token = _carried.set(carried)
        try:
            return await call_next(msg)
        finally:
            _carried.reset(token)

    async def publish_scope(self, call_next: Callable[[Any], Awaitable[Any]], cmd: PublishCommand) -> Any:
        carried = _carried.get()
        if carried:
            cmd.add_headers(carried, override=False)
        return await call_next(cmd)


class ConnectionLog:
    """Says what a service's NATS connection goes through: why NATS cannot be reached or reports an
    error (each kind once, then at most once every ``every_s`` while it lasts), a lost connection
    and a regained one. With FastStream's logger off (``make_broker``), a service that cannot reach
    NATS otherwise waits in silence, retrying for ever."""

    def __init__(self, servers: list[str], every_s: float = 60.0) -> None:
        self.servers = ", ".join(servers)
        self.every_s = every_s
        self._said: dict[str, float] = {}  # kind of error -> when it was last logged

    async def error(self, err: Exception) -> None:
        kind, now = type(err).__name__, time.monotonic()
        if now - self._said.get(kind, -math.inf) < self.every_s:
            return
        self._said[kind] = now
        log.warning("NATS at %s: %s: %s (retrying)", self.servers, kind, str(err) or "no detail")

    async def disconnected(self) -> None:
        log.warning("disconnected from NATS at %s; reconnecting", self.servers)

    async def reconnected(self) -> None:
        self._said.clear()
        log.info("reconnected to NATS at %s", self.servers)


def make_broker(nats_url: str, service: str, *, tracing: bool | None = None, **kwargs: Any) -> NatsBroker:
    """The one way services build their broker: per-message INFO logs off, error events on, the
    connection's troubles logged (``ConnectionLog``), and spans when this process has a tracer
    installed (``tracing=None`` looks; see ``shared.telemetry``), else the caller's trace context
    passed through."""
    servers = [u.strip() for u in nats_url.split(",") if u.strip()]
    if tracing is None:
        tracing = isinstance(trace.get_tracer_provider(), TracerProvider)
    said = ConnectionLog(servers)
    kwargs.setdefault("error_cb", said.error)
    kwargs.setdefault("disconnected_cb", said.disconnected)
    kwargs.setdefault("reconnected_cb", said.reconnected)
    return NatsBroker(
        servers,
        logger=None,
        middlewares=[
            error_middleware(service),
            NatsTelemetryMiddleware(tracer_provider=trace.get_tracer_provider())
            if tracing
            else TracePassthrough,
        ],
        name=service,
        max_reconnect_attempts=-1,
        **kwargs,
    )


class Handling:
    """The message a handler of ``router`` is processing, and the broker it came through.

    Hot handlers read these here instead of declaring ``msg: NatsMessage`` or ``broker: NatsBroker``
    parameters. fast_depends resolves each such FastStream ``Context`` parameter by running its
    synchronous lookup in a worker thread: ~0.3 ms of CPU per parameter and message, more than the
    rest of a request/reply handler costs (``python -m bench messaging``). Reading FastStream's
    context variable here costs nothing. Valid only inside a handler, while it runs.
    """

    def __init__(self, router: NatsRouter) -> None:
        self._router = router  # its context is the including broker's once it is included

    @property
    def message(self) -> NatsMessage:
        message: NatsMessage = self._router.config.context.get_local("message")
        return message

    @property
    def broker(self) -> NatsBroker:
        broker: NatsBroker = self._router.config.context.get("broker")
        return broker


class Spawner:
    """Runs a handler's work as plain asyncio tasks, at most ``limit`` at once, so that its
    subscriber can be a sequential one.

    FastStream's ``max_workers`` gives a subscriber concurrency through anyio memory streams, a task
    group and two semaphore acquisitions per message: ``python -m bench messaging`` measures 261 µs
    of CPU per request/reply on such a subscriber against 107 µs on a sequential one, and 115 µs on
    a sequential one handing its work to a task here. ``spawn`` waits while ``limit`` tasks run,
    so a burst waits in NATS as before. The work must report its own failures: an exception that
    escapes it is logged, not turned into an error event."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made in the running loop
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    async def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(self._run(work, self._slots))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _run(work: Coroutine[Any, Any, None], slots: asyncio.Semaphore) -> None:
        try:
            await work
        except Exception:
            log.exception("spawned handler work failed")
        finally:
            slots.release()

    async def drain(self, timeout: float = 10.0) -> None:
        """Wait for the work in flight, and for work spawned meanwhile (on shutdown the subscriber
        still takes messages until the broker stops), at most ``timeout`` seconds in all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tasks and (left := deadline - loop.time()) > 0:
            await asyncio.wait(set(self._tasks), timeout=left)


def connection(broker: NatsBroker) -> Any:
    """The broker's underlying nats-py client (for raw request/publish on hot paths)."""
    return broker.config.connection_state.connection


def _trace_headers(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with the trace context FastStream would send: the current span's when this
    process traces, else what the message being handled carried."""
    out = {**headers, **(_carried.get() or {})}
    propagate.inject(out)
    return out


async def request(broker: NatsBroker, message: BaseModel, subject: str, timeout: float) -> bytes:
    """A request/reply on the broker's connection, for the hot paths (the router's plan, a
    domain's retrieval): nats-py's request shares one wildcard reply subscription across requests,
    where ``NatsBroker.request`` subscribes and unsubscribes an inbox for each (``python -m bench
    messaging``: 116-144 against 144-242 µs of CPU a request, requester and handler together). Raises
    nats-py's NoRespondersError and TimeoutError."""
    headers = _trace_headers({"content-type": "application/json"})
    body = message.model_dump_json().encode()
    reply = await connection(broker).request(subject, body, timeout, headers=headers)
    data: bytes = reply.data
    return data


async def store(
    broker: NatsBroker, message: BaseModel, subject: str, stream: str, msg_id: str, timeout: float
) -> None:
    """Publish a pydantic message to a JetStream stream and wait for the stream's acknowledgement
    (deduplicated by ``msg_id``), on the broker's nats-py connection: ~50 µs less CPU a message
    than ``NatsBroker.publish(..., stream=...)``, which reaches the same call through FastStream's
    publish path. Raises nats-py's errors (no stream, timeout, API errors)."""
    headers = _trace_headers({"content-type": "application/json", "Nats-Msg-Id": msg_id})
    body = message.model_dump_json().encode()
    js = connection(broker).jetstream()
    await js.publish(subject, body, timeout=timeout, stream=stream, headers=headers)
