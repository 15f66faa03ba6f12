"""Real HTTP: ``coordinator serve`` subprocesses on loopback, in front of a real Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from coordinator import Coordinator
from tests.support.servers import RedisServer, free_port


@dataclass
class HttpServer:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(
    redis_url: str,
    *,
    dev: bool = True,
    window_ms: int | None = None,
    workers: int = 1,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
) -> HttpServer:
    return start_server_on(
        ["--redis-url", redis_url],
        dev=dev,
        window_ms=window_ms,
        workers=workers,
        extra=extra,
        env=env,
        capture=capture,
    )


#: The shared servers sign in many test owners from one address.
TEST_ENV = {"AGENTDRAFT_MAGIC_LINKS_PER_MINUTE": "100000"}


def start_server_on(
    store_args: list[str],
    *,
    dev: bool = True,
    window_ms: int | None = None,
    workers: int = 1,
    extra: list[str] | None = None,
    env: dict[str, str] | None = None,
    capture: bool = False,
) -> HttpServer:
    """Start ``coordinator serve`` with the given store arguments; wait until it answers.

    ``capture`` pipes its stdout and stderr (read them only after ``stop()``)."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "coordinator",
        "serve",
        "--port",
        str(port),
        *store_args,
        "--workers",
        str(workers),
    ]
    if dev:
        cmd.append("--dev")
    if window_ms is not None:
        cmd += ["--window-ms", str(window_ms)]
    cmd += extra or []
    pipe = subprocess.PIPE if capture else None
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **TEST_ENV, **(env or {})},
        stdout=pipe,
        stderr=pipe,
        text=capture,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return HttpServer(url, proc)
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"server on port {port} did not start (exit {proc.poll()})")
        time.sleep(0.05)  # polling a readiness condition with a deadline


def cli_login_token(redis_url: str, email: str) -> str:
    """A login token minted by ``coordinator owners token``, as an operator would."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "coordinator",
            "owners",
            "token",
            "--email",
            email,
            "--redis-url",
            redis_url,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()


@pytest.fixture(scope="session")
def http_redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


@pytest.fixture(scope="session")
def http_server(http_redis: RedisServer) -> Iterator[HttpServer]:
    server = start_server(http_redis.url)
    yield server
    server.stop()


@pytest.fixture
def http_coord(http_redis: RedisServer) -> Iterator[Coordinator]:
    """A coordinator on the server's Redis, to set up owners and agents directly."""
    coord = Coordinator.from_url(http_redis.url)
    yield coord
    coord.close()


@pytest.fixture
def sdk(http_server: HttpServer, http_coord: Coordinator) -> Callable[..., object]:
    """``sdk(priority)`` -> an official ``agentdraft.Client`` for a new agent of one owner."""
    import agentdraft

    owner = http_coord.owners.create()
    clients: list[agentdraft.Client] = []

    def make(priority: int, name: str | None = None) -> agentdraft.Client:
        a = http_coord.agents.create(owner.user_id, name=name or f"p{priority}", priority=priority)
        c = agentdraft.Client(api_key=a.api_key, base_url=http_server.url)
        c.agent_id = a.agent_id  # type: ignore[attr-defined]
        clients.append(c)
        return c

    make.user_id = owner.user_id  # type: ignore[attr-defined]
    return make
