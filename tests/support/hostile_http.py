"""HTTP servers that misbehave on purpose, on loopback, for the outbound callers' limits.

``TricklingServer`` answers every request one byte at a time, each byte well inside any
read timeout, forever: without a whole-exchange deadline the caller never returns.
``BloatedServer`` answers every request with a huge body as fast as loopback allows.
``SlowErrorServer`` answers every request with an error, but only after a while.
All record what they saw, so a test can tell that the caller hung up and when.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any


def returns_within(call: Callable[[], object], limit_s: float = 15.0) -> BaseException | None:
    """Run ``call`` in a thread and return what it raised (None if nothing); fail the
    test if it has not returned within ``limit_s`` (the thread is left behind)."""
    out: dict[str, BaseException | None] = {"exc": None}

    def run() -> None:
        try:
            call()
        except BaseException as exc:
            out["exc"] = exc

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit_s)
    assert not t.is_alive(), f"still waiting on the server after {limit_s} s"
    return out["exc"]


class _Server:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/"
        self.requests = 0
        self.connections = 0
        #: Set once a client has hung up on an answer this server was still sending.
        self.hung_up = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.connections += 1
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while not self.closed.is_set():
                if not _read_head(conn):
                    return
                with self._lock:
                    self.requests += 1
                self.answer(conn)
        except OSError:
            self.hung_up.set()
        finally:
            conn.close()

    def answer(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.closed.set()
        self.sock.close()
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_head(conn: socket.socket) -> bool:
    """Read one request's head and whatever body its Content-Length names."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        rest += chunk
    return True


class TricklingServer(_Server):
    """Sends a status line and then header lines, one byte every ``interval`` seconds.

    While ``healthy`` holds a body, it answers 200 with that body at once instead (a
    calendar feed that works when a connector is added and trickles afterwards)."""

    def __init__(self, interval: float = 0.05) -> None:
        self.interval = interval
        self.healthy: bytes | None = None
        super().__init__()

    def answer(self, conn: socket.socket) -> None:
        if self.healthy is not None:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/calendar\r\n"
                + f"Content-Length: {len(self.healthy)}\r\n\r\n".encode()
                + self.healthy
            )
            return
        data = b"HTTP/1.1 200 OK\r\n" + b"X-Slow: y\r\n" * 1_000_000
        for i in range(len(data)):
            conn.sendall(data[i : i + 1])
            if self.closed.wait(self.interval):
                return


class BloatedServer(_Server):
    """Answers 200 with a ``size``-byte body; ``sent`` counts what got out before the
    client hung up (the kernel's socket buffers hold a few MiB of it)."""

    def __init__(self, size: int, content_type: str = "text/calendar") -> None:
        self.size = size
        self.content_type = content_type
        self.sent = 0
        super().__init__()

    def answer(self, conn: socket.socket) -> None:
        conn.sendall(
            f"HTTP/1.1 200 OK\r\nContent-Type: {self.content_type}\r\n"
            f"Content-Length: {self.size}\r\n\r\n".encode()
        )
        chunk = b"x" * 65536
        left = self.size
        while left > 0 and not self.closed.is_set():
            n = conn.send(chunk[: min(left, len(chunk))])
            left -= n
            with self._lock:
                self.sent += n


class SlowErrorServer(_Server):
    """Answers every request ``503`` after ``delay`` seconds: a receiver that answers, so it
    is not cooled down, but slowly, so only the pass's budget bounds what it costs."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        super().__init__()

    def answer(self, conn: socket.socket) -> None:
        if self.closed.wait(self.delay):  # the slowness under test, not a synchronisation
            return
        conn.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")


class HoldingProxy(_Server):
    """A TCP proxy on loopback to ``target`` (host, port). While ``hold`` is clear, a new
    connection is accepted and then left waiting, unanswered, until it is set again:
    a server that takes its time (the whole deadline) without trickling anything."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.hold = threading.Event()
        self.hold.set()
        #: Set once a connection has arrived while held.
        self.held = threading.Event()
        super().__init__()
        self.port: int = self.sock.getsockname()[1]

    def _serve(self, conn: socket.socket) -> None:
        if not self.hold.is_set():
            self.held.set()
            self.hold.wait()
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            conn.close()
            return
        for a, b in ((conn, upstream), (upstream, conn)):
            threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self.hold.set()
        super().close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
