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

A socket is remembered by its descriptor, inode and addresses, not by the object. TLS
wrapping detaches the socket object the hook saw, and keeping a duplicate descriptor
would keep the connection open after the client closes it. At expiry the descriptor is
duplicated and checked against what was recorded first, so a number the system has
since reused for another file or connection is never touched.

A name lookup cannot be woken that way: ``getaddrinfo`` asks the system's resolver,
which waits out its own timeouts (glibc: 5 s per try, two tries per nameserver) and
cannot be interrupted. :func:`bounded` runs such a call in a thread of its own, and the
caller stops waiting for it when the deadline passes; the lookup ends in the
background when the resolver gives up.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["Deadline", "DeadlinePassed", "SocketSet", "bounded"]


#: What tells one connection from another: inode, local and peer address.
_Identity = tuple[int, Any, Any]


class SocketSet:
    """The open sockets of one client (an adapter's session, a dispatcher's pool)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: descriptor -> identity of every socket added and not yet seen closed.
        self._open: dict[int, _Identity] = {}
        #: Set while a deadline on this set has passed and its caller is still inside it:
        #: a socket opened then (a retry, a redirect) is shut down at once.
        self._expired = False
        #: The deadline the set's client is inside now, if any (for :func:`bounded`).
        self.deadline: Deadline | None = None

    def add(self, sock: socket.socket) -> None:
        """Record a socket the client just connected (called by its connection hook)."""
        identity = _identity(sock)
        if identity is None:
            return
        with self._lock:
            self._prune()
            self._open[sock.fileno()] = identity
            if self._expired:
                _shutdown(sock.fileno(), identity)

    def __len__(self) -> int:
        with self._lock:
            self._prune()
            return len(self._open)

    def _prune(self) -> None:
        """Forget sockets the client has closed (their descriptor is gone or reused)."""
        for fd, identity in list(self._open.items()):
            pinned = _pin(fd)
            if pinned is None or _identity(pinned) != identity:
                del self._open[fd]
            if pinned is not None:
                pinned.close()

    def _expire(self) -> None:
        with self._lock:
            self._expired = True
            for fd, identity in list(self._open.items()):
                _shutdown(fd, identity)

    def _reset(self) -> None:
        with self._lock:
            self._expired = False


def _identity(sock: socket.socket) -> _Identity | None:
    """The socket's inode with its two addresses: the inode alone is not enough where the
    system gives every socket the same one; a live TCP connection's addresses are its own."""
    try:
        return (os.fstat(sock.fileno()).st_ino, sock.getsockname(), sock.getpeername())
    except OSError:
        return None  # closed or not connected: nothing can block on it


def _pin(fd: int) -> socket.socket | None:
    """A socket object on a duplicate of ``fd``: it keeps whatever ``fd`` names now open,
    so a check and a shutdown on it act on the same file even if ``fd`` is closed
    meanwhile. None when ``fd`` is closed or is not a socket."""
    try:
        dup = os.dup(fd)
    except OSError:
        return None
    try:
        return socket.socket(fileno=dup)
    except OSError:
        os.close(dup)
        return None


def _shutdown(fd: int, identity: _Identity) -> None:
    """Shut down the socket at ``fd`` if it is still the connection the set recorded."""
    pinned = _pin(fd)
    if pinned is None:
        return
    try:
        if _identity(pinned) == identity:
            pinned.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already shut down or reset: nothing is blocked on it
    finally:
        pinned.close()


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
        #: Set before the sockets are shut down: a read they wake already sees it.
        self._fired = False
        #: Set after the sockets are shut down (for :meth:`wait`).
        self._passed = threading.Event()
        self._done = False
        self._lock = threading.Lock()

    def __enter__(self) -> Deadline:
        self.expires_at = time.monotonic() + self.seconds
        self.sockets.deadline = self
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
        if self.sockets.deadline is self:
            self.sockets.deadline = None
        if self.expired:
            self.sockets._reset()

    @property
    def expired(self) -> bool:
        """Whether the deadline passed while the exchange was still inside it."""
        return self._fired

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the deadline has passed (and its sockets are shut down)."""
        return self._passed.wait(timeout)

    def _fire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._fired = True  # before the shutdown wakes the caller, who asks next
            self.sockets._expire()
            self._passed.set()


class DeadlinePassed(OSError):
    """A call :func:`bounded` ran was still going when the deadline passed."""


def bounded(sockets: SocketSet | None, call: Callable[[], T], what: str) -> T:
    """``call()``'s result, or :class:`DeadlinePassed` once the deadline the client of
    ``sockets`` is inside passes first. For calls a socket shutdown cannot wake (a name
    lookup); outside a deadline ``call`` simply runs here. When this raises, the
    deadline has expired (:attr:`Deadline.expired`), so the caller's mapping of a
    failure after expiry applies."""
    deadline = None if sockets is None else sockets.deadline
    if deadline is None:
        return call()
    out: dict[str, Any] = {}
    finished = threading.Event()

    def run() -> None:
        try:
            out["value"] = call()
        except BaseException as exc:
            out["error"] = exc
        finally:
            finished.set()

    threading.Thread(target=run, name="outbound-lookup", daemon=True).start()
    if not finished.wait(max(0.0, deadline.expires_at - time.monotonic())):
        deadline.wait()  # due now: the watchdog marks it expired and shuts the sockets
        raise DeadlinePassed(f"{what} did not finish within {deadline.seconds:g} s")
    if "error" in out:
        raise out["error"]
    value: T = out["value"]
    return value


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
