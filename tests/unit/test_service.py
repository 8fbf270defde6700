"""Process set-up shared by every service."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader

from services.domain.settings import DomainSettings
from services.router.settings import RouterSettings
from shared.broker import ConnectionLog
from shared.metrics import Metrics
from shared.service import CONFIG_EXIT, freeze_startup_heap, read_settings, watch_gc_pauses


def test_freeze_startup_heap_takes_the_heap_out_of_collections() -> None:
    kept = [[i] for i in range(1000)]  # long-lived containers, as a service builds at start-up
    try:
        asyncio.run(freeze_startup_heap())
        assert gc.get_freeze_count() >= len(kept)
        collected = {id(o) for o in gc.get_objects(generation=2)}
        assert not any(id(x) in collected for x in kept)  # frozen: no collection walks them
    finally:
        gc.unfreeze()


def test_every_collection_pause_is_recorded_by_generation() -> None:
    reader = InMemoryMetricReader()
    metrics = Metrics(MeterProvider(metric_readers=[reader]).get_meter("test"))
    callback = watch_gc_pauses(metrics.gc_pause)
    try:
        gc.collect()  # a full collection: generation 2
        gc.collect(0)
    finally:
        gc.callbacks.remove(callback)
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
    assert metric.name == "accel.gc.pause" and metric.unit == "ms"
    by_generation = {dict(p.attributes or {})["generation"]: p for p in metric.data.data_points}
    assert {0, 2} <= set(by_generation)
    full = by_generation[2]
    assert isinstance(full, HistogramDataPoint) and full.count >= 1 and full.sum > 0


async def test_connection_errors_are_logged_once_a_minute_each(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shared.broker")
    said = ConnectionLog(["nats://a:4222", "nats://b:4222"], every_s=60)
    for _ in range(3):
        await said.error(ConnectionRefusedError(111, "Connection refused"))
    await said.error(TimeoutError())
    assert caplog.text.count("ConnectionRefusedError") == 1 and caplog.text.count("TimeoutError") == 1
    assert "NATS at nats://a:4222, nats://b:4222: TimeoutError: no detail (retrying)" in caplog.text
    await said.reconnected()  # a new outage is told again
    await said.error(ConnectionRefusedError(111, "Connection refused"))
    assert caplog.text.count("ConnectionRefusedError") == 2


def test_bad_settings_exit_with_one_line_a_variable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ACCEL_PLAN_TIMEOUT_S", "abc")
    with pytest.raises(SystemExit) as exit_:
        read_settings(RouterSettings)
    assert exit_.value.code == CONFIG_EXIT
    err = capsys.readouterr().err
    assert "error: invalid configuration (RouterSettings):" in err
    assert "ACCEL_PLAN_TIMEOUT_S='abc': Input should be a valid number" in err and "Traceback" not in err
    monkeypatch.delenv("ACCEL_PLAN_TIMEOUT_S")
    monkeypatch.delenv("ACCEL_DOMAIN", raising=False)
    with pytest.raises(SystemExit):
        read_settings(DomainSettings)
    assert "ACCEL_DOMAIN: Field required" in capsys.readouterr().err
    assert read_settings(RouterSettings).plan_timeout_s > 0  # once the variable is fixed
