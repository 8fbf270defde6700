"""Router benchmark: the figures of `accel router eval` on bench/data/router_eval.jsonl, for the fast
path alone (pinned to one CPU core) and for the full cascade with the embedded router LLM.

    python -m bench router [--no-llm] [--data FILE] [--domains DIR] [--max-examples N]

The issue's targets hold for domains configured from at most 20 examples, so by default the router
learns from the first 20 example utterances of each domain (``--max-examples 0``: all of them).

It also runs two probes that are not the target set, each three domains from 20 examples and no
knowledge documents: ``bench/data/general`` (health, law, personal finance; 120 questions for them
and 60 out of scope) and ``bench/data/assistant`` (kitchen, small talk, utility, in the style of
public intent sets; 45 and 30). Such domains read like the shipped background of everyday
questions, which is where a guard learned from that background fails first.

A third probe checks splitting on the general probe's domains: ``bench/data/general/multi.jsonl``,
written without looking at the router's method, holds 60 multi-domain questions and 60 single-domain
ones built to tempt a split (commas, "and", two sentences, generic follow-ups such as "is that
normal?", a clause that mentions another domain in passing).

A fourth checks declined parts on our domains: ``bench/data/router_declined.jsonl`` holds 24
questions for one domain with an unrelated general-knowledge question beside it ("How do I activate
an eSIM? Also, who discovered penicillin?"), whose unrelated part must be declined, and 16 controls
(a greeting, "thanks", "can you help me?", a fragment that leans on its question, two-domain
queries) where nothing may be. It was written after the rule, so its figures are in-sample.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from threadpoolctl import threadpool_limits

from accel.stack import LOOPBACK, Child, free_port, llama_server_argv
from services.router.app import build_router
from services.router.evaluate import EvalReport, check_labels, evaluate, load_labeled, render
from services.router.logic import Router
from services.router.settings import RouterSettings
from shared.settings import DEFAULT_DOMAINS_DIR, REPO_ROOT

DATA = Path(__file__).parent / "data" / "router_eval.jsonl"
PROBES = {  # domain sets unlike ours, each with its own questions: a check that the method carries over
    "general probe": (Path(__file__).parent / "data" / "general", "health, law, finance"),
    "assistant probe": (Path(__file__).parent / "data" / "assistant", "kitchen, small talk, utility"),
}
SPLIT_PROBE = Path(__file__).parent / "data" / "general" / "multi.jsonl"  # on the general probe's domains
DECLINED_PROBE = Path(__file__).parent / "data" / "router_declined.jsonl"  # on our domains


@dataclass
class DeclinedProbe:
    """How the router treated queries with a part no domain covers, and controls without one."""

    mixed: int = 0
    mixed_declined: int = 0  # exactly one part declined
    mixed_right: int = 0  # ... and routed to the expected domain
    controls: int = 0
    controls_kept: int = 0  # nothing declined
    controls_right: int = 0  # ... and routed to the expected domains

    def line(self) -> str:
        return (
            f"{'declined probe':<18}: unrelated question declined in {self.mixed_declined}/{self.mixed} "
            f"(and routed right: {self.mixed_right}); controls with nothing declined "
            f"{self.controls_kept}/{self.controls} (and routed right: {self.controls_right})"
        )


class DeclinedRow(TypedDict):
    """One query of the declined-parts probe."""

    id: str
    text: str
    domains: list[str]
    declined: int  # parts that no domain covers


def load_declined(path: Path = DECLINED_PROBE) -> list[DeclinedRow]:
    """The declined-parts probe: rows ``{"id", "text", "domains": [...], "declined": n}``."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


async def declined_probe(router: Router, rows: list[DeclinedRow]) -> DeclinedProbe:
    """Run the declined-parts probe (see ``load_declined``)."""
    probe = DeclinedProbe()
    for row in rows:
        outcome = await router.decide(row["text"], use_llm=False)
        declined_ok = len(outcome.decision.declined) == row["declined"]
        right = declined_ok and {r.domain for r in outcome.routes} == set(row["domains"])
        if row["declined"]:
            probe.mixed += 1
            probe.mixed_declined += declined_ok
            probe.mixed_right += right
        else:
            probe.controls += 1
            probe.controls_kept += declined_ok
            probe.controls_right += right
    return probe


async def _wait_http(url: str, timeout: float = 60) -> None:
    import httpx

    end = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=1) as client:
        while time.monotonic() < end:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout}s")


def _summary(
    fast: dict[str, EvalReport],
    cascade: EvalReport | None,
    probes: dict[str, EvalReport] | None = None,
    split: EvalReport | None = None,
    declined: DeclinedProbe | None = None,
) -> str:
    lines = [
        "== summary (targets: in-scope >= 95%, OOS recall >= 90%, multi exact >= 90%, p50 <= 4 ms, p99 <= 15 ms)"
    ]
    for name, rep in fast.items():
        lines.append(
            f"{name:<18}: in-scope {rep.in_scope_accuracy:.2%}  oos-recall {rep.oos_recall:.2%}  "
            f"hm {rep.harmonic_mean:.2%}  multi {rep.multi_exact:.2%}  p50 {rep.p50_ms:.2f} ms  p99 {rep.p99_ms:.2f} ms"
        )
    if cascade is not None:
        base = fast["fast path"]
        lines.append(
            f"{'cascade':<18}: in-scope {cascade.in_scope_accuracy:.2%}  oos-recall {cascade.oos_recall:.2%}  "
            f"hm {cascade.harmonic_mean:.2%}  multi {cascade.multi_exact:.2%}  LLM on {cascade.llm_rate:.1%} "
            f"of queries at p50 {cascade.llm_p50_ms:.0f} ms per call"
        )
        lines.append(f"cascade - fast path harmonic mean: {cascade.harmonic_mean - base.harmonic_mean:+.2%}")
    for name, rep in (probes or {}).items():
        lines.append(
            f"{name:<18}: in-scope {rep.in_scope_accuracy:.2%}  oos-recall {rep.oos_recall:.2%}  "
            f"hm {rep.harmonic_mean:.2%}  ({PROBES[name][1]}: 20 examples each, no knowledge)"
        )
    if split is not None:
        lines.append(
            f"{'split probe':<18}: single-domain kept whole {split.in_scope_accuracy:.2%}  "
            f"multi exact {split.multi_exact:.2%}  (general probe's domains, {split.n} questions)"
        )
    if declined is not None:
        lines.append(declined.line())
    return "\n".join(lines)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench router")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--domains", type=Path, default=DEFAULT_DOMAINS_DIR)
    parser.add_argument("--no-llm", action="store_true", help="skip the cascade run (no model server)")
    parser.add_argument(
        "--max-examples", type=int, default=20, help="example utterances per domain to learn from (0: all)"
    )
    args = parser.parse_args(argv)
    records = load_labeled(args.data)
    cache = REPO_ROOT / ".accel" / "cache"

    fast: dict[str, EvalReport] = {}
    declined: DeclinedProbe | None = None
    for tiered, tolerance in ((False, 0.0), (True, 0.0), (True, 0.02)):
        t0 = time.perf_counter()
        router = build_router(
            RouterSettings(
                embedding_cache=0,  # each run times its own embeddings
                domains_dir=args.domains,
                cache_dir=cache,
                tiered=tiered,
                tier1_tolerance=tolerance,
                max_examples=args.max_examples or None,
            )
        )
        print(
            f"router (tiered={tiered}, tolerance {tolerance}) trained in {time.perf_counter() - t0:.1f}s from {args.domains}, "
            f"{args.max_examples or 'all'} examples per domain"
        )
        print(f"calibration: {router.classifier.calibration}")
        try:
            check_labels(records, router.classifier.names)
        except ValueError as exc:
            raise SystemExit(f"error: {args.data}: {exc}") from None
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, as the target says
        with threadpool_limits(limits=1):
            name = f"fast path, tiered {tolerance}" if tiered else "fast path"
            fast[name] = await evaluate(router, records, use_llm=False, name=f"{name}, one core")
        os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
        print(render(fast[name]))
        if not tiered:
            declined = await declined_probe(router, load_declined())
            print(declined.line())

    # Domain sets unlike ours (the kind of public set the router will also be judged on): domains of
    # general questions, and an assistant's domains, both close to the shipped background of everyday
    # questions. A check that the guard adapts, not a target.
    probes: dict[str, EvalReport] = {}
    split = None
    for name, (folder, _) in PROBES.items():
        probe_router = build_router(
            RouterSettings(
                embedding_cache=0,
                domains_dir=folder / "domains",
                cache_dir=cache,
                max_examples=args.max_examples or None,
            )
        )
        print(f"{name}: calibration {probe_router.classifier.calibration}")
        probes[name] = await evaluate(
            probe_router, load_labeled(folder / "eval.jsonl"), use_llm=False, name=f"{name}, fast path"
        )
        print(render(probes[name]))
        if folder / "multi.jsonl" == SPLIT_PROBE:
            split = await evaluate(
                probe_router, load_labeled(SPLIT_PROBE), use_llm=False, name="split probe, fast path"
            )
            print(render(split))

    cascade = None
    if not args.no_llm:
        port = free_port()
        log = REPO_ROOT / ".accel" / "logs" / "bench-router-llm.log"
        server = Child(
            "router-llm",
            llama_server_argv(port, context=2048),
            dict(os.environ),
            log,
        )  # fmt: skip
        server.start()
        try:
            await _wait_http(f"http://{LOOPBACK}:{port}/health")
            llm_router = build_router(
                RouterSettings(
                    embedding_cache=0,
                    domains_dir=args.domains,
                    cache_dir=cache,
                    router_llm="embedded",
                    embedded_model_url=f"http://{LOOPBACK}:{port}/v1",
                    max_examples=args.max_examples or None,
                )
            )
            cascade = await evaluate(
                llm_router, records, use_llm=True, name="cascade (embedded SmolLM2-135M)"
            )
            print(render(cascade))
        finally:
            server.stop()
    print(_summary(fast, cascade, probes, split, declined))
