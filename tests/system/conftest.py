"""The whole stack through its public entry point: `accel up` as a child process, real model included."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.system


@dataclass
class RunningStack:
    proc: subprocess.Popen[bytes]
    data_dir: Path
    info: dict[str, object]
    log: Path

    @property
    def nats_url(self) -> str:
        return str(self.info["nats_url"])

    def children(self) -> list[int]:
        out = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True
        )
        return [int(p) for p in out.stdout.split()]


def accel(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "accel.cli", *args], capture_output=True, text=True, timeout=timeout, env=env
    )


def _interruptible() -> None:
    """Ctrl-C stops `accel up`, and the tests send it SIGINT; a job a shell starts in the background
    ignores SIGINT, and its children inherit that (`make test &` left the stack running)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    data = tmp_path_factory.mktemp("stack")
    log = data / "up.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "accel.cli", "up", "--data-dir", str(data)],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, "COLUMNS": "200"},
            preexec_fn=_interruptible,
        )
    info_file = data / "stack.json"
    deadline = time.monotonic() + 240
    while not info_file.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"`accel up` did not come up:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    running = RunningStack(proc, data, json.loads(info_file.read_text()), log)
    yield running
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
