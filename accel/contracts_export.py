"""Generates the committed contract files: a JSON Schema per message and an AsyncAPI file per service.

``accel contracts export`` writes them; ``accel contracts check`` and a test fail when the committed
files drift from the models and handlers.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from faststream.nats import NatsBroker, NatsRouter
from faststream.specification import AsyncAPI

from contracts.messages import ALL_MESSAGES
from shared.service import VERSION

CONTRACTS_DIR = Path(__file__).resolve().parent.parent / "contracts"


def _dump(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _service_routers() -> dict[str, NatsRouter]:
    from services.aggregator.handlers import build_handlers as aggregator
    from services.domain.handlers import build_handlers as domain
    from services.retriever.handlers import build_handlers as retriever
    from services.router.handlers import build_handlers as router

    # Handlers only keep their state for use at call time; placeholders are enough to describe them.
    agg_state = SimpleNamespace(aggregator_id="AGGREGATOR_ID", titles={}, memory=None, fanin=None)
    pipeline = SimpleNamespace(domain=SimpleNamespace(name="example"))
    return {
        "router": router(cast(Any, None)),
        "domain": domain(cast(Any, pipeline), 1),
        "retriever": retriever(cast(Any, None)),
        "aggregator": aggregator(cast(Any, agg_state)),
    }


def generate() -> dict[Path, str]:
    files: dict[Path, str] = {}
    for model in ALL_MESSAGES:
        files[CONTRACTS_DIR / "schemas" / f"{model.__name__}.json"] = _dump(model.model_json_schema())
    for name, router in _service_routers().items():
        broker = NatsBroker()
        broker.include_router(router)
        spec = AsyncAPI(broker, title=f"accel-{name}", version=VERSION, schema_version="3.0.0")
        files[CONTRACTS_DIR / "asyncapi" / f"{name}.json"] = _dump(spec.to_specification().to_jsonable())
    return files


def write_all() -> list[Path]:
    written = []
    for path, text in generate().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            written.append(path)
    return written


def drift() -> list[str]:
    """Relative paths of contract files that are missing or differ from what the code generates."""
    stale = []
    for path, text in generate().items():
        if not path.exists() or path.read_text() != text:
            stale.append(str(path.relative_to(CONTRACTS_DIR.parent)))
    return stale
