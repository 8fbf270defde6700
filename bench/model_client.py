"""What reading an answer costs the domain, by client, against a local endpoint.

    python -m bench model-client [--streams 300] [--rounds 3] [--url URL]

Variants, alternating within every round (the median round is printed):

- ``huggingface_hub``: ``AsyncInferenceClient.chat_completion(stream=True)``, each token parsed into
  the hub's dataclasses (one client for all streams, as a domain would keep it);
- ``ChatModel.stream``: what the domains run when the caller streams (``shared/inference.py``): the
  same endpoint's server-sent events read with aiohttp and ``json.loads``;
- ``ChatModel.complete (hub)``: the whole answer in one response through the hub's
  ``chat_completion`` (``client="hub"``: the router LLM, synthesis);
- ``ChatModel.complete (direct)``: the same request through aiohttp (``client="direct"``: what the
  domains run when the caller does not stream).

All four send the same request (the first two streamed), greedy (temperature 0),
so all get the same answer.

By default the endpoint is the tests' stub model (one event a word, ~30 words an answer), served
from threads of this process; the figure is the CPU time of the event-loop thread alone per stream,
so the stub's own work is not counted. ``--url`` points both at another OpenAI-compatible endpoint
(llama-server, TGI) instead, where generation time dominates latency but not the client's CPU.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from huggingface_hub import AsyncInferenceClient

from shared.inference import ChatModel
from tests.helpers.stub_model import StubModel

MESSAGES = [
    {
        "role": "system",
        "content": "Answer from the passages and cite them.\nPassages:\n[1] Economy tickets include one checked "
        "bag of up to 23 kg on every route, and members of the loyalty programme may add a second bag "
        "at no charge when they book at least 14 days before departure.",
    },
    {"role": "user", "content": "How heavy may my checked bag be on an economy ticket?"},
]


async def _hub_stream(client: AsyncInferenceClient) -> AsyncIterator[str]:
    chunks = await client.chat_completion(
        MESSAGES, stream=True, max_tokens=128, temperature=0.0, model="stub"
    )
    async for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            yield chunk.choices[0].delta.content


async def _timed(streams: int, one: Callable[[], Awaitable[str]]) -> tuple[float, float, str]:
    """(CPU ms of this thread per stream, wall ms per stream, the last answer)."""
    cpu, wall = time.thread_time(), time.perf_counter()
    text = ""
    for _ in range(streams):
        text = await one()
    return (
        (time.thread_time() - cpu) * 1000 / streams,
        (time.perf_counter() - wall) * 1000 / streams,
        text,
    )


async def run(url: str, streams: int, rounds: int) -> None:
    hub = AsyncInferenceClient(base_url=url, timeout=60)
    ours = ChatModel(url, model="stub", client="direct")
    hub_whole = ChatModel(url, model="stub", client="hub")

    async def via_hub() -> str:
        return "".join([d async for d in _hub_stream(hub)])

    async def via_ours() -> str:
        return "".join([d async for d in ours.stream(MESSAGES, max_tokens=128, temperature=0.0)])

    async def via_whole() -> str:
        return (await ours.complete(MESSAGES, max_tokens=128, temperature=0.0)).text

    async def via_hub_whole() -> str:
        return (await hub_whole.complete(MESSAGES, max_tokens=128, temperature=0.0)).text

    variants = {
        "huggingface_hub": via_hub,
        "ChatModel.stream": via_ours,
        "ChatModel.complete (hub)": via_hub_whole,
        "ChatModel.complete (direct)": via_whole,
    }
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    try:
        for one in variants.values():  # warm each: connections, imports
            await _timed(5, one)
        answers = {}
        for _ in range(rounds):
            for name, one in variants.items():
                cpu, wall, answers[name] = await _timed(streams, one)
                results[name].append((cpu, wall))
        if len(set(answers.values())) != 1:  # greedy decoding, the same request: a real server agrees too
            print(f"note: the clients' last answers differ: {answers}")
    finally:
        await hub.close()
        await ours.close()
        await hub_whole.close()
    words = len(next(iter(answers.values())).split())
    print(f"== model client: {streams} streams x {rounds} rounds, {words} words an answer, {url}")
    print(f"{'client':<28} {'CPU ms/answer':>14} {'wall ms/answer':>15}")
    for name, rows in results.items():
        cpu = statistics.median(r[0] for r in rows)
        wall = statistics.median(r[1] for r in rows)
        print(f"{name:<28} {cpu:>14.2f} {wall:>15.2f}")


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench model-client", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--streams", type=int, default=300, help="streamed answers per client and round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--url", help="an OpenAI-compatible base URL (default: the stub model)")
    args = parser.parse_args(argv)
    if args.url:
        await run(args.url, args.streams, args.rounds)
        return
    with StubModel() as stub:
        await run(stub.url, args.streams, args.rounds)
