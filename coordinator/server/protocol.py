"""The HTTP/1.1 connection guard: header and body deadlines, JSON errors from the HTTP layer.

uvicorn bounds how long an idle keep-alive connection may wait, but not how
long a client may take to send a request: a connection that opens and sends
nothing, or sends its headers a byte at a time (slowloris), or stops halfway
through its body, is held open indefinitely. This protocol (uvicorn's
httptools protocol with deadlines) closes such a connection once
``header_timeout`` passes before the request headers are complete, or
``body_timeout`` before the body is (one sweep per worker checks every
connection a few times per deadline: a connection is closed at most a quarter of
the shorter deadline, and at most 1 s, after its own). A request whose body has arrived is
never cut short: its handler may wait out an arbitration window. A request
head over ``max_header_bytes`` (64 KiB) gets 431. Requests the parser refuses
are answered with the JSON ``{error, detail}`` every other error uses, not
uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any, cast

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Seconds a client has to send a complete request head / body; ``serve --header-timeout``
#: and ``--body-timeout`` (or ``AGENTDRAFT_HEADER_TIMEOUT`` / ``AGENTDRAFT_BODY_TIMEOUT``).
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_BODY_TIMEOUT = 30.0
#: Largest request head (request line and headers, without the body), in bytes.
DEFAULT_MAX_HEADER_BYTES = 64 * 1024
#: What ``uvicorn --http`` is given (workers import it by name).
IMPORT_NAME = "coordinator.server.protocol:GuardedHttpProtocol"


def _seconds(env: str, default: float) -> float:
    return float(os.environ.get(env) or default)


_IDLE, _HEAD, _BODY, _APP = range(4)


def _json_response(status: bytes, error: str, detail: str) -> bytes:
    body = orjson.dumps({"error": error, "detail": detail})
    return b"".join(
        [
            b"HTTP/1.1 " + status + b"\r\n",
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class _Sweep:
    """One event loop's deadline checks: a periodic sweep over its open connections.

    A timer per request (armed when its head starts, re-armed when its body starts,
    cancelled when it is read) cost two timer handles, two cancellations and a dozen
    Python calls per request. Instead each connection notes when its phase began, and
    one timer per event loop, every ``tick`` seconds while any connection is open,
    closes those past their deadline: a deadline is kept to within one tick.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, tick: float) -> None:
        self.loop = loop
        self.tick = tick
        self.live: set[GuardedHttpProtocol] = set()
        self.timer: asyncio.TimerHandle | None = None

    def add(self, conn: GuardedHttpProtocol) -> None:
        self.live.add(conn)
        if self.timer is None:
            self.timer = self.loop.call_later(self.tick, self.sweep)

    def sweep(self) -> None:
        now = self.loop.time()
        for conn in list(self.live):
            conn.check_deadline(now)
        if self.live:
            self.timer = self.loop.call_later(self.tick, self.sweep)
        else:  # no connection left: no timer, and no reference to the loop either
            self.timer = None
            if _SWEEPS.get(self.loop) is self:
                del _SWEEPS[self.loop]


class _Coalesced:
    """A connection's transport whose writes of one loop iteration leave in one send.

    uvicorn writes a response's head when the app sends ``http.response.start`` and
    its body on ``http.response.body``: two ``send`` system calls, each waking the
    client's side of the socket, for every small JSON answer. Here a write is held
    until the next write (both go out together) or the end of the loop iteration
    (``call_soon``), whichever comes first, so a streamed response's head still
    leaves at once. ``close`` sends what is held first. Everything else is the
    transport's own.
    """

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is None:
            self._held = data
            self._loop.call_soon(self._flush)
        else:
            self._held = None
            self._transport.write(held + data)

    def _flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if not self._transport.is_closing():
                self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


#: The sweep of each event loop serving guarded connections (one per worker process).
_SWEEPS: dict[asyncio.AbstractEventLoop, _Sweep] = {}


def _sweep_of(loop: asyncio.AbstractEventLoop, shortest: float) -> _Sweep:
    sweep = _SWEEPS.get(loop)
    if sweep is None:
        # A quarter of the shorter deadline, within [0.05 s, 1 s].
        sweep = _SWEEPS[loop] = _Sweep(loop, min(1.0, max(0.05, shortest / 4)))
    return sweep


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline on each request's head and body."""

    # Read once per process: ``serve`` sets them before uvicorn imports this module.
    header_timeout: float = _seconds("AGENTDRAFT_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)
    body_timeout: float = _seconds("AGENTDRAFT_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)
    max_header_bytes: int = int(_seconds("AGENTDRAFT_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _IDLE
        self._since = 0.0  # loop time the current phase began (head or body)
        # httptools keeps every header it is sent: the head is capped here (431).
        self._head_bytes = 0
        self._head_too_large = False
        self._sweep: _Sweep | None = None

    def check_deadline(self, now: float) -> None:
        """Close this connection if its head or body is overdue (called by the sweep)."""
        phase = self._phase
        if phase == _HEAD:
            if now - self._since < self.header_timeout:
                return
        elif phase != _BODY or now - self._since < self.body_timeout:
            return
        self._phase = _IDLE  # once
        if self.transport.is_closing():
            return
        what = "request headers" if phase == _HEAD else "request body"
        self.logger.info("closing a connection that did not send its %s in time", what)
        if phase == _HEAD and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_json_response(b"408 Request Timeout", "request_timeout", what))
        self.transport.close()

    # -- connection life -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.transport = cast(asyncio.Transport, _Coalesced(transport, self.loop))
        # A connection that never sends a byte is held to the header deadline too.
        self._phase = _HEAD
        self._since = self.loop.time()
        self._sweep = _sweep_of(self.loop, min(self.header_timeout, self.body_timeout))
        self._sweep.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._phase = _IDLE
        if self._sweep is not None:
            self._sweep.live.discard(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == _IDLE:
            # The first bytes of the next request on a kept-alive connection.
            self._phase = _HEAD
            self._since = self.loop.time()
        HttpToolsProtocol.data_received(self, data)

    # -- parser callbacks ----------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        HttpToolsProtocol.on_message_begin(self)

    def on_url(self, url: bytes) -> None:
        self._head_bytes += len(url)
        if self._head_bytes > self.max_header_bytes:
            self._head_too_large = True
            raise ValueError("request head too large")  # the parser stops: see send_400
        self.url += url  # as HttpToolsProtocol.on_url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes > self.max_header_bytes:
            self._head_too_large = True
            raise ValueError("request head too large")  # the parser stops: see send_400
        HttpToolsProtocol.on_header(self, name, value)

    def on_headers_complete(self) -> None:
        self._phase = _BODY
        self._since = self.loop.time()
        HttpToolsProtocol.on_headers_complete(self)

    def on_message_complete(self) -> None:
        self._phase = _APP
        HttpToolsProtocol.on_message_complete(self)

    def on_response_complete(self) -> None:
        if self._phase == _APP:
            self._phase = _IDLE
        HttpToolsProtocol.on_response_complete(self)

    def send_400_response(self, msg: str) -> None:
        self._phase = _IDLE
        if self._head_too_large:
            detail = f"request line and headers larger than {self.max_header_bytes} bytes"
            response = _json_response(
                b"431 Request Header Fields Too Large", "headers_too_large", detail
            )
        else:
            response = _json_response(b"400 Bad Request", "bad_request", msg)
        self.transport.write(response)
        self.transport.close()
