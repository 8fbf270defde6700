"""Load benchmark: N concurrent backends against the embedded stack.

    python -m bench load [--backends 1 8 32] [--seconds 15] [--real-model] [--durable]

With the default fast stub model endpoint it measures our own overhead, not the model's. It
reports throughput, end-to-end latency p50/p99, per-agent latency p50/p99 (route, embed, retrieve,
grade, generate, verify; and ``queued``, each task's wait before a domain replica started it), the
critical path of single-domain answers hop by hop, p50/p99 (to the plan, the task's wait, the
domain's agents, the rest of the domain hop, to the final answer, to the caller: see
``critical_path``), the orchestration overhead (end to end minus model and retrieval time; also
apart for questions the stack had answered before and for first sightings, on which the router
runs MiniLM), the
messaging overhead (end to end minus every agent's own work, route decision included: what the
hops, queues and serialisation cost, on single-domain answers), and lost and duplicated answers.
Queries cycle through 192 distinct questions (the QA and out-of-scope sets), not a handful. On Linux
it also reports the CPU time each process of the stack spent per answered query (from /proc), so
the service that bounds throughput shows up by name, and each process's resident memory after every
level (levels run in order on one stack, so growth between them shows).
Duplicates are counted on the ``accel.v1.answers`` event subject, lost ones as queries that got no
reply at all.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

import nats
from nats.aio.msg import Msg

from accel.client import AccelClient, AccelError
from accel.stack import Stack
from contracts import FinalAnswer, subjects
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT

WARM_UP = [
    "What is the checked baggage allowance on an economy ticket?",
    "How do I activate an eSIM on my phone?",
    "How long do refunds take after a return?",
    "What does it cost to send money abroad?",
    "Can I download films to watch offline?",
    "Explain the offside rule in football",  # rejected by the router: no domain work
]


def load_questions() -> list[str]:
    """Distinct questions: the 160 QA questions of the five domains (a quarter of them
    unanswerable), taken round-robin across domains so every domain gets its share of the load, with
    an out-of-scope query of the router set after every fifth (rejected by the router)."""
    data = REPO_ROOT / "bench" / "data"
    by_domain: dict[str, list[str]] = {}
    for line in (data / "rag_qa.jsonl").read_text().splitlines():
        if line.strip():
            row = json.loads(line)
            by_domain.setdefault(row["domain"], []).append(row["question"])
    qa = [q for group in itertools.zip_longest(*by_domain.values()) for q in group if q is not None]
    oos = [
        row["text"]
        for row in map(json.loads, (data / "router_eval.jsonl").read_text().splitlines())
        if row["kind"] == "oos"
    ][: len(qa) // 5]
    mixed: list[str] = []
    for i, q in enumerate(qa):
        mixed.append(q)
        if i % 5 == 4 and oos:
            mixed.append(oos.pop())
    return mixed


QUESTIONS = load_questions()


_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process so far (Linux /proc), or None where unavailable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) * _TICK_S


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process now (Linux /proc), or None where unavailable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def stack_processes(stack: Stack) -> dict[str, int]:
    """Name → pid of every running process of the stack, and of this bench (the client side)."""
    pids = {"bench (clients + stub model)": os.getpid()}
    for child in [*stack.infra, *stack.services]:  # names are unique (replicas carry a suffix)
        if child.proc is not None and child.proc.poll() is None:
            pids[child.name] = child.proc.pid
    return pids


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def critical_path(final: FinalAnswer, sent_at: float, received_at: float) -> dict[str, float]:
    """Where the time of one single-domain answer went, hop by hop (ms), from the timestamps its
    messages carry (every message records when it was built; the stack runs on this machine's
    clock): to the plan (the query's way to the router, its memory read and route decision), the
    task's wait (from the router building it to the domain starting it: the JetStream store, the
    pickup; the ``queued`` timing the domain reports), the domain's agents (their own timings), the
    rest of the domain hop (the plan's last steps before its tasks are built, the domain's own
    work outside its agents), to the final answer (the partial's way to the aggregator, the
    fan-in) and to the caller (the publish, the way back, the caller reading it)."""
    part = final.parts[0]
    built = final.created_at.timestamp()
    planned = built - final.took_ms / 1000
    answered = part.created_at.timestamp()
    waited = part.timings_ms.get("queued", 0.0)
    agents = sum(v for k, v in part.timings_ms.items() if k not in ("ttft", "queued"))
    return {
        "to plan": (planned - sent_at) * 1000,
        "task wait": waited,
        "domain agents": agents,
        "domain rest": (answered - planned) * 1000 - agents - waited,
        "to final": (built - answered) * 1000,
        "to caller": (received_at - built) * 1000,
    }


ASKED: set[str] = set(WARM_UP)  # every question the stack has seen, across levels


async def run_level(
    url: str, backends: int, seconds: float, durable: bool = False, turns: int = 1
) -> dict[str, object]:
    """One load level. Each backend asks its questions in conversations of ``turns`` queries: the
    first names no conversation (a new one, no history read), the others continue the one its
    answer carried (the router reads the history from Redis and the tasks carry it)."""
    answers: Counter[str] = Counter()
    repeated = 0
    watcher = await nats.connect(url)

    async def on_answer(msg: Msg) -> None:
        answers[json.loads(msg.data)["query_id"]] += 1

    await watcher.subscribe(subjects.ANSWERS, cb=on_answer)
    e2e: list[float] = []
    hops: dict[str, list[float]] = {}
    overhead_seen: list[float] = []  # questions the stack had answered before (its caches know them)
    overhead_new: list[float] = []  # first sightings: the router runs MiniLM on them
    messaging: list[float] = []
    path: dict[str, list[float]] = {}
    sent: list[str] = []
    errors: list[str] = []
    stop = time.monotonic() + seconds

    async def backend(i: int) -> None:
        nonlocal repeated
        conversation: str | None = None
        asked = 0
        async with await AccelClient.connect(url) as client:
            n = i * len(QUESTIONS) // backends  # backends start spread over the question list
            while time.monotonic() < stop:
                q = QUESTIONS[n % len(QUESTIONS)]
                n += 1
                seen = q in ASKED
                repeated += seen
                ASKED.add(q)
                t0, sent_at = time.perf_counter(), time.time()
                try:
                    ask = client.submit if durable else client.ask
                    final = await ask(q, conversation_id=conversation, timeout_s=30)
                except AccelError as exc:
                    errors.append(str(exc))
                    continue
                asked += 1
                conversation = final.conversation_id if asked % turns else None
                took = (time.perf_counter() - t0) * 1000
                received_at = time.time()
                sent.append(final.query_id)
                e2e.append(took)
                if final.decision is not None:
                    hops.setdefault("route", []).append(final.decision.decision_ms)
                model_and_retrieval = 0.0
                for p in final.parts:
                    for k, v in p.timings_ms.items():
                        hops.setdefault(k, []).append(v)
                    model_and_retrieval = max(
                        model_and_retrieval, p.timings_ms.get("retrieve", 0) + p.timings_ms.get("generate", 0)
                    )
                if final.parts and all(p.status != "failed" for p in final.parts):
                    (overhead_seen if seen else overhead_new).append(took - model_and_retrieval)
                if len(final.parts) == 1 and final.parts[0].status != "failed" and final.decision:
                    hops_of = critical_path(final, sent_at, received_at)
                    messaging.append(took - final.decision.decision_ms - hops_of["domain agents"])
                    for k, v in hops_of.items():
                        path.setdefault(k, []).append(v)

    t0 = time.perf_counter()
    await asyncio.gather(*(backend(i) for i in range(backends)))
    wall = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    await watcher.close()
    duplicated = sum(1 for qid in sent if answers[qid] > 1)
    lost = sum(1 for qid in sent if answers[qid] == 0) + len(errors)
    return {
        "backends": backends,
        "conversation_turns": turns,
        "queries": len(sent),
        "throughput_qps": round(len(sent) / wall, 1),
        "repeated_questions": round(repeated / max(1, len(sent) + len(errors)), 3),
        "e2e_p50_ms": round(pct(e2e, 0.5), 1),
        "e2e_p99_ms": round(pct(e2e, 0.99), 1),
        "overhead_p50_ms": round(pct(overhead_seen + overhead_new, 0.5), 1),
        "overhead_p50_ms_seen_before": round(pct(overhead_seen, 0.5), 1),
        "overhead_p50_ms_first_seen": round(pct(overhead_new, 0.5), 1),
        "messaging_p50_ms": round(pct(messaging, 0.5), 1),
        "hops_p50_ms": {k: round(statistics.median(v), 1) for k, v in sorted(hops.items())},
        "hops_p99_ms": {k: round(pct(v, 0.99), 1) for k, v in sorted(hops.items())},
        "path_p50_ms": {k: round(statistics.median(v), 1) for k, v in path.items()},
        "path_p99_ms": {k: round(pct(v, 0.99), 1) for k, v in path.items()},
        "lost": lost,
        "duplicated": duplicated,
        "errors": errors[:3],
    }


OVERHEAD_TARGET_MS = 5.0  # orchestration overhead p50 of a single-domain query (issue #5)
THROUGHPUT_TARGET_QPS = 300.0  # on 2 cores with the fast stub


def summary(results: list[dict[str, object]], stub: bool = True) -> str:
    """The levels' headline figures as a table, each against its target where it has one (the
    overhead at 1 backend; throughput and the answers with the fast stub), and the critical path."""

    def num(result: dict[str, object], key: str) -> float:
        value = result.get(key, 0.0)
        return float(value) if isinstance(value, int | float) else 0.0

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISS"

    lines = [
        f"{'backends':>8} {'queries/s':>10} {'e2e p50':>8} {'e2e p99':>8} {'overhead':>9} "
        f"{'CPU/query':>10} {'lost':>5} {'dup':>4}  targets",
    ]
    for r in results:
        backends = int(num(r, "backends"))
        qps, overhead = num(r, "throughput_qps"), num(r, "overhead_p50_ms")
        lost, dup = int(num(r, "lost")), int(num(r, "duplicated"))
        checks = [f"lost/dup 0: {mark(lost == 0 and dup == 0)}"]
        if backends == 1:
            checks.append(f"overhead <= {OVERHEAD_TARGET_MS:g} ms: {mark(overhead <= OVERHEAD_TARGET_MS)}")
        if stub and backends >= 32:
            checks.append(f">= {THROUGHPUT_TARGET_QPS:g} q/s: {mark(qps >= THROUGHPUT_TARGET_QPS)}")
        cpu = f"{num(r, 'cpu_ms_per_query_total'):.1f} ms" if "cpu_ms_per_query_total" in r else "n/a"
        lines.append(
            f"{backends:>8} {qps:>10.1f} {num(r, 'e2e_p50_ms'):>6.1f}ms {num(r, 'e2e_p99_ms'):>6.1f}ms "
            f"{overhead:>7.1f}ms {cpu:>10} {lost:>5} {dup:>4}  " + "; ".join(checks)
        )
    split = [r for r in results if "overhead_p50_ms_seen_before" in r]
    if split:
        lines.append(
            "overhead p50 of questions the stack answered before / of first sightings (a MiniLM run):"
        )
        for r in split:
            new = num(r, "overhead_p50_ms_first_seen")
            first = "none" if new != new else f"{new:.1f} ms"  # NaN: no first sighting at this level
            lines.append(
                f"{int(num(r, 'backends')):>8} backends: {num(r, 'overhead_p50_ms_seen_before'):.1f} ms / {first} "
                f"({1 - num(r, 'repeated_questions'):.0%} first seen)"
            )
    paths = [(int(num(r, "backends")), p) for r in results if isinstance(p := r.get("path_p50_ms"), dict)]
    if paths:
        names = list(dict.fromkeys(str(k) for _, p in paths for k in p))
        lines.append("critical path of single-domain answers, p50 ms: " + ", ".join(names))
        for backends, path in paths:
            cells = " / ".join(f"{float(path.get(n, 0.0)):.1f}" for n in names)
            lines.append(f"{backends:>8} backends: {cells}")
    return "\n".join(lines)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench load")
    parser.add_argument("--backends", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--real-model", action="store_true", help="use llama-server instead of the fast stub")
    parser.add_argument("--replicas", type=int, default=1, help="worker processes per domain")
    parser.add_argument(
        "--durable",
        action="store_true",
        help="send through the durable intake (JetStream, AccelClient.submit) instead of a core request",
    )
    parser.add_argument(
        "--conversation-turns",
        type=int,
        default=1,
        metavar="N",
        help="queries per conversation (default 1: every query starts a new one and reads no history; "
        "with N > 1 each backend continues the conversation its answer carried, so the router reads "
        "the history from Redis and the tasks carry it)",
    )
    parser.add_argument(
        "--embedding-cache",
        type=int,
        default=None,
        help="ACCEL_EMBEDDING_CACHE for the stack (default: the services' own, 4096). The 192 questions "
        "recur, so 0 shows the cost of traffic where no question repeats",
    )
    args = parser.parse_args(argv)
    if args.conversation_turns < 1:
        parser.error("--conversation-turns must be at least 1")
    stub = None
    model_url = None
    if not args.real_model:
        from tests.helpers.stub_model import StubModel

        stub = StubModel()
        stub.__enter__()
        model_url = stub.url
    stack = Stack(
        data_dir=Path(tempfile.mkdtemp(prefix="accel-bench-load-")),
        domains_dir=DEFAULT_DOMAINS_DIR,
        model_url=model_url,
        replicas=args.replicas,
        extra_env={
            "ACCEL_CACHE_DIR": str(REPO_ROOT / ".accel" / "cache"),
            **({} if args.embedding_cache is None else {"ACCEL_EMBEDDING_CACHE": str(args.embedding_cache)}),
        },
        progress=lambda m: print(f"  {m}", flush=True),
    )
    try:
        info = await stack.start(timeout=240)
        cache = "services' default" if args.embedding_cache is None else args.embedding_cache
        print(f"== load on 2 cores, model: {'llama-server SmolLM2-135M' if args.real_model else 'fast stub'}, "
              f"{args.replicas} worker(s) per domain, {args.seconds:.0f}s per level, "
              f"{'durable intake' if args.durable else 'core requests'}, "
              f"{args.conversation_turns} quer{'y' if args.conversation_turns == 1 else 'ies'} a conversation, "
              f"embedding cache: {cache}")  # fmt: skip
        async with await AccelClient.connect(info.nats_url) as warm:
            for q in WARM_UP:
                await warm.ask(q, timeout_s=60)
        results: list[dict[str, object]] = []
        for level in args.backends:
            pids = stack_processes(stack)
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            result = await run_level(
                info.nats_url, level, args.seconds, args.durable, args.conversation_turns
            )
            answered = max(1, int(str(result["queries"])))
            cpu = {
                name: round((now - then) * 1000 / answered, 2)
                for name, pid in pids.items()
                if (then := before[name]) is not None and (now := cpu_seconds(pid)) is not None
            }
            if cpu:
                result["cpu_ms_per_query"] = dict(sorted(cpu.items(), key=lambda kv: -kv[1]))
                result["cpu_ms_per_query_total"] = round(sum(cpu.values()), 1)
            rss = {name: mb for name, pid in pids.items() if (mb := rss_mb(pid)) is not None}
            if rss:
                result["rss_mb"] = dict(sorted(rss.items(), key=lambda kv: -kv[1]))
            print(json.dumps(result), flush=True)
            results.append(result)
        print(summary(results, stub=not args.real_model), flush=True)
    finally:
        stack.stop()
        if stub is not None:
            stub.__exit__(None, None, None)
