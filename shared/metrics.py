"""OpenTelemetry metrics every service records (exporter chosen by ``OTEL_METRICS_EXPORTER``).

- ``accel.hop.duration`` (ms, histogram; attribute ``hop``): route, retrieve, grade, generate, verify,
  aggregate, end_to_end;
- ``accel.routes`` (counter; ``domain``, ``path``) and ``accel.rejections`` (counter; ``reason``);
- ``accel.tokens`` (counter; ``domain``, ``model``, ``kind`` = prompt | completion);
- ``accel.query.cost`` (histogram, in the currency of the configured prices; ``status``);
- ``accel.gc.pause`` (ms, histogram; ``generation``): each cyclic garbage collection, during which
  the process handles nothing else.
"""

from __future__ import annotations

from functools import lru_cache

from opentelemetry import metrics


class Metrics:
    def __init__(self, meter: metrics.Meter) -> None:
        self.hop_duration = meter.create_histogram(
            "accel.hop.duration", unit="ms", description="Time per hop"
        )
        self.routes = meter.create_counter("accel.routes", description="Routed sub-queries per domain")
        self.rejections = meter.create_counter("accel.rejections", description="Rejected queries by reason")
        self.tokens = meter.create_counter("accel.tokens", description="Model tokens per domain")
        self.cost = meter.create_histogram("accel.query.cost", description="Model cost per answered query")
        self.gc_pause = meter.create_histogram(
            "accel.gc.pause", unit="ms", description="Pause of one cyclic garbage collection"
        )


@lru_cache(maxsize=1)
def get_metrics() -> Metrics:
    return Metrics(metrics.get_meter("accel"))
