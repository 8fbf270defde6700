"""Session fixtures: real nats-server and valkey-server on free ports, started by the tests themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.settings import DEFAULT_DOMAINS_DIR
from tests.helpers.servers import Server, nats_server, valkey_server


@pytest.fixture(scope="session")
def nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with nats_server(tmp_path_factory.mktemp("js")) as server:
        yield server


@pytest.fixture(scope="session")
def valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with valkey_server(tmp_path_factory.mktemp("valkey")) as server:
        yield server


@pytest.fixture(scope="session")
def domains_dir() -> Path:
    return DEFAULT_DOMAINS_DIR
