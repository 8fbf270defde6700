"""A task that cannot be stored in the durable task stream fails its part at once, with the reason.

Its own nats-server: the test breaks JetStream for domain tasks (another stream already owns their
subjects), which the shared pipeline must not see.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path

import nats as nats_py
import pytest
from nats.js.api import StreamConfig

from accel.client import AccelClient
from services.aggregator.app import create_app as aggregator_app
from services.aggregator.settings import AggregatorSettings
from services.router.app import create_app as router_app
from services.router.settings import RouterSettings
from tests.helpers.servers import Server, nats_server

pytestmark = pytest.mark.integration


@pytest.fixture
async def broken_tasks(tmp_path: Path, valkey: Server, domains_dir: Path) -> AsyncIterator[str]:
    with nats_server(tmp_path / "js") as server:
        nc = await nats_py.connect(server.url)
        await nc.jetstream().add_stream(StreamConfig(name="SQUATTER", subjects=["accel.v1.task.>"]))
        await nc.close()
        common = {"nats_url": server.url, "domains_dir": domains_dir, "redis_url": valkey.url}
        apps = [aggregator_app(AggregatorSettings(**common)), router_app(RouterSettings(**common))]
        for app in apps:
            await app.start()
        try:
            yield server.url
        finally:
            for app in apps:
                await app.stop()


async def test_a_task_that_cannot_be_queued_fails_its_part_at_once(broken_tasks: str) -> None:
    async with await AccelClient.connect(broken_tasks) as client:
        t0 = time.monotonic()
        final = await client.ask("What is the checked baggage allowance on an economy ticket?", timeout_s=30)
    assert time.monotonic() - t0 < 10  # not the 30 s deadline
    assert final.status == "failed"
    [missing] = final.missing
    assert missing.domain == "travel" and "could not be queued" in missing.reason
