"""One trace per query across every hop, with trace context carried in NATS headers."""

from __future__ import annotations

import asyncio
import re

import nats as nats_py
import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from accel.client import AccelClient
from contracts import QueryRequested, subjects
from tests.integration.conftest import Pipeline

pytestmark = pytest.mark.integration

_HOPS = [
    (re.compile(r"^accel\.v1\.query request$"), "caller"),
    (re.compile(r"^accel\.v1\.query process$"), "router"),
    (re.compile(r"^accel\.v1\.plan(?:\.[\w-]+)? process$"), "aggregator"),  # the group's or one replica's
    (re.compile(r"^accel\.v1\.task\.(\w+) process$"), "domain:{0}"),
    (re.compile(r"^accel\.v1\.retrieve\.\w+ process$"), "retriever"),
    (re.compile(r"^generate$"), "model"),
    (re.compile(r"^accel\.v1\.partial\.\w+ process$"), "aggregator"),
    (re.compile(r"^_INBOX\.\S+ create$"), "reply"),
]


def hop(span: ReadableSpan) -> str | None:
    for pattern, label in _HOPS:
        m = pattern.match(span.name)
        if m:
            return label.format(*m.groups())
    return None


def edges(spans: list[ReadableSpan]) -> set[tuple[str, str]]:
    """(parent hop, child hop) for every hop span, through any non-hop spans in between."""
    by_id = {s.context.span_id: s for s in spans}
    out = set()
    for s in spans:
        child = hop(s)
        if child is None:
            continue
        parent = by_id.get(s.parent.span_id) if s.parent else None
        while parent is not None and hop(parent) is None:
            parent = by_id.get(parent.parent.span_id) if parent.parent else None
        if parent is not None and hop(parent) != child:
            out.add((hop(parent) or "", child))
    return out


async def _trace_of(spans: InMemorySpanExporter, query_id: str) -> list[ReadableSpan]:
    await asyncio.sleep(0.3)  # the last publishes finish just after the reply
    finished = list(spans.get_finished_spans())
    roots = [s for s in finished if s.attributes and s.attributes.get("accel.query_id") == query_id]
    assert roots, "the client's span is missing"
    trace_id = roots[0].context.trace_id
    return [s for s in finished if s.context.trace_id == trace_id]


async def test_multi_domain_query_is_one_trace_with_every_edge(
    client: AccelClient, spans: InMemorySpanExporter
) -> None:
    query = "Book a hotel in Lisbon for Friday and what is the EUR to USD rate?"
    final = await client.ask(query, conversation_id="trace-1")
    trace = await _trace_of(spans, final.query_id)
    got = edges(trace)
    expected = {
        ("caller", "router"),
        ("router", "aggregator"),
        ("router", "domain:travel"),
        ("router", "domain:fintech"),
        ("domain:travel", "retriever"),
        ("domain:fintech", "retriever"),
        ("domain:travel", "aggregator"),
        ("domain:fintech", "aggregator"),
        ("aggregator", "reply"),
    }
    expected |= {(f"domain:{p.domain}", "model") for p in final.parts if p.status == "answered"}
    assert expected <= got, f"missing edges: {expected - got}"

    by_name = {s.name: s for s in trace}
    assert by_name["route"].parent is not None
    assert by_name["route"].parent.span_id == by_name[f"{subjects.QUERY} process"].context.span_id
    route = by_name["route"].attributes or {}
    assert route["accel.route.path"] == "fast"
    assert set(route["accel.route.domains"]) == {"travel", "fintech"}  # type: ignore[arg-type]
    assert "accel.route.scores" in route and "accel.route.decision_ms" in route
    retrieval = [s for s in trace if s.name.startswith("accel.v1.retrieve.") and s.name.endswith("process")]
    assert all((s.attributes or {}).get("accel.retrieval.hits", 0) > 0 for s in retrieval)
    for g in (s for s in trace if s.name == "generate"):
        attrs = g.attributes or {}
        assert attrs["gen_ai.request.model"] and attrs["gen_ai.usage.output_tokens"] > 0  # type: ignore[operator]
        assert attrs["accel.ttft_ms"] >= 0  # type: ignore[operator]
    aggregate = by_name["aggregate"].attributes or {}
    assert aggregate["accel.aggregate.parts"] == 2
    assert aggregate["accel.aggregate.status"] == final.status


async def test_without_trace_headers_the_caller_edge_is_gone(
    pipeline: Pipeline, spans: InMemorySpanExporter
) -> None:
    """The edge test above can fail: a caller that does not propagate context starts a new trace."""
    query = QueryRequested(text="How do I activate an eSIM on my phone?", stream=False)
    nc = await nats_py.connect(pipeline.nats_url)
    try:
        await nc.request(subjects.QUERY, query.model_dump_json().encode(), timeout=20)
    finally:
        await nc.close()
    await asyncio.sleep(0.3)
    router_spans = [
        s for s in spans.get_finished_spans()
        if s.name == "route" and (s.attributes or {}).get("accel.query_id") == query.query_id
    ]  # fmt: skip
    assert router_spans, "the router span should still exist"
    trace_id = router_spans[0].context.trace_id
    own = [s for s in spans.get_finished_spans() if s.context.trace_id == trace_id]
    assert not [s for s in own if hop(s) == "caller"]  # a new trace, not the caller's
    assert ("caller", "router") not in edges(own)
    assert ("router", "domain:mobile") in edges(own)  # the rest of the path is still traced


async def test_metrics_cover_hops_routes_rejections_tokens_and_cost(
    client: AccelClient, metric_reader: InMemoryMetricReader
) -> None:
    answered = await client.ask("How do I activate an eSIM on my phone?")
    await client.ask("Explain the offside rule in football")
    assert answered.status == "answered"
    assert answered.cost > 0 and answered.parts[0].cost == answered.cost
    data = metric_reader.get_metrics_data()
    points: dict[str, list[dict[str, object]]] = {}
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                points.setdefault(metric.name, []).extend(
                    dict(p.attributes or {}) for p in metric.data.data_points
                )
    assert {"domain": "mobile", "path": "fast"} in points["accel.routes"]
    assert {"reason": "out_of_scope"} in points["accel.rejections"]
    assert {"domain": "mobile", "model": "smollm2-135m-instruct", "kind": "completion"} in points[
        "accel.tokens"
    ]
    hops = {p.get("hop") for p in points["accel.hop.duration"]}
    assert {"route", "retrieve", "grade", "end_to_end"} <= hops
    assert "accel.query.cost" in points


async def test_the_query_is_embedded_once_and_the_vector_travels(
    client: AccelClient, spans: InMemorySpanExporter
) -> None:
    """The router's vector of the sub-query rides on the task, with its token vectors; the grader and
    the retriever reuse them, and the retriever scores the passages' sentences from vectors embedded
    at ingest."""
    final = await client.ask("What is the checked baggage allowance on an economy ticket?")
    assert final.status == "answered"
    trace = await _trace_of(spans, final.query_id)
    embed = [s for s in trace if s.name == "embed"]
    retrieval = [s for s in trace if s.name.startswith("accel.v1.retrieve.") and s.name.endswith("process")]
    assert embed and retrieval
    assert all((s.attributes or {}).get("accel.embedding.reused") is True for s in [*embed, *retrieval])
    assert all((s.attributes or {}).get("accel.embedding.tokens_reused") is True for s in embed)
    grade = [s for s in trace if s.name == "grade"]
    assert grade and all((s.attributes or {}).get("accel.grade.sentences_embedded_here") == 0 for s in grade)
