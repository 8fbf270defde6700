"""Router evaluation on labeled JSON lines: the figures teams check before a deploy.

Input lines: ``{"id": …, "text": …, "domains": [...]}`` (an empty list means out of scope). ``"domain":
"name"`` or ``"domain": null`` is accepted too, and the label ``"oos"`` (as in the confusion table, and
in public sets such as CLINC150) means out of scope as well. Every other label must name a configured
domain (``check_labels``): a typo would otherwise count as a routing error.

Figures:
- in-scope accuracy: single-domain queries whose predicted domain set is exactly the gold one;
- out-of-scope recall and precision (a rejection counts as predicting out of scope);
- their harmonic mean (in-scope accuracy and out-of-scope recall);
- multi-domain exact set: multi-domain queries whose predicted set equals the gold set;
- a confusion table (gold label by predicted label: a domain, ``multi`` or ``oos``);
- decision latency p50/p99, LLM call rate and cost.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from services.router.logic import Outcome, Router

OOS_LABEL = "oos"


@dataclass(frozen=True)
class Labeled:
    id: str
    text: str
    domains: tuple[str, ...]

    @property
    def label(self) -> str:
        return OOS_LABEL if not self.domains else ("multi" if len(self.domains) > 1 else self.domains[0])


def _labels(row: dict[str, object]) -> tuple[str, ...]:
    """The gold domains of one line (none: out of scope)."""
    if "domains" in row:
        given = row["domains"] or []
        if not isinstance(given, list) or not all(isinstance(d, str) and d for d in given):
            raise TypeError(f"'domains' must be a list of domain names, not {given!r}")
    else:
        one = row.get("domain")
        if one is not None and not (isinstance(one, str) and one):
            raise TypeError(f"'domain' must be a domain name or null, not {one!r}")
        given = [one] if one else []
    return tuple(dict.fromkeys(d for d in given if d != OOS_LABEL))


def parse_labeled(lines: Iterable[str], source: str = "input") -> Iterator[Labeled]:
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise TypeError(f"a JSON object per line, not {type(row).__name__}")
            text = row["text"]
            if not isinstance(text, str):
                raise TypeError(f"'text' must be a string, not {text!r}")
            yield Labeled(id=str(row.get("id", n)), text=text, domains=_labels(row))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{source}:{n}: expected {{'id', 'text', 'domains': [...]}}: {exc}") from exc


def load_labeled(path: Path) -> list[Labeled]:
    with path.open(encoding="utf-8") as fh:
        records = list(parse_labeled(fh, str(path)))
    if not records:
        raise ValueError(
            f"{path}: no labelled queries (expected JSON lines {{'id', 'text', 'domains': [...]}})"
        )
    return records


def check_labels(records: Iterable[Labeled], domains: Iterable[str]) -> None:
    """Raise ValueError when a gold label names no configured domain (a typo, or the wrong
    ``--domains`` folder), saying which labels, on which queries, and what is configured."""
    known = set(domains)
    unknown: dict[str, list[str]] = {}
    for rec in records:
        for d in rec.domains:
            if d not in known:
                unknown.setdefault(d, []).append(rec.id)
    if unknown:
        said = "; ".join(
            f"{d!r} (ids {', '.join(ids[:3])}{', …' if len(ids) > 3 else ''})"
            for d, ids in sorted(unknown.items())
        )
        raise ValueError(
            f"labels that name no configured domain: {said}. Configured: {', '.join(sorted(known))}; "
            f"use [] or {OOS_LABEL!r} for out of scope, or point --domains at the folder these labels "
            "come from"
        )


def predicted_label(outcome: Outcome) -> str:
    if outcome.decision.rejected:
        return OOS_LABEL
    domains = {r.domain for r in outcome.routes}
    return "multi" if len(domains) > 1 else next(iter(domains))


@dataclass
class EvalReport:
    name: str
    n: int
    in_scope_accuracy: float
    oos_recall: float
    oos_precision: float
    harmonic_mean: float
    multi_exact: float
    counts: dict[str, int]
    confusion: dict[str, Counter[str]]
    p50_ms: float
    p99_ms: float
    llm_rate: float
    llm_p50_ms: float
    errors: list[tuple[Labeled, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "n": self.n,
            "in_scope_accuracy": round(self.in_scope_accuracy, 4),
            "oos_recall": round(self.oos_recall, 4),
            "oos_precision": round(self.oos_precision, 4),
            "harmonic_mean": round(self.harmonic_mean, 4),
            "multi_exact": round(self.multi_exact, 4),
            "counts": self.counts,
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "llm_rate": round(self.llm_rate, 4),
            "llm_p50_ms": round(self.llm_p50_ms, 1),
            "confusion": {gold: dict(row) for gold, row in sorted(self.confusion.items())},
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


async def evaluate(router: Router, records: list[Labeled], *, use_llm: bool, name: str = "") -> EvalReport:
    single_ok = single_n = multi_ok = multi_n = oos_hit = oos_n = rejected_n = 0
    confusion: dict[str, Counter[str]] = {}
    latencies: list[float] = []
    llm_latencies: list[float] = []
    errors: list[tuple[Labeled, str]] = []
    for rec in records:
        t0 = time.perf_counter()
        outcome = await router.decide(rec.text, use_llm=use_llm)
        latencies.append((time.perf_counter() - t0) * 1000)
        if outcome.llm_called:
            llm_latencies.append(outcome.llm_ms)
        pred = predicted_label(outcome)
        gold = rec.label
        confusion.setdefault(gold, Counter())[pred] += 1
        predicted_set = {r.domain for r in outcome.routes}
        rejected_n += pred == "oos"
        if gold == "oos":
            oos_n += 1
            oos_hit += pred == "oos"
        elif gold == "multi":
            multi_n += 1
            multi_ok += predicted_set == set(rec.domains)
        else:
            single_n += 1
            single_ok += predicted_set == set(rec.domains)
        if (gold == "oos") != (pred == "oos") or (gold != "oos" and predicted_set != set(rec.domains)):
            errors.append((rec, pred))
    await router.batcher.close()  # its worker would outlive the caller's event loop
    ins = _ratio(single_ok, single_n)
    rec_ = _ratio(oos_hit, oos_n)
    hm = 2 * ins * rec_ / (ins + rec_) if ins + rec_ else 0.0
    lat = np.array(latencies)
    return EvalReport(
        name=name,
        n=len(records),
        in_scope_accuracy=ins,
        oos_recall=rec_,
        oos_precision=_ratio(oos_hit, rejected_n),
        harmonic_mean=hm,
        multi_exact=_ratio(multi_ok, multi_n),
        counts={"single": single_n, "multi": multi_n, "oos": oos_n},
        confusion=confusion,
        p50_ms=float(np.percentile(lat, 50)) if len(lat) else 0.0,
        p99_ms=float(np.percentile(lat, 99)) if len(lat) else 0.0,
        llm_rate=len(llm_latencies) / len(records) if records else 0.0,
        llm_p50_ms=float(np.percentile(llm_latencies, 50)) if llm_latencies else 0.0,
        errors=errors,
    )


def _pct(x: float) -> str:
    return "    n/a (no such queries)" if np.isnan(x) else f"{x:7.2%}"


def render(report: EvalReport) -> str:
    """A plain-text report (also readable in CI logs)."""
    lines = [
        f"== {report.name or 'router evaluation'}: {report.n} queries "
        f"({report.counts['single']} single-domain, {report.counts['multi']} multi-domain, "
        f"{report.counts['oos']} out-of-scope)",
        f"in-scope accuracy        {_pct(report.in_scope_accuracy)}",
        f"out-of-scope recall      {_pct(report.oos_recall)}",
        f"out-of-scope precision   {_pct(report.oos_precision)}",
        f"harmonic mean            {_pct(report.harmonic_mean)}",
        f"multi-domain exact set   {_pct(report.multi_exact)}",
        f"decision latency         p50 {report.p50_ms:.2f} ms   p99 {report.p99_ms:.2f} ms",
        f"router LLM calls         {report.llm_rate:7.2%} of queries"
        + (f", p50 {report.llm_p50_ms:.0f} ms per call" if report.llm_rate else ""),
        "confusion (rows: gold, columns: predicted)",
    ]
    labels = sorted({*report.confusion, *(p for c in report.confusion.values() for p in c)})
    width = max([8, *(len(label) for label in labels)])
    lines.append(" " * width + "".join(f"{label:>{width + 1}}" for label in labels))
    for gold in labels:
        row = report.confusion.get(gold, Counter())
        lines.append(f"{gold:<{width}}" + "".join(f"{row.get(p, 0):>{width + 1}}" for p in labels))
    return "\n".join(lines)
