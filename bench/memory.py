"""Conversation memory: read latency of recent turns plus role-aware context, on a real valkey-server.

python -m bench memory [--reads 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from accel.stack import LOOPBACK, Child, find_valkey_server, free_port
from bench.load import pct
from contracts import Turn
from shared.context import build_context, turn_tokens
from shared.memory import ConversationMemory


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench memory")
    parser.add_argument("--reads", type=int, default=5000)
    args = parser.parse_args(argv)
    port = free_port()
    work = Path(tempfile.mkdtemp(prefix="accel-bench-mem-"))
    server = Child(
        "valkey",
        [str(find_valkey_server()), "--bind", LOOPBACK, "--port", str(port), "--save", "", "--appendonly", "no",
         "--dir", str(work)],
        dict(os.environ),
        work / "valkey.log",
    )  # fmt: skip
    server.start()
    await asyncio.sleep(0.3)
    memory = ConversationMemory.from_url(f"redis://{LOOPBACK}:{port}/0", max_turns=20)
    try:
        domains = ["travel", "fintech", "mobile"]
        for c in range(100):
            for i in range(20):
                await memory.append(
                    "bench", f"c{c}",
                    Turn(query_id=f"q{c}-{i}", question=f"Question {i} about bags and fees?",
                         answer="An answer of about two hundred characters. " * 5, domains=[domains[i % 3]]),
                )  # fmt: skip
        reads, contexts = [], []
        full_tokens, ctx_tokens = 0, 0
        for n in range(args.reads):
            t0 = time.perf_counter()
            turns = await memory.recent("bench", f"c{n % 100}", limit=4)
            reads.append((time.perf_counter() - t0) * 1000)
            t1 = time.perf_counter()
            ctx = build_context(turns, role="domain", domain="travel", budget_tokens=400)
            contexts.append((time.perf_counter() - t1) * 1000)
            full_tokens += sum(turn_tokens(t) for t in turns)
            ctx_tokens += sum(turn_tokens(t) for t in ctx)
        print(
            f"== memory on valkey-server, {args.reads} reads of the last 4 turns (conversations of 20 turns)"
        )
        print(
            f"read recent turns   p50 {statistics.median(reads):.3f} ms   p99 {pct(reads, 0.99):.3f} ms   (target p50 <= 1 ms)"
        )
        print(f"build domain context p50 {statistics.median(contexts) * 1000:.1f} us")
        print(
            f"tokens handed to a domain: {ctx_tokens / full_tokens:.0%} of the recent turns ({1 - ctx_tokens / full_tokens:.0%} cut)"
        )
    finally:
        await memory.close()
        server.stop()
