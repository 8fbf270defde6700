"""What every service process does the same way: tracing, discovery, start and stop.

Discovery follows the NATS service API (ADR-32) through nats-py's ``nats.micro``: each process
answers ``$SRV.PING``, ``$SRV.INFO`` and ``$SRV.STATS`` with its name, version, instance id and the
subjects it serves. ``accel up`` uses the same pings as health checks.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from faststream import FastStream
from faststream.nats import NatsBroker
from nats.micro import ServiceConfig, add_service
from nats.micro.service import Service
from opentelemetry.metrics import Histogram
from pydantic import ValidationError

from shared.broker import connection
from shared.domains import DomainConfigError
from shared.logs import configure_logging
from shared.metrics import get_metrics
from shared.settings import ServiceSettings
from shared.telemetry import setup_metrics, setup_tracing

VERSION = "0.1.0"
CONFIG_EXIT = 2  # a configuration error: restarting the process as it is cannot help
_SECRET = re.compile(r"key|token|secret|password", re.IGNORECASE)

S = TypeVar("S", bound=ServiceSettings)
log = logging.getLogger(__name__)


def read_settings(cls: type[S]) -> S:
    """``cls()`` from the environment; on a bad value, exit with ``CONFIG_EXIT`` and one line per
    variable (``ACCEL_PLAN_TIMEOUT_S='abc': Input should be a valid number…``) instead of a
    traceback. Values of variables named like secrets are not shown."""
    try:
        return cls()
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", "")).upper()
        lines = []
        for e in exc.errors():
            name = prefix + "_".join(str(p) for p in e["loc"]).upper()
            shown = e["type"] != "missing" and not _SECRET.search(name)
            value = f"={str(e.get('input'))[:60]!r}" if shown else ""
            lines.append(f"  {name}{value}: {e['msg']}")
        print(f"error: invalid configuration ({cls.__name__}):", *lines, sep="\n", file=sys.stderr)
        raise SystemExit(CONFIG_EXIT) from None


def service_name(service: str, qualifier: str | None = None) -> str:
    """The discovery name: ``accel-router``, ``accel-domain-travel``…"""
    return f"accel-{service}" + (f"-{qualifier}" if qualifier else "")


def instance_id(configured: str) -> str:
    return configured or uuid.uuid4().hex[:12]


def build_app(
    broker: NatsBroker,
    *,
    name: str,
    subjects: list[str],
    metadata: dict[str, str] | None = None,
    on_startup: Callable[[], Awaitable[None]] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> FastStream:
    app = FastStream(broker, logger=logging.getLogger(name))
    holder: dict[str, Service] = {}

    @app.on_startup
    async def _start() -> None:
        if on_startup is not None:
            await on_startup()

    @app.after_startup
    async def _register() -> None:
        meta = {"subjects": ",".join(subjects), **(metadata or {})}
        holder["svc"] = await add_service(
            connection(broker), ServiceConfig(name=name, version=VERSION, description=name, metadata=meta)
        )
        logging.getLogger(name).info("serving %s", ", ".join(subjects))

    @app.on_shutdown
    async def _stop() -> None:
        svc = holder.pop("svc", None)
        if svc is not None:
            await svc.stop()
        if on_shutdown is not None:
            await on_shutdown()

    return app


def single_threaded_blas() -> None:
    """One BLAS thread per process. Services scale by replicas, and their matrix products are small
    (a query against a few thousand vectors): a BLAS thread pool gains nothing on them, and its
    threads spin between products, burning CPU the other services need. Under the load bench with
    one backend, the router used 59 ms of CPU per query with the default pool and 20 ms with one
    thread."""
    import numpy  # noqa: F401  (the BLAS library must be loaded for its pool to be limited)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (Linux and macOS), else on asyncio's own loop. Under the
    load bench, uvloop took 2-3 ms less CPU per query across the stack and gave 5-7% more
    throughput, in three alternating runs on 2 cores."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
        return
    uvloop.run(main)


async def freeze_startup_heap() -> None:
    """Move everything built at start-up (models, vocabularies, indexes, caches) out of the cyclic
    garbage collector's reach (``gc.freeze``), once the service is up. Those objects live as long as
    the process, yet every full collection walked all of them while the process handled nothing
    else: under the load bench a full collection paused a service for 56-118 ms (the aggregator
    twice in a 15 s level), and 1 ms or less once the start-up heap was frozen."""
    gc.collect()
    gc.freeze()


def watch_gc_pauses(histogram: Histogram) -> Callable[[str, dict[str, int]], None]:
    """Record every cyclic garbage collection's pause in ``histogram`` (ms, by generation). Returns
    the callback installed in ``gc.callbacks``, so that it can be removed."""
    started = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            ms = (time.perf_counter() - started[0]) * 1000
            histogram.record(ms, {"generation": info["generation"]})

    gc.callbacks.append(on_gc)
    return on_gc


def run(app_factory: Callable[[], FastStream], service: str, log_level: str) -> None:
    """Entry point of ``python -m services.<name>``: logging, tracing, run until SIGINT/SIGTERM."""
    configure_logging(service, log_level)
    single_threaded_blas()
    setup_tracing(service)
    setup_metrics(service)
    watch_gc_pauses(get_metrics().gc_pause)
    try:
        app = app_factory()
    except DomainConfigError as exc:  # the file and the fault are named: a traceback adds nothing
        log.error("cannot start %s: %s", service, exc)
        raise SystemExit(CONFIG_EXIT) from None
    app.after_startup(freeze_startup_heap)
    run_loop(app.run())
