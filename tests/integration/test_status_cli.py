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


@pytest.mark.parametrize("command", [["ask", "hi"], ["chat"], ["status"]])
def test_a_nats_url_nothing_listens_at_is_refused_before_the_client_tries(
    nats: Server, command: list[str]
) -> None:
    """A refused connection is definite: one line at once, not after the client's ~7 s of connection
    attempts (their error reads "ConnectionRefusedError"). A listening server is used as given."""
    from typer.testing import CliRunner

    from accel.cli import app

    dead = f"nats://127.0.0.1:{free_port()}"
    done = CliRunner().invoke(app, [*command, "--nats-url", dead], env={"COLUMNS": "200"})
    assert done.exit_code == 1, done.output
    assert f"cannot reach NATS at {dead} (connection refused)" in done.output
    assert "ConnectionRefusedError" not in done.output
    live = CliRunner().invoke(app, ["status", "--nats-url", f"{dead},{nats.url}"], env={"COLUMNS": "200"})
    assert "connection refused" not in live.output, live.output  # one server of the list answers
