"""Conversation memory (fakeredis here; the integration tier uses a real valkey-server)."""

import fakeredis
import pytest
import redis.asyncio as aioredis

from contracts import Turn
from shared.memory import ConversationMemory, MemoryUnavailable, conversation_key


def turn(i: int) -> Turn:
    return Turn(query_id=f"q{i}", question=f"question {i}", answer=f"answer {i}", domains=["travel"])


async def test_append_trims_and_returns_oldest_first() -> None:
    mem = ConversationMemory(fakeredis.FakeAsyncRedis(), max_turns=3, ttl_s=60)
    for i in range(5):
        await mem.append("t", "c", turn(i))
    recent = await mem.recent("t", "c", limit=10)
    assert [t.query_id for t in recent] == ["q2", "q3", "q4"]
    assert [t.query_id for t in await mem.recent("t", "c", limit=2)] == ["q3", "q4"]
    assert 0 < await mem._r.ttl(conversation_key("t", "c")) <= 60


async def test_tenants_do_not_share_conversations() -> None:
    mem = ConversationMemory(fakeredis.FakeAsyncRedis())
    await mem.append("tenant-a", "c", turn(1))
    assert await mem.recent("tenant-b", "c") == []
    with pytest.raises(ValueError, match="invalid tenant"):
        conversation_key("a:b", "c")


async def test_unreachable_redis_raises_memory_unavailable() -> None:
    mem = ConversationMemory(
        aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2), timeout_s=0.5
    )
    with pytest.raises(MemoryUnavailable):
        await mem.recent("t", "c")
    with pytest.raises(MemoryUnavailable):
        await mem.append("t", "c", turn(1))
