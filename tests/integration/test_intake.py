"""Durable intake on a real JetStream: retries with back-off, then the dead-letter subject."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path

import nats as nats_py
import pytest

from contracts import ErrorEvent, QueryRequested, parse_reply, subjects
from services.router.app import create_app
from services.router.handlers import MAX_DELIVERIES
from services.router.settings import RouterSettings
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT
from tests.helpers.servers import Server, nats_server

pytestmark = pytest.mark.integration


def router_settings(server: Server, valkey: Server, plan_timeout_s: float = 2.0) -> RouterSettings:
    return RouterSettings(
        nats_url=server.url, redis_url=valkey.url, domains_dir=DEFAULT_DOMAINS_DIR,
        cache_dir=REPO_ROOT / ".accel" / "cache", plan_timeout_s=plan_timeout_s,
    )  # fmt: skip


async def test_query_no_aggregator_can_take_is_dead_lettered_and_its_sender_told(valkey: Server) -> None:
    with tempfile.TemporaryDirectory() as tmp, nats_server(Path(tmp)) as server:
        app = create_app(router_settings(server, valkey, plan_timeout_s=0.3))
        await app.start()  # a router, but no aggregator anywhere
        nc = await nats_py.connect(server.url)
        try:
            inbox = nc.new_inbox()
            replies = await nc.subscribe(inbox)
            dead = await nc.subscribe(subjects.DEAD_LETTER)
            query = QueryRequested(text="How do I activate an eSIM on my phone?", reply_to=inbox)
            await nc.jetstream().publish(
                subjects.INTAKE, query.model_dump_json().encode(), headers={"Nats-Msg-Id": query.query_id}
            )
            reply = parse_reply((await replies.next_msg(timeout=30)).data)
            assert isinstance(reply, ErrorEvent)
            assert reply.code == "unavailable" and reply.query_id == query.query_id
            assert f"after {MAX_DELIVERIES} deliveries" in reply.detail
            dead_event = ErrorEvent.model_validate_json((await dead.next_msg(timeout=5)).data)
            assert dead_event.query_id == query.query_id
            await asyncio.sleep(1.0)
            with pytest.raises(nats_py.errors.TimeoutError):
                await replies.next_msg(timeout=0.5)  # told once, not once per delivery
        finally:
            await nc.close()
            await app.stop()


async def test_intake_without_reply_to_is_an_error_event(valkey: Server) -> None:
    with tempfile.TemporaryDirectory() as tmp, nats_server(Path(tmp)) as server:
        app = create_app(router_settings(server, valkey))
        await app.start()
        nc = await nats_py.connect(server.url)
        try:
            errors = await nc.subscribe(subjects.ERRORS)
            query = QueryRequested(text="hello?")
            await nc.jetstream().publish(subjects.INTAKE, query.model_dump_json().encode())
            event = ErrorEvent.model_validate_json((await errors.next_msg(timeout=10)).data)
            assert event.subject == subjects.INTAKE and "reply_to" in event.detail
        finally:
            await nc.close()
            await app.stop()


async def test_malformed_intake_query_is_answered_on_the_reply_to_it_names(valkey: Server) -> None:
    """The durable intake has no NATS reply subject: a query that fails validation is answered on the
    body's reply_to (as a valid one would be), acked, and not redelivered. A reply_to inside the
    system's own namespace is not trusted from a malformed message: accel.v1.errors alone hears it."""
    with tempfile.TemporaryDirectory() as tmp, nats_server(Path(tmp)) as server:
        app = create_app(router_settings(server, valkey))
        await app.start()
        nc = await nats_py.connect(server.url)
        try:
            inbox = nc.new_inbox()
            replies = await nc.subscribe(inbox)
            errors = await nc.subscribe(subjects.ERRORS)
            hijack = await nc.subscribe(subjects.DEAD_LETTER)
            js = nc.jetstream()
            good = QueryRequested(text="How do I activate an eSIM?", reply_to=inbox).model_dump(mode="json")
            await js.publish(subjects.INTAKE, json.dumps({**good, "text": 42}).encode())
            event = parse_reply((await replies.next_msg(timeout=10)).data)
            assert isinstance(event, ErrorEvent)
            assert event.code == "invalid_message" and event.query_id == good["query_id"]
            assert "text" in event.detail and event.subject == subjects.INTAKE
            assert ErrorEvent.model_validate_json((await errors.next_msg(timeout=5)).data) == event

            other = {**good, "query_id": "q-hijack", "reply_to": subjects.DEAD_LETTER, "text": 42}
            await js.publish(subjects.INTAKE, json.dumps(other).encode())
            assert (
                ErrorEvent.model_validate_json((await errors.next_msg(timeout=10)).data).query_id
                == "q-hijack"
            )
            await asyncio.sleep(1.0)
            for sub in (replies, hijack, errors):  # acked: answered once, not at each redelivery
                with pytest.raises(nats_py.errors.TimeoutError):
                    await sub.next_msg(timeout=0.3)
        finally:
            await nc.close()
            await app.stop()
