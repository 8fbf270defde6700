"""``Handling`` on a real nats-server: a handler reaches its message and broker without Context parameters."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import nats as nats_py
import pytest
from faststream.nats import JStream, NatsRouter, PullSub

from accel.stack import find_nats_server, free_port
from shared.broker import Handling, make_broker
from tests.helpers.servers import Server, _spawn

pytestmark = pytest.mark.integration


async def test_a_handler_reads_its_message_and_broker_from_handling(nats: Server) -> None:
    router = NatsRouter()
    current = Handling(router)
    seen: dict[str, Any] = {}
    delivered: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    @router.subscriber("test.handling.core")
    async def core(body: dict[str, str]) -> dict[str, str]:
        seen["subject"] = current.message.raw_message.subject
        seen["reply_to"] = current.message.reply_to
        seen["broker"] = current.broker
        return {"echo": body["text"]}

    @router.subscriber(
        "test.handling.js",
        stream=JStream("TEST_HANDLING", subjects=["test.handling.js"]),
        durable="test-handling",
        pull_sub=PullSub(batch_size=1, timeout=0.5),
    )
    async def durable(body: dict[str, str]) -> None:
        if not delivered.done():
            delivered.set_result(current.message.raw_message.metadata.num_delivered)

    broker = make_broker(nats.url, "test-handling")
    broker.include_router(router)
    await broker.start()
    client = await nats_py.connect(nats.url)
    try:
        reply = await client.request("test.handling.core", b'{"text": "hi"}', timeout=5)
        assert reply.data == b'{"echo":"hi"}'
        assert seen["subject"] == "test.handling.core"
        assert seen["reply_to"].startswith("_INBOX.")
        assert seen["broker"] is broker
        await client.jetstream().publish("test.handling.js", b'{"text": "stored"}')
        assert await asyncio.wait_for(delivered, 10) == 1
    finally:
        await client.close()
        await broker.stop()


TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def test_an_untraced_service_passes_its_callers_trace_context_on(nats: Server) -> None:
    """With no tracer installed, what a handler publishes (a request, an event) carries the trace
    headers of the message it handles, and none when that message came without them."""
    router = NatsRouter()
    broker = make_broker(nats.url, "test-passthrough", tracing=False)

    @router.subscriber("test.pass.in")
    async def handle(body: dict[str, str]) -> dict[str, str]:
        downstream = await broker.request(body, "test.pass.downstream", timeout=5)
        await broker.publish(body, "test.pass.event")
        return {"downstream": downstream.body.decode()}

    broker.include_router(router)
    await broker.start()
    client = await nats_py.connect(nats.url)
    headers: dict[str, list[dict[str, str] | None]] = {"downstream": [], "event": []}

    async def on_downstream(msg: Any) -> None:
        headers["downstream"].append(msg.headers)
        await msg.respond(b'"ok"')

    async def on_event(msg: Any) -> None:
        headers["event"].append(msg.headers)

    await client.subscribe("test.pass.downstream", cb=on_downstream)
    await client.subscribe("test.pass.event", cb=on_event)
    try:
        for body in (b'{"text": "a"}', b'{"text": "b"}'):
            trace_headers = {"traceparent": TRACEPARENT, "baggage": "k=v"} if body.endswith(b'"a"}') else {}
            reply = await client.request("test.pass.in", body, timeout=5, headers=trace_headers)
            assert reply.data == b'{"downstream":"\\"ok\\""}'
        await client.flush()
        await asyncio.sleep(0.1)
        for seen in headers.values():
            assert len(seen) == 2
            first, second = seen
            assert (
                first is not None
                and first.get("traceparent") == TRACEPARENT
                and first.get("baggage") == "k=v"
            )
            assert "traceparent" not in (second or {})
    finally:
        await client.close()
        await broker.stop()


async def test_a_malformed_jetstream_message_on_a_manual_ack_subscriber_is_answered_once_and_acked(
    nats: Server,
) -> None:
    """The domains ack their tasks by hand; a task the error middleware answers must be acked there,
    or JetStream redelivers it and its sender hears of it again at every delivery."""
    from faststream import AckPolicy
    from faststream.nats import ConsumerConfig

    from contracts import DomainTask, ErrorEvent

    router = NatsRouter()

    @router.subscriber(
        "test.manual.task",
        stream=JStream("TEST_MANUAL", subjects=["test.manual.task"]),
        durable="test-manual",
        pull_sub=PullSub(batch_size=1, timeout=0.5),
        config=ConsumerConfig(ack_wait=30, max_deliver=3),
        ack_policy=AckPolicy.MANUAL,
        no_reply=True,
    )
    async def task(body: DomainTask) -> None:
        raise AssertionError("a malformed task never reaches the handler")

    broker = make_broker(nats.url, "test-manual")
    broker.include_router(router)
    nc = await nats_py.connect(nats.url)
    events: list[ErrorEvent] = []

    async def on_error(msg: Any) -> None:
        event = ErrorEvent.model_validate_json(msg.data)
        if event.subject == "test.manual.task":
            events.append(event)

    await nc.subscribe("accel.v1.errors", cb=on_error)
    await broker.start()
    try:
        js = nc.jetstream()
        for payload in (b"{", b'{"v": 1}', b"[1, 2]"):
            await js.publish("test.manual.task", payload)
        for _ in range(50):
            info = await js.consumer_info("TEST_MANUAL", "test-manual")
            if len(events) == 3 and info.num_ack_pending == 0:
                break
            await asyncio.sleep(0.1)
        assert len(events) == 3 and all(e.code == "invalid_message" for e in events)
        assert info.num_ack_pending == 0 and info.num_redelivered == 0
    finally:
        await broker.stop()
        await nc.close()


class Heard(logging.Handler):
    """Collects a logger's lines; ``said`` waits for one that contains a text."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.changed = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.changed.set()

    async def said(self, text: str) -> None:
        async with asyncio.timeout(10):
            while not any(text in line for line in self.lines):
                self.changed.clear()
                await self.changed.wait()


async def test_a_service_says_why_it_cannot_reach_nats_and_when_it_is_back() -> None:
    heard, logger = Heard(), logging.getLogger("shared.broker")
    logger.addHandler(heard)
    logger.setLevel(logging.INFO)
    port = free_port()
    argv = [str(find_nats_server()), "-a", "127.0.0.1", "-p", str(port)]
    broker = make_broker(f"nats://127.0.0.1:{port}", "test")
    connecting = asyncio.create_task(broker.connect())
    server: Server | None = None
    try:
        await heard.said(f"NATS at nats://127.0.0.1:{port}: ConnectionRefusedError")  # not a silent wait
        server = Server(f"nats://127.0.0.1:{port}", port, await asyncio.to_thread(_spawn, argv, port), argv)
        await asyncio.wait_for(connecting, 10)
        await asyncio.to_thread(server.restart)
        await heard.said("reconnected to NATS")
        assert any("disconnected from NATS" in line for line in heard.lines), heard.lines
    finally:
        logger.removeHandler(heard)
        connecting.cancel()
        await broker.stop()
        if server is not None:
            server.stop()
