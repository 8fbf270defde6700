"""`accel status` against a stack file whose services and servers are down: it names each and
exits 1 (a real nats-server answers; nothing serves the stack's domain, Valkey or model)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from accel.stack import free_port
from tests.helpers.servers import Server

pytestmark = pytest.mark.integration


def test_status_names_what_does_not_answer_and_exits_1(nats: Server, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from accel.cli import app
    from accel.stack import StackInfo

    dead = f"127.0.0.1:{free_port()}"
    StackInfo(
        nats_url=nats.url, redis_url=f"redis://{dead}/0", model_url=f"http://{dead}/v1",
        data_dir=str(tmp_path), domains=["nosuch"], pid=os.getpid(),
    ).save(tmp_path / "stack.json")  # fmt: skip
    done = CliRunner().invoke(app, ["status", "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
    assert done.exit_code == 1, done.output
    rows = {line.split("│")[1].strip(): line for line in done.output.splitlines() if line.count("│") > 2}
    assert (
        "not answering" in rows["accel-domain-nosuch"]
        and str(tmp_path / "logs") in rows["accel-domain-nosuch"]
    )
    assert "down" in rows["valkey"] and "down" in rows["model server"], done.output
