"""shared.broker.Spawner: handler work as tasks, bounded, drained on shutdown."""

import asyncio

import pytest

from shared.broker import Spawner


async def test_at_most_limit_tasks_run_and_spawn_waits_for_a_slot() -> None:
    work = Spawner(2)
    gate = asyncio.Event()
    running: list[int] = []

    async def job(i: int) -> None:
        running.append(i)
        await gate.wait()

    await work.spawn(job(1))
    await work.spawn(job(2))
    third = asyncio.create_task(work.spawn(job(3)))
    await asyncio.sleep(0.05)
    assert sorted(running) == [1, 2] and not third.done()  # the third waits: backpressure
    gate.set()
    await third
    await work.drain()
    assert sorted(running) == [1, 2, 3] and len(work) == 0


async def test_a_failing_job_is_logged_and_frees_its_slot(caplog: pytest.LogCaptureFixture) -> None:
    work = Spawner(1)

    async def boom() -> None:
        raise RuntimeError("boom")

    await work.spawn(boom())
    await work.drain()
    done = asyncio.Event()

    async def fine() -> None:
        done.set()

    await asyncio.wait_for(work.spawn(fine()), 1)  # the slot came back
    await work.drain()
    assert done.is_set()
    assert any("spawned handler work failed" in r.message for r in caplog.records)


async def test_drain_waits_for_work_spawned_while_it_waits() -> None:
    work = Spawner(4)
    finished: list[str] = []

    async def later() -> None:
        await asyncio.sleep(0.05)
        finished.append("later")

    async def first() -> None:
        await asyncio.sleep(0.01)
        await work.spawn(later())  # new work arrives while the first drains
        finished.append("first")

    await work.spawn(first())
    await work.drain(timeout=2)
    assert finished == ["first", "later"]
