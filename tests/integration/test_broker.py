"""``Handling`` on a real nats-server: a handler reaches its message and broker without Context parameters."""

from __future__ import annotations

import asyncio
from typing import Any

import nats as nats_py
import pytest
from faststream.nats import JStream, NatsRouter, PullSub

from shared.broker import Handling, make_broker
from tests.helpers.servers import Server

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
