"""The Python client a backend uses: ``ask()`` for a whole answer, ``stream()`` for tokens as they come.

It speaks plain nats-py and the ``contracts`` models, so a backend needs nothing else of the project.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from contracts import ErrorEvent, FinalAnswer, QueryRequested, TokenDelta, parse_reply, subjects
from contracts.messages import utcnow

_tracer = trace.get_tracer("accel.client")


class AccelError(Exception):
    """The system answered with an error event, or did not answer at all."""

    def __init__(self, message: str, event: ErrorEvent | None = None) -> None:
        super().__init__(message)
        self.event = event


def _final(data: bytes) -> FinalAnswer:
    """The final answer on a reply subject, or AccelError for an error event."""
    reply = parse_reply(data)
    if isinstance(reply, ErrorEvent):
        raise AccelError(f"{reply.service} {reply.code}: {reply.detail}", reply)
    return reply


log = logging.getLogger(__name__)


class AccelClient:
    def __init__(self, nc: Client, *, grace_s: float = 5.0) -> None:
        self.nc = nc
        self.grace_s = grace_s

    @classmethod
    async def connect(cls, url: str, **kwargs: float) -> AccelClient:
        seen: list[Exception] = []

        async def on_error(exc: Exception) -> None:
            """nats-py's default logs a traceback for every failed attempt: keep the last one for
            the AccelError instead (a later outage is the failing request's own error)."""
            seen[:] = [exc]
            log.debug("NATS connection error: %r", exc)

        try:
            nc = await nats.connect(url, connect_timeout=2, max_reconnect_attempts=3, error_cb=on_error)
        except Exception as exc:
            why = seen[-1] if seen else exc
            raise AccelError(
                f"cannot reach NATS at {url} ({type(why).__name__}: {why}); is the stack up (`accel up`)?"
            ) from exc
        return cls(nc, **kwargs)

    async def close(self) -> None:
        await self.nc.drain()

    async def __aenter__(self) -> AccelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _query(
        self, text: str, conversation_id: str | None, tenant_id: str, timeout_s: float, stream: bool
    ) -> QueryRequested:
        extra = {"conversation_id": conversation_id} if conversation_id else {}
        return QueryRequested(
            text=text,
            tenant_id=tenant_id,
            deadline=utcnow() + timedelta(seconds=timeout_s),
            stream=stream,
            **extra,
        )

    async def _request(self, query: QueryRequested, timeout_s: float) -> FinalAnswer:
        with _tracer.start_as_current_span(
            f"{subjects.QUERY} request", kind=SpanKind.CLIENT, attributes={"accel.query_id": query.query_id}
        ) as span:
            reply = await self._send(query, timeout_s)
            span.set_attribute("accel.answer.status", reply.status)
            return reply

    async def _send(self, query: QueryRequested, timeout_s: float) -> FinalAnswer:
        headers: dict[str, str] = {}
        propagate.inject(
            headers
        )  # W3C trace context rides in NATS headers, as FastStream's middleware expects
        try:
            msg = await self.nc.request(
                subjects.QUERY,
                query.wire(),
                timeout=timeout_s + self.grace_s,
                headers=headers,
            )
        except NoRespondersError as exc:
            raise AccelError("no router is serving accel.v1.query; is the stack up (`accel up`)?") from exc
        except (NatsTimeout, TimeoutError) as exc:
            raise self._no_answer(query, timeout_s) from exc
        return _final(msg.data)

    def _no_answer(self, query: QueryRequested, timeout_s: float) -> AccelError:
        return AccelError(f"no answer within {timeout_s + self.grace_s:.0f}s (query {query.query_id})")

    async def submit(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        tenant_id: str = "default",
        timeout_s: float = 60.0,
    ) -> FinalAnswer:
        """Send through the durable intake (JetStream) and wait for the answer.

        Once this call has the stream's acknowledgement the query survives router restarts; a
        retried submit with the same query is answered once."""
        query = self._query(text, conversation_id, tenant_id, timeout_s, stream=False)
        return await self.submit_query(query, timeout_s)

    async def submit_query(self, query: QueryRequested, timeout_s: float) -> FinalAnswer:
        inbox = self.nc.new_inbox()
        sub = await self.nc.subscribe(inbox, max_msgs=1)
        try:
            query = query.model_copy(update={"reply_to": inbox})
            headers = {"Nats-Msg-Id": f"{query.tenant_id}-{query.query_id}"}
            propagate.inject(headers)
            try:
                await self.nc.jetstream().publish(subjects.INTAKE, query.wire(), headers=headers, timeout=5)
            except Exception as exc:
                raise AccelError(
                    f"the durable intake did not accept the query ({type(exc).__name__}: {exc}); "
                    "is a router running on a JetStream-enabled NATS?"
                ) from exc
            try:
                msg = await sub.next_msg(timeout=timeout_s + self.grace_s)
            except (NatsTimeout, TimeoutError) as exc:
                raise self._no_answer(query, timeout_s) from exc
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return _final(msg.data)

    async def ask(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        tenant_id: str = "default",
        timeout_s: float = 60.0,
    ) -> FinalAnswer:
        """Send a query and wait for its final answer (raises AccelError on an error event)."""
        return await self._request(
            self._query(text, conversation_id, tenant_id, timeout_s, stream=False), timeout_s
        )

    async def stream(
        self,
        text: str,
        *,
        conversation_id: str | None = None,
        tenant_id: str = "default",
        timeout_s: float = 60.0,
    ) -> AsyncIterator[TokenDelta | FinalAnswer]:
        """Yields TokenDelta events as domains produce them, then the FinalAnswer."""
        query = self._query(text, conversation_id, tenant_id, timeout_s, stream=True)
        queue: asyncio.Queue[TokenDelta] = asyncio.Queue()

        async def on_delta(msg: Msg) -> None:
            with contextlib.suppress(ValueError):
                queue.put_nowait(TokenDelta.model_validate_json(msg.data))

        sub = await self.nc.subscribe(subjects.stream(query.query_id), cb=on_delta)
        final = asyncio.ensure_future(self._request(query, timeout_s))
        try:
            while True:
                getter = asyncio.ensure_future(queue.get())
                done, _ = await asyncio.wait({getter, final}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    yield getter.result()
                    continue
                getter.cancel()
                while not queue.empty():
                    yield queue.get_nowait()
                yield final.result()
                return
        finally:
            final.cancel()
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
