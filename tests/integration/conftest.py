"""An in-process pipeline: all four services on a real nats-server and valkey, with a stub model."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from faststream import FastStream

from accel.client import AccelClient
from services.aggregator.app import create_app as aggregator_app
from services.aggregator.settings import AggregatorSettings
from services.domain.app import create_app as domain_app
from services.domain.settings import DomainSettings
from services.retriever.app import create_app as retriever_app
from services.retriever.settings import RetrieverSettings
from services.router.app import create_app as router_app
from services.router.settings import RouterSettings
from tests.helpers.servers import Server
from tests.helpers.stub_model import StubModel

pytestmark = pytest.mark.integration

SERVED_DOMAINS = ["ecommerce", "fintech", "mobile", "travel"]  # media is configured but has no worker


@dataclass
class Pipeline:
    nats_url: str
    redis_url: str
    model: StubModel
    apps: dict[str, FastStream]
    index_dir: Path  # the retriever's embedded store


@pytest.fixture(scope="session")
def stub_model() -> Iterator[StubModel]:
    with StubModel() as model:
        yield model


@pytest.fixture(scope="session")
async def pipeline(
    nats: Server,
    valkey: Server,
    stub_model: StubModel,
    domains_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Pipeline]:
    common = {"nats_url": nats.url, "domains_dir": domains_dir}
    index = tmp_path_factory.mktemp("index")
    apps = {
        "retriever": retriever_app(RetrieverSettings(**common, index_dir=index)),
        "aggregator": aggregator_app(AggregatorSettings(**common, redis_url=valkey.url)),
        "router": router_app(RouterSettings(**common, redis_url=valkey.url)),
    }
    for name in SERVED_DOMAINS:
        apps[f"domain-{name}"] = domain_app(
            DomainSettings(**common, domain=name, embedded_model_url=stub_model.url)
        )
    for app in apps.values():
        await app.start()
    yield Pipeline(nats.url, valkey.url, stub_model, apps, index)
    for app in apps.values():
        await app.stop()


@pytest.fixture
async def client(pipeline: Pipeline) -> AsyncIterator[AccelClient]:
    async with await AccelClient.connect(pipeline.nats_url) as c:
        yield c
