"""Fault tests on real processes: kill -9 a domain worker, stop Redis, model down, restart NATS.

The stack is the real supervised `accel up` stack (nats-server, valkey-server, every service as its
own process) pointed at the stub model, so faults are real process deaths, not mocks.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator, Iterator

import nats as nats_py
import pytest
from nats.aio.msg import Msg

from accel.client import AccelClient, AccelError
from accel.stack import Child, Stack
from contracts import QueryRequested, parse_reply, subjects
from shared.settings import DEFAULT_DOMAINS_DIR
from tests.helpers.stub_model import StubModel

pytestmark = pytest.mark.integration
ACK_WAIT_S = 5.0  # domain tasks of a dead worker are redelivered after this (default 30 s)


@pytest.fixture(scope="module")
def model() -> Iterator[StubModel]:
    with StubModel() as stub:
        yield stub


@pytest.fixture(scope="module")
async def stack(model: StubModel, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    s = Stack(
        data_dir=tmp_path_factory.mktemp("fault-stack"),
        domains_dir=DEFAULT_DOMAINS_DIR,
        model_url=model.url,
        extra_env={
            "ACCEL_CACHE_DIR": str(DEFAULT_DOMAINS_DIR.parent / ".accel" / "cache"),
            "ACCEL_TASK_ACK_WAIT_S": str(ACK_WAIT_S),
        },
    )
    await s.start(timeout=180)
    supervisor = asyncio.create_task(s.supervise())
    yield s
    supervisor.cancel()
    s.stop()


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[AccelClient]:
    assert stack.info is not None
    async with await AccelClient.connect(stack.info.nats_url) as c:
        yield c


@pytest.fixture(autouse=True)
def reset_model(model: StubModel) -> Iterator[None]:
    yield
    model.mode = "echo"


def child(stack: Stack, name: str) -> Child:
    return next(c for c in [*stack.infra, *stack.services] if c.name == name)


async def wait_alive(c: Child, timeout: float = 30) -> None:
    """Poll the supervisor's work: the child is a process, nothing in this loop can signal an event."""
    for _ in range(int(timeout / 0.2)):
        if c.alive:
            return
        await asyncio.sleep(0.2)
    assert c.alive


async def test_kill_9_domain_worker_mid_answer_gives_timeout_answer_then_recovers(
    stack: Stack, client: AccelClient, model: StubModel
) -> None:
    worker = child(stack, "domain-travel")
    model.mode = "stall"  # the worker is inside generation when it dies
    pending = asyncio.create_task(
        client.ask("What is the checked baggage allowance on an economy ticket?", timeout_s=4)
    )
    await asyncio.sleep(1.5)
    assert worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGKILL)
    final = await pending
    assert final.status == "timeout"
    assert [m.domain for m in final.missing] == ["travel"]
    model.mode = "echo"
    await wait_alive(worker)  # the supervisor restarts it
    for _ in range(60):
        try:
            again = await client.ask(
                "What is the checked baggage allowance on an economy ticket?", timeout_s=10
            )
        except AccelError:
            again = None
        if again is not None and again.status == "answered":
            break
        await asyncio.sleep(0.5)
    assert again is not None and again.status == "answered"


async def test_kill_9_domain_worker_mid_answer_redelivers_the_task_to_the_restarted_worker(
    stack: Stack, client: AccelClient, model: StubModel
) -> None:
    """With a deadline longer than the redelivery delay, the killed worker's task is not lost: JetStream
    hands it to the restarted replica, which answers it (attempt 2), once."""
    worker = child(stack, "domain-travel")
    await wait_alive(worker)
    model.mode = "stall"
    calls = model.calls
    answers: list[bytes] = []

    async def on_answer(msg: Msg) -> None:
        answers.append(msg.data)

    assert stack.info is not None
    watcher = await nats_py.connect(stack.info.nats_url)
    await watcher.subscribe(subjects.ANSWERS, cb=on_answer)
    pending = asyncio.create_task(
        client.ask("What is the checked baggage allowance on an economy ticket?", timeout_s=30)
    )
    deadline = time.monotonic() + 10
    while model.calls == calls and time.monotonic() < deadline:  # noqa: ASYNC110 - polls another thread
        await asyncio.sleep(0.1)
    assert model.calls > calls and worker.proc is not None
    os.kill(worker.proc.pid, signal.SIGKILL)
    model.mode = "echo"
    final = await pending
    assert final.status == "answered", final.text
    assert [p.attempt for p in final.parts] == [2]
    await asyncio.sleep(0.5)
    await watcher.close()
    assert [parse_reply(a).query_id for a in answers].count(final.query_id) == 1


async def test_redis_down_answers_without_memory_and_resumes(stack: Stack, client: AccelClient) -> None:
    redis = child(stack, "valkey")
    redis.stop()
    try:
        final = await client.ask(
            "How do I activate an eSIM on my phone?", conversation_id="redis-down", timeout_s=10
        )
        assert final.status == "answered"
        assert any("memory unavailable" in w for w in final.warnings), final.warnings
    finally:
        redis.start()
    await asyncio.sleep(1.0)
    first = await client.ask(
        "How do I activate an eSIM on my phone?", conversation_id="redis-back", timeout_s=10
    )
    assert first.warnings == []
    follow = await client.ask("and how much does it cost?", conversation_id="redis-back", timeout_s=10)
    assert follow.warnings == []


async def test_model_down_is_an_explicit_error_and_the_breaker_stops_hammering(
    client: AccelClient, model: StubModel
) -> None:
    model.mode = "fail"
    calls_before = model.calls
    statuses = []
    for _ in range(6):
        final = await client.ask("What is the checked baggage allowance on an economy ticket?", timeout_s=5)
        statuses.append(final.status)
        assert final.parts and final.parts[0].error
    assert set(statuses) == {"failed"}
    # one domain worker: three real calls open its circuit, later queries fail fast without a call
    assert model.calls - calls_before <= 4
    assert "circuit open" in (final.parts[0].error or "")


async def test_nats_restart_under_load_every_query_gets_an_answer_or_explicit_error(
    stack: Stack, client: AccelClient
) -> None:
    nats = child(stack, "nats")
    questions = ["How do I activate an eSIM on my phone?", "Explain the offside rule in football"] * 10

    async def one(q: str) -> str:
        try:
            return (await client.ask(q, timeout_s=8)).status
        except AccelError as exc:
            return f"error: {exc}"

    t0 = time.monotonic()
    load = [asyncio.create_task(one(q)) for q in questions]
    await asyncio.sleep(0.2)
    nats.stop()
    nats.start()
    outcomes = await asyncio.gather(*load)
    assert time.monotonic() - t0 < 20  # nothing hangs past its deadline plus the client's grace
    assert len(outcomes) == len(questions)  # each one an answer or an explicit error, none silent
    # after recovery, every service has reconnected and answers again
    for _ in range(60):
        try:
            final = await client.ask("How do I activate an eSIM on my phone?", timeout_s=8)
            if final.status == "answered":
                break
        except AccelError:
            pass
        await asyncio.sleep(0.5)
    assert final.status == "answered"


async def test_durable_intake_answers_duplicates_once(client: AccelClient) -> None:
    query = QueryRequested(text="How do I activate an eSIM on my phone?", stream=False)
    inbox = client.nc.new_inbox()
    got: list[bytes] = []

    async def collect(msg: Msg) -> None:
        got.append(msg.data)

    sub = await client.nc.subscribe(inbox, cb=collect)
    js = client.nc.jetstream()
    payload = query.model_copy(update={"reply_to": inbox}).model_dump_json().encode()
    first = await js.publish(subjects.INTAKE, payload, headers={"Nats-Msg-Id": query.query_id})
    again = await js.publish(subjects.INTAKE, payload, headers={"Nats-Msg-Id": query.query_id})
    assert not first.duplicate and again.duplicate  # the stream drops the same id within its window
    await js.publish(subjects.INTAKE, payload, headers={"Nats-Msg-Id": "other-id"})  # the router dedupes
    for _ in range(50):
        if got:
            break
        await asyncio.sleep(0.2)
    await asyncio.sleep(2.0)
    await sub.unsubscribe()
    assert len(got) == 1
    assert parse_reply(got[0]).type == "final.answer"


async def test_router_killed_while_queries_wait_in_the_intake_loses_nothing(
    stack: Stack, client: AccelClient
) -> None:
    router = child(stack, "router")
    router.restart = False  # keep it down while queries arrive
    assert router.proc is not None
    os.kill(router.proc.pid, signal.SIGKILL)
    router.proc.wait(5)
    pending = [
        asyncio.create_task(client.submit(q, timeout_s=60))
        for q in ["How do I activate an eSIM on my phone?", "Explain the offside rule in football"] * 3
    ]
    await asyncio.sleep(1.0)
    assert not any(t.done() for t in pending)  # accepted by the stream, waiting for a router
    router.restart = True
    router.start()
    finals = await asyncio.gather(*pending)
    assert sorted(f.status for f in finals) == ["answered"] * 3 + ["rejected"] * 3
