"""What one FastStream hop costs, by the way its handler is written, on a real nats-server.

    python -m bench messaging [--requests 3000] [--rounds 3]

Each variant is a request/reply handler that returns a small typed message:

- ``plain``: the handler takes only the typed body;
- ``context params``: it also declares ``msg: NatsMessage`` and ``broker: NatsBroker``, FastStream's
  usual way to reach the message (reply subject, JetStream metadata) and the broker;
- ``Handling``: it reads both from ``shared.broker.Handling``, as the services' hot handlers do;
- ``plain, FastStream OpenTelemetry``: ``plain`` with FastStream's OpenTelemetry middleware in
  place of ``TracePassthrough``, as a service with no tracer installed ran it before (non-recording
  spans);
- ``plain, no middlewares``: ``plain`` on a bare broker, without the services' error-event and
  trace middlewares;
- ``plain, max_workers=32``: ``plain`` on a concurrent subscriber (FastStream's anyio memory stream,
  task group and semaphores per message);
- ``sequential, work in a Spawner task``: a sequential subscriber that hands the reply to a task of
  ``shared.broker.Spawner``, as the router's query and the aggregator's partial handlers do.

The services' brokers (``make_broker``) run with no tracer installed here, as with
``OTEL_TRACES_EXPORTER=none``: error events and ``TracePassthrough``.

Two more rows time the requesting side, against the ``plain`` handler: FastStream's
``NatsBroker.request`` (an inbox subscribed and unsubscribed per request) and
``shared.broker.request`` (nats-py's shared reply subscription), as the router asks for a plan and
a domain for passages.

It prints, per variant, the CPU time of this process per request (client and handler share it, so
compare the rows, not the absolute figure), throughput with 32 requests in flight, and the p50
latency of one request at a time. Variants alternate within every round and the median round is
printed, so a noisy machine shifts every row alike.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import nats
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.annotations import NatsBroker as BrokerParam
from faststream.nats.annotations import NatsMessage
from pydantic import BaseModel

from bench.load import pct
from shared import broker as shared_broker
from shared.broker import Handling, Spawner, connection, make_broker
from tests.helpers.servers import nats_server


class Ping(BaseModel):
    query_id: str
    text: str


BODY = Ping(query_id="q" * 22, text="What is the checked baggage allowance on an economy ticket?")


def handlers(router: NatsRouter, prefix: str) -> list[str]:
    """Subscribe one handler per way of writing it; returns their subjects."""
    current = Handling(router)

    @router.subscriber(f"{prefix}.plain")
    async def plain(body: Ping) -> Ping:
        return body

    @router.subscriber(f"{prefix}.params")
    async def params(body: Ping, msg: NatsMessage, broker: BrokerParam) -> Ping:
        assert msg.raw_message is not None and broker is not None
        return body

    @router.subscriber(f"{prefix}.handling")
    async def handling(body: Ping) -> Ping:
        assert current.message.raw_message is not None and current.broker is not None
        return body

    @router.subscriber(f"{prefix}.workers", max_workers=32)
    async def workers(body: Ping) -> Ping:
        return body

    work = Spawner(32)

    @router.subscriber(f"{prefix}.spawned", no_reply=True)  # the task replies
    async def spawned(body: Ping) -> None:
        reply, conn = current.message.reply_to, connection(current.broker)

        async def answer() -> None:
            await conn.publish(reply, body.model_dump_json().encode())

        await work.spawn(answer())

    return [f"{prefix}.{n}" for n in ("plain", "params", "handling", "workers", "spawned")]


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def measure(request: Callable[[], Awaitable[object]], n: int) -> tuple[float, float, float]:
    """CPU µs per request and requests/s with 32 in flight, then p50 ms of one at a time."""
    in_flight = 32
    c0, t0 = cpu_s(), time.perf_counter()
    for _ in range(max(1, n // in_flight)):
        await asyncio.gather(*(request() for _ in range(in_flight)))
    done = max(1, n // in_flight) * in_flight
    cpu_us = (cpu_s() - c0) * 1e6 / done
    qps = done / (time.perf_counter() - t0)
    latency = []
    for _ in range(min(n, 500)):
        t = time.perf_counter()
        await request()
        latency.append((time.perf_counter() - t) * 1000)
    return cpu_us, qps, pct(latency, 0.5)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench messaging", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per variant and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    brokers: list[NatsBroker] = []
    with nats_server(Path(tempfile.mkdtemp(prefix="accel-bench-msg-"))) as server:
        try:
            await run(server.url, args.requests, args.rounds, brokers)
        finally:
            for broker in brokers:
                await broker.stop()


async def run(url: str, requests: int, rounds: int, brokers: list[NatsBroker]) -> None:
    """Start one broker per middleware set (appended to ``brokers`` for the caller to stop), then
    time every variant, alternating within each round."""
    subjects: dict[str, str] = {}
    for prefix, broker in (
        ("ours", make_broker(url, "bench")),
        ("otel", make_broker(url, "bench", tracing=True)),  # no tracer installed: non-recording spans
        ("bare", NatsBroker(url, logger=None)),
    ):
        router = NatsRouter()
        names = ("plain", "params", "handling", "workers", "spawned")
        for name, subject in zip(names, handlers(router, prefix), strict=True):
            subjects[f"{prefix}.{name}"] = subject
        broker.include_router(router)
        brokers.append(broker)
        await broker.start()
    variants = {
        "plain": subjects["ours.plain"],
        "context params (msg, broker)": subjects["ours.params"],
        "Handling (msg, broker)": subjects["ours.handling"],
        "plain, max_workers=32": subjects["ours.workers"],
        "sequential, work in a Spawner task": subjects["ours.spawned"],
        "plain, FastStream OpenTelemetry": subjects["otel.plain"],
        "plain, no middlewares": subjects["bare.plain"],
    }
    client = await nats.connect(url)
    payload = BODY.model_dump_json().encode()
    requester = brokers[0]  # the services' kind of broker, asking the plain handler
    requesters: dict[str, Callable[[], Awaitable[object]]] = {
        "requester: NatsBroker.request": lambda: requester.request(BODY, subjects["ours.plain"], timeout=5),
        "requester: shared.broker.request": lambda: shared_broker.request(
            requester, BODY, subjects["ours.plain"], 5
        ),
    }
    rows: dict[str, list[tuple[float, float, float]]] = {name: [] for name in [*variants, *requesters]}
    print(f"== one FastStream request/reply hop on nats-server, {requests} requests a variant, {rounds} rounds",
          flush=True)  # fmt: skip
    for subject in variants.values():  # warm up
        for _ in range(200):
            await client.request(subject, payload, timeout=5)
    for r in range(rounds):
        for name, subject in variants.items():

            async def request(subject: str = subject) -> object:
                reply = await client.request(subject, payload, timeout=5)
                assert reply.data.startswith(b"{"), reply.data[:200]
                return reply

            rows[name].append(await measure(request, requests))
        for name, ask in requesters.items():
            rows[name].append(await measure(ask, requests))
        print(f"  round {r + 1}/{rounds}", flush=True)
    await client.close()
    print(f"  {'handler':<32} {'CPU µs/request':>15} {'requests/s':>11} {'p50 ms':>7}")
    for name, results in rows.items():
        cpu = statistics.median(x[0] for x in results)
        qps = statistics.median(x[1] for x in results)
        p50 = statistics.median(x[2] for x in results)
        print(f"  {name:<32} {cpu:15.0f} {qps:11.0f} {p50:7.3f}")
