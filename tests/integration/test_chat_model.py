"""The inference client over a real HTTP endpoint (the stub): streaming stays bounded in memory."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Iterator

import pytest

from shared.inference import ChatModel
from tests.helpers.stub_model import StubModel

pytestmark = pytest.mark.integration

MESSAGES = [
    {"role": "system", "content": "Passages:\n[1] Economy tickets include one checked bag of 23 kg."},
    {"role": "user", "content": "How heavy may my bag be?"},
]


@pytest.fixture
def stub() -> Iterator[StubModel]:
    with StubModel() as model:
        yield model


async def _answer(model: ChatModel) -> str:
    return "".join([delta async for delta in model.stream(MESSAGES)])


async def test_streaming_does_not_grow_memory_without_bound(stub: StubModel) -> None:
    model = ChatModel(stub.url, model="stub", recycle_after=16)
    try:
        for _ in range(50):
            await _answer(model)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.take_snapshot()
        for _ in range(400):  # unbounded, this kept ~15 KB a call: ~6 MB
            assert (await _answer(model)).startswith("Economy tickets include one checked bag of 23 kg.")
        gc.collect()
        after = tracemalloc.take_snapshot()
        tracemalloc.stop()
        grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
        assert grown < 1_000_000, f"{grown / 1e6:.1f} MB kept after 400 streamed calls"
    finally:
        await model.close()


async def test_a_stream_in_flight_finishes_when_its_client_is_replaced(stub: StubModel) -> None:
    model = ChatModel(stub.url, model="stub", recycle_after=4)
    try:
        first = model.stream(MESSAGES)
        head = await anext(first)
        others = [await _answer(model) for _ in range(10)]  # the first stream's client is retired meanwhile
        rest = "".join([delta async for delta in first])
        assert head + rest == others[0]
    finally:
        await model.close()
