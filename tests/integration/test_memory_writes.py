"""Conversation writes sent ahead of the reply, on a real valkey-server: a read sent once the
write is on its way finds the turn (what a follow-up relies on), a restarted Redis that lost the
script still takes the write, and an unreachable one is MemoryUnavailable."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from contracts import Turn
from shared.memory import ConversationMemory, MemoryUnavailable
from tests.helpers.servers import Server

pytestmark = pytest.mark.integration


def turn(i: int) -> Turn:
    return Turn(query_id=f"q{i}", question=f"question {i}", answer=f"answer {i}", domains=["travel"])


async def test_a_read_sent_after_the_write_went_out_finds_the_turn(valkey: Server) -> None:
    writer = ConversationMemory.from_url(valkey.url, max_turns=50)
    reader = ConversationMemory.from_url(valkey.url)  # another connection, as the router's
    try:
        for i in range(40):
            pending = await writer.send_append("tenant-w", "conv-w", turn(i))
            # the reply's trip to the asker and its follow-up's to the router take far longer; with no
            # gap at all, valkey once read the two connections' bytes, microseconds apart, in the
            # other order (in a full run; likely epoll's order of fds that became ready during a
            # scan). A write still in this process fails the test either way.
            await asyncio.sleep(0.001)
            seen = await reader.recent("tenant-w", "conv-w", limit=1)  # before the write's reply is read
            assert [t.query_id for t in seen] == [f"q{i}"]
            await pending.done()
        assert len(await reader.recent("tenant-w", "conv-w", limit=100)) == 40
        await writer.append("tenant-w", "conv-w", turn(99))  # the pool's connections are fit for reuse
        assert [t.query_id for t in await reader.recent("tenant-w", "conv-w", limit=1)] == ["q99"]
    finally:
        await writer.close()
        await reader.close()


async def test_a_redis_that_lost_the_script_still_takes_the_write(valkey: Server) -> None:
    memory = ConversationMemory.from_url(valkey.url)
    admin = aioredis.Redis.from_url(valkey.url)
    try:
        await memory.append("tenant-s", "conv-s", turn(1))  # the script is loaded
        await admin.script_flush()  # as after a restart
        pending = await memory.send_append("tenant-s", "conv-s", turn(2))
        await pending.done()
        assert [t.query_id for t in await memory.recent("tenant-s", "conv-s")] == ["q1", "q2"]
    finally:
        await memory.close()
        await admin.aclose()


async def test_a_write_to_an_unreachable_redis_is_memory_unavailable() -> None:
    memory = ConversationMemory.from_url("redis://127.0.0.1:1/0")
    with pytest.raises(MemoryUnavailable):
        await memory.send_append("t", "c", turn(1))
    await memory.close()
