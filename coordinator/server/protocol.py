"""The HTTP/1.1 connection guard: header and body deadlines, JSON errors from the HTTP layer.

uvicorn bounds how long an idle keep-alive connection may wait, but not how
long a client may take to send a request: a connection that opens and sends
nothing, or sends its headers a byte at a time (slowloris), or stops halfway
through its body, is held open indefinitely. This protocol (uvicorn's
httptools protocol with deadlines) closes such a connection once
``header_timeout`` passes before the request headers are complete, or
``body_timeout`` before the body is. A request whose body has arrived is
never cut short: its handler may wait out an arbitration window. A request
head over ``max_header_bytes`` (64 KiB) gets 431. Requests the parser refuses
are answered with the JSON ``{error, detail}`` every other error uses, not
uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

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


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline on each request's head and body."""

    # Read once per process: ``serve`` sets them before uvicorn imports this module.
    header_timeout: float = _seconds("AGENTDRAFT_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT)
    body_timeout: float = _seconds("AGENTDRAFT_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT)
    max_header_bytes: int = int(_seconds("AGENTDRAFT_MAX_HEADER_BYTES", DEFAULT_MAX_HEADER_BYTES))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase = _IDLE
        self._deadline: asyncio.TimerHandle | None = None
        # httptools keeps every header it is sent: the head is capped here (431).
        self._head_bytes = 0
        self._head_too_large = False

    def _arm(self, phase: int, seconds: float) -> None:
        self._disarm()
        self._phase = phase
        self._deadline = self.loop.call_later(seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        what = "request headers" if self._phase == _HEAD else "request body"
        self.logger.info("closing a connection that did not send its %s in time", what)
        if self._phase == _HEAD and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(_json_response(b"408 Request Timeout", "request_timeout", what))
        self.transport.close()

    # -- connection life -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # A connection that never sends a byte is held to the header deadline too.
        self._arm(_HEAD, self.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == _IDLE:
            # The first bytes of the next request on a kept-alive connection.
            self._arm(_HEAD, self.header_timeout)
        super().data_received(data)

    # -- parser callbacks ----------------------------------------------------------------

    def _grow_head(self, size: int) -> None:
        self._head_bytes += size
        if self._head_bytes > self.max_header_bytes:
            self._head_too_large = True
            raise ValueError("request head too large")  # the parser stops: see send_400

    def on_message_begin(self) -> None:
        self._head_bytes = 0
        super().on_message_begin()

    def on_url(self, url: bytes) -> None:
        self._grow_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._grow_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._arm(_BODY, self.body_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._phase = _APP
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if self._phase == _APP:
            self._phase = _IDLE
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        if self._head_too_large:
            detail = f"request line and headers larger than {self.max_header_bytes} bytes"
            response = _json_response(
                b"431 Request Header Fields Too Large", "headers_too_large", detail
            )
        else:
            response = _json_response(b"400 Bad Request", "bad_request", msg)
        self.transport.write(response)
        self.transport.close()
