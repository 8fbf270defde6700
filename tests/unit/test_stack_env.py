"""The embedded stack: Go's scheduler sized to the machine for nats-server, and one stack per data
folder."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from accel.stack import Stack, StackError, StackInfo, free_port, nats_server_env, usable_cores
from shared.settings import DEFAULT_DOMAINS_DIR


def test_nats_server_gets_a_quarter_of_the_cores_at_least_one() -> None:
    assert nats_server_env({"PATH": "/bin"}, cores=2) == {"PATH": "/bin", "GOMAXPROCS": "1"}
    assert nats_server_env({}, cores=1)["GOMAXPROCS"] == "1"
    assert nats_server_env({}, cores=16)["GOMAXPROCS"] == "4"


def test_an_operators_gomaxprocs_is_kept() -> None:
    assert nats_server_env({"GOMAXPROCS": "3"}, cores=2) == {"GOMAXPROCS": "3"}


def test_without_a_core_count_it_reads_the_machine() -> None:
    expected = str(max(1, usable_cores() // 4))
    assert nats_server_env({})["GOMAXPROCS"] == expected
    assert usable_cores() >= 1


def test_a_stack_file_is_running_only_with_its_process_and_its_nats_port(tmp_path: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"nats://127.0.0.1:{listening.getsockname()[1]}"
        info = StackInfo(
            nats_url=url, redis_url="", model_url=None, data_dir=str(tmp_path), domains=[], pid=0
        )
        assert dataclasses.replace(info, pid=os.getpid()).running()
        gone = subprocess.Popen([sys.executable, "-c", "pass"])
        gone.wait()
        assert not dataclasses.replace(info, pid=gone.pid).running()  # killed stack, file left behind
    assert not dataclasses.replace(info, pid=os.getpid()).running()  # nothing listens on its port now


def test_a_second_stack_on_one_data_folder_is_refused_before_it_starts_anything(tmp_path: Path) -> None:
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        url = f"nats://127.0.0.1:{listening.getsockname()[1]}"
        other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        try:
            StackInfo(url, "", None, str(tmp_path), [], other.pid).save(tmp_path / "stack.json")
            stack = Stack(data_dir=tmp_path, domains_dir=DEFAULT_DOMAINS_DIR)
            with pytest.raises(
                StackError, match=rf"already running on .* \(accel up, pid {other.pid}, NATS {url}\)"
            ):
                asyncio.run(stack.start())
            assert not stack.infra and (tmp_path / "stack.json").exists()
        finally:
            other.kill()
            other.wait()


def test_asking_a_stack_that_has_stopped_says_so_at_once(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from accel.cli import app

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    url = f"nats://127.0.0.1:{free_port()}"
    StackInfo(url, "", None, str(tmp_path), [], gone.pid).save(tmp_path / "stack.json")
    done = CliRunner().invoke(app, ["ask", "hello", "--data-dir", str(tmp_path)])
    said = " ".join(done.output.split())
    assert done.exit_code == 1 and f"pid {gone.pid}, which has stopped" in said, said
    assert "start it again with `accel up`" in said
