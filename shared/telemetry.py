"""OpenTelemetry set-up. The standard ``OTEL_*`` variables choose the exporter.

``OTEL_TRACES_EXPORTER``: ``none`` (default locally), ``console``, or ``otlp`` (needs the
``opentelemetry-exporter-otlp`` package, as in the container images). ``OTEL_SERVICE_NAME`` overrides
the service name.
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter


def _exporter(name: str) -> SpanExporter | None:
    if name in ("", "none"):
        return None
    if name == "console":
        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise RuntimeError(
                "OTEL_TRACES_EXPORTER=otlp needs `pip install opentelemetry-exporter-otlp-proto-http`"
            ) from exc
        return OTLPSpanExporter()
    raise RuntimeError(f"OTEL_TRACES_EXPORTER={name!r} is not supported: use none, console or otlp")


def setup_metrics(service: str) -> None:
    """Install a meter provider when ``OTEL_METRICS_EXPORTER`` asks for one (console or otlp)."""
    name = os.environ.get("OTEL_METRICS_EXPORTER", "none").strip().lower()
    if name in ("", "none"):
        return
    from opentelemetry import metrics
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import (
        ConsoleMetricExporter,
        MetricExporter,
        PeriodicExportingMetricReader,
    )

    exporter: MetricExporter
    if name == "console":
        exporter = ConsoleMetricExporter()
    elif name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        except ImportError as exc:
            raise RuntimeError(
                "OTEL_METRICS_EXPORTER=otlp needs `pip install opentelemetry-exporter-otlp-proto-http`"
            ) from exc
        exporter = OTLPMetricExporter()
    else:
        raise RuntimeError(f"OTEL_METRICS_EXPORTER={name!r} is not supported: use none, console or otlp")
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or f"accel-{service}"})
    metrics.set_meter_provider(
        MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(exporter)])
    )


def setup_tracing(service: str) -> TracerProvider | None:
    """Install a tracer provider for this process (idempotent).

    With no exporter (``OTEL_TRACES_EXPORTER=none``) none is installed: the process records no
    spans, and its broker (``shared.broker.make_broker``) passes the callers' trace context on in the
    NATS headers, so a process that does export further down keeps the whole trace."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    # The OTEL_* variables are the OpenTelemetry standard, read here once, not app settings.
    exporter = _exporter(os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower())
    if exporter is None:
        return None
    name = os.environ.get("OTEL_SERVICE_NAME") or f"accel-{service}"
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return provider
