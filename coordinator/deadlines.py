"""A time limit on a whole outbound exchange, not only on each socket operation.

httpx and niquests time out each connect and each read. A server that sends its answer a
byte at a time, each byte inside the read timeout, holds the caller for as long as it
likes. The coordinator's outbound callers are long-lived threads that serve every owner
in turn: the connector sync worker (pulls and pushes) and the webhook dispatcher. So one
owner's slow calendar server or receiver would stall every other owner's pulls, pushes
and deliveries.

:class:`Deadline` bounds the whole exchange. Every socket a client opens is recorded in
its :class:`SocketSet`, by the client's connection hook (:class:`coordinator.outbound.
GuardedBackend` for httpx, the connectors' resolver for niquests). When a deadline on
that set passes, a watchdog thread shuts each socket down. That wakes a read blocked on
it, so the library raises and the caller sees :attr:`Deadline.expired`. Pooled
connections are covered too: the set holds every socket the client still has open, not
only the ones opened inside this deadline.

A socket is remembered by its descriptor and its inode, not by the object. TLS wrapping
detaches the socket object the hook saw, and keeping a duplicate descriptor would keep
the connection open after the client closes it. At expiry the descriptor is duplicated
and checked against the inode first, so a number the system has since reused for
another file is never touched.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from types import TracebackType

__all__ = ["Deadline", "SocketSet"]


class SocketSet:
    """The open sockets of one client (an adapter's session, a dispatcher's pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: descriptor -> inode of every socket added and not yet seen closed.
        self._open: dict[int, int] = {}
        #: Set while a deadline on this set has passed and its caller is still inside it:
        #: a socket opened then (a retry, a redirect) is shut down at once.
        self._expired = False

    def add(self, sock: socket.socket) -> None:
        """Record a socket the client just connected (called by its connection hook)."""
        fd = sock.fileno()
        if fd < 0:
            return
        ino = os.fstat(fd).st_ino
        with self._lock:
            self._prune()
            self._open[fd] = ino
            if self._expired:
                _shutdown(fd, ino)

    def __len__(self) -> int:
        with self._lock:
            self._prune()
            return len(self._open)

    def _prune(self) -> None:
        """Forget sockets the client has closed (their descriptor is gone or reused)."""
        for fd, ino in list(self._open.items()):
            if _inode(fd) != ino:
                del self._open[fd]

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for fd, ino in list(self._open.items()):
                _shutdown(fd, ino)

    def _reset(self) -> None:
        with self._lock:
            self._expired = False


def _inode(fd: int) -> int | None:
    try:
        return os.fstat(fd).st_ino
    except OSError:
        return None


def _shutdown(fd: int, ino: int) -> None:
    """Shut down the socket at ``fd`` if it is still the one with inode ``ino``.

    The duplicate taken first pins whatever ``fd`` names now, so the inode check and the
    shutdown act on the same open file even if the client closes ``fd`` meanwhile."""
    try:
        dup = socket.socket(fileno=os.dup(fd))
    except OSError:
        return  # closed, or no longer a socket
    try:
        if os.fstat(dup.fileno()).st_ino == ino:
            dup.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already shut down or not connected: nothing is blocked on it
    finally:
        dup.close()


class Deadline:
    """``with Deadline(30, sockets):`` — the exchange inside ends within 30 s.

    Past the deadline every socket in ``sockets`` is shut down, so the client's next or
    current read fails. The caller maps that failure to its own timeout error when
    :attr:`expired` is true. Not reentrant: one deadline per exchange."""

    def __init__(self, seconds: float, sockets: SocketSet) -> None:
        if not seconds > 0:
            raise ValueError("a deadline needs a positive number of seconds")
        self.seconds = seconds
        self.sockets = sockets
        self.expires_at = 0.0
        self._passed = threading.Event()
        self._done = False
        self._lock = threading.Lock()

    def __enter__(self) -> Deadline:
        self.expires_at = time.monotonic() + self.seconds
        _WATCHDOG.add(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        with self._lock:
            self._done = True
        if self.expired:
            self.sockets._reset()

    @property
    def expired(self) -> bool:
        """Whether the deadline passed while the exchange was still inside it."""
        return self._passed.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the deadline has passed (and its sockets are shut down)."""
        return self._passed.wait(timeout)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.sockets._expire()
            self._passed.set()


class _Watchdog:
    """One daemon thread that fires deadlines in the order they pass."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, Deadline]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> None:
        with self._cond:
            heapq.heappush(self._heap, (deadline.expires_at, next(self._seq), deadline))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="outbound-deadlines", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    while self._heap and self._heap[0][2]._done:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    wait = self._heap[0][0] - time.monotonic()
                    if wait <= 0:
                        break
                    self._cond.wait(wait)
                _, _, due = heapq.heappop(self._heap)
            due._fire()


_WATCHDOG = _Watchdog()
