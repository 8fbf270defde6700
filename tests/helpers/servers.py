"""Start real nats-server / valkey-server processes on free 127.0.0.1 ports for tests."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from accel.stack import find_nats_server, find_valkey_server, free_port


@dataclass
class Server:
    url: str
    port: int
    proc: subprocess.Popen[bytes]
    argv: list[str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(2)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(2)

    def restart(self) -> None:
        self.stop()
        self.proc = _spawn(self.argv, self.port)


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s")


def _spawn(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_port(port, proc)
    return proc


@contextlib.contextmanager
def nats_server(store: Path) -> Iterator[Server]:
    port = free_port()
    argv = [str(find_nats_server()), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store)]
    server = Server(f"nats://127.0.0.1:{port}", port, _spawn(argv, port), argv)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def valkey_server(workdir: Path) -> Iterator[Server]:
    port = free_port()
    argv = [
        str(find_valkey_server()), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
        "--dir", str(workdir),
    ]  # fmt: skip
    server = Server(f"redis://127.0.0.1:{port}/0", port, _spawn(argv, port), argv)
    try:
        yield server
    finally:
        server.stop()
