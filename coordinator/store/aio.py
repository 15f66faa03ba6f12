"""The server's asyncio path to Redis for the hot calls: one pipelined connection.

The HTTP server answers its busiest requests (a commit, a booking read, an
availability read) on the event loop; a thread-pool hop and a blocking socket read
per request cost more than the script itself, and so did ``redis.asyncio`` (a pool
checkout, a timeout and a retry wrapper per command: most of a booking read's CPU).
:class:`AsyncCalls` instead keeps one connection per event loop and pipelines every
concurrent request's EVALSHA on it: each command is written the moment its request
sends it, and replies, which Redis sends in order, resolve the waiting requests first
in, first out. Writing at once rather than once per loop iteration costs a system call
per command but lets Redis run the first request's script while the loop is still
parsing the next ones; batched, the two took turns (the loop parsed a burst of
requests, then Redis ran the whole burst, then the loop answered it), and a booking
read ran at 0.54x the null server instead of 0.66x (``bench/http_load.py``).
``hiredis`` packs the commands and parses the replies in C; a call that carries its
KEYS and ARGV packed already (an agent's plain commit, :mod:`.resp`) gets only its
head added. The calls themselves are packed by
:class:`~coordinator.store.calls.Calls`, so KEYS and ARGV positions stay in
``calls.py`` alone.

The hot scripts go out as FCALL where the server has Functions, under the same rules
as the sync client's (:mod:`.functions`). Failure behaves as the sync client's: a script
the server forgot (a restart, SCRIPT FLUSH) is loaded again and the call resent
(NOSCRIPT), and so is a missing function; a lost connection fails the
calls in flight with redis-py's ``ConnectionError`` (so they answer 503, outcome
unknown) and the next call reconnects; a reply not seen within the sync client's
socket timeout closes the connection the same way. Error replies become redis-py's
exception classes.

:func:`async_twin` reads the address, password and database from the sync client's
pool. A plain TCP or unix-socket server gets a twin; for TLS or a Cluster it returns
None and the server keeps its thread-pool path for every call.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import hiredis
import redis
import redis.exceptions as rex
from redis._parsers.base import BaseParser

from .calls import Call, Reply, decode_reply
from .connect import CONNECT_TIMEOUT, SOCKET_TIMEOUT
from .functions import FunctionLibrary, falls_back, functions_enabled
from .resp import command_head
from .scripts import FUNCTION_TRANSITIONS, faults_enabled, function_library, script_source

#: The scripts the event loop sends; the others stay on the sync client.
HOT_SCRIPTS = ("commit", "hold", "read_booking", "read_availability")


@dataclass(frozen=True)
class Address:
    """Where the sync client's server is, and how to log in (no TLS: see module doc)."""

    host: str
    port: int
    path: str | None
    username: str | None
    password: str | None
    db: int


def async_twin(client: Any) -> Address | None:
    """The address of the plain server ``client`` talks to, or None (TLS, Cluster)."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or pool.connection_class not in (
        redis.Connection,
        redis.UnixDomainSocketConnection,
    ):
        return None
    kw = pool.connection_kwargs
    return Address(
        host=str(kw.get("host") or "localhost"),
        port=int(kw.get("port", 6379)),
        path=kw.get("path") if pool.connection_class is redis.UnixDomainSocketConnection else None,
        username=kw.get("username"),
        password=kw.get("password"),
        db=int(kw.get("db") or 0),
    )


class _Pipe(asyncio.Protocol):
    """One connection: each command written at once, replies matched in order."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.reader = hiredis.Reader()
        self.waiting: deque[tuple[asyncio.Future[Any], float]] = deque()
        self.closed: Exception | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, packed: bytes) -> asyncio.Future[Any]:
        """Write one packed command; its reply, to await."""
        if self.closed is not None:
            raise rex.ConnectionError(f"Redis connection lost: {self.closed}")
        assert self.transport is not None  # set by connection_made before any send
        future = self.loop.create_future()
        self.waiting.append((future, time.monotonic()))
        self.transport.write(packed)
        return future

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while True:
            reply = self.reader.gets()
            if reply is False:
                return
            future, _ = self.waiting.popleft()
            if future.done():
                continue
            if isinstance(reply, hiredis.ReplyError):
                future.set_exception(BaseParser.parse_error(str(reply)))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.fail(exc or ConnectionResetError("closed by the server"))

    def fail(self, exc: Exception) -> None:
        if self.closed is None:
            self.closed = exc
        while self.waiting:
            future, _ = self.waiting.popleft()
            if not future.done():
                future.set_exception(rex.ConnectionError(f"Redis connection lost: {exc}"))
        if self.transport is not None:
            self.transport.abort()

    def stalled(self, now: float) -> bool:
        return bool(self.waiting) and now - self.waiting[0][1] > SOCKET_TIMEOUT


def _pack(*command: Any) -> bytes:
    """One command in RESP, packed by hiredis."""
    return hiredis.pack_command(command)


def _packed(verb: str, target: str, call: Call) -> bytes:
    """``call`` as ``verb target numkeys KEYS ARGV`` (FCALL or EVALSHA), in RESP: its
    head and its packed KEYS and ARGV where it carries them (``Call.wire``)."""
    n = len(call.keys)
    if call.wire is not None:
        return command_head(verb, target, n, n + len(call.args)) + call.wire
    return hiredis.pack_command((verb, target, n, *call.keys, *call.args))


class AsyncCalls:
    """The hot scripts over one pipelined connection of the running event loop."""

    def __init__(self, address: Address) -> None:
        self.address = address
        faults = faults_enabled()
        self.sources = {name: script_source(name, faults) for name in HOT_SCRIPTS}
        self.shas = {
            name: hashlib.sha1(src.encode(), usedforsecurity=False).hexdigest()
            for name, src in self.sources.items()
        }
        #: Each hot script's Function library; emptied when the server or the user
        #: turns out not to allow Functions (then EVALSHA, for good).
        self.functions = (
            {
                name: function_library(name, faults)
                for name in HOT_SCRIPTS
                if name in FUNCTION_TRANSITIONS
            }
            if functions_enabled()
            else {}
        )
        self._pipe: _Pipe | None = None
        self._connecting: asyncio.Future[_Pipe] | None = None
        self._watchdog: asyncio.TimerHandle | None = None

    @classmethod
    def open(cls, address: Address) -> AsyncCalls:
        return cls(address)

    async def run(self, call: Call) -> Reply:
        """Send one packed call (FCALL, or EVALSHA: each loaded again when the server
        lacks it) and decode its reply."""
        function = self.functions.get(call.script)
        if function is not None:
            # The FCALL is awaited here, not in a helper coroutine: every hot call
            # passes this way, and each coroutine layer costs it (~1,500 instructions).
            packed = _packed("FCALL", function.function, call)
            try:
                return decode_reply(await self._send(packed))
            except rex.ResponseError as error:
                done, raw = await self._fcall_again(function, packed, error)
            if done:
                return decode_reply(raw)
        packed = _packed("EVALSHA", self.shas[call.script], call)
        try:
            raw = await self._send(packed)
        except rex.NoScriptError:
            await self.command("SCRIPT", "LOAD", self.sources[call.script])
            raw = await self._send(packed)
        return decode_reply(raw)

    async def _fcall_again(
        self, function: FunctionLibrary, packed: bytes, error: rex.ResponseError
    ) -> tuple[bool, Any]:
        """After the packed FCALL failed with ``error``: (True, raw reply) once the
        library is loaded and the call sent again, or (False, None): send this call by
        EVALSHA (Functions cannot be used here). The transition's own error is raised."""
        if falls_back(error):
            self.functions.clear()
            return False, None
        try:
            await self.command("FUNCTION", "LOAD", "REPLACE", function.source)
            return True, await self._send(packed)
        except rex.ResponseError as again:
            if falls_back(again):
                self.functions.clear()
            return False, None

    async def command(self, *args: Any) -> Any:
        """One plain command (a read a hot call needs besides its script), pipelined
        with the scripts: its raw reply, bytes not decoded."""
        return await self._send(_pack(*args))

    def _send(self, packed: bytes) -> Awaitable[Any]:
        """The reply to the packed command, to await: the open connection's future
        itself (no coroutine in between), or a coroutine that connects first."""
        pipe = self._pipe
        if pipe is None or pipe.closed is not None:
            return self._connect_and_send(packed)
        return pipe.send(packed)

    async def _connect_and_send(self, packed: bytes) -> Any:
        pipe = await self._connect()
        return await pipe.send(packed)

    async def _connect(self) -> _Pipe:
        """Open (once, however many callers ask at the same time) and log in."""
        if self._connecting is not None:
            return await asyncio.shield(self._connecting)
        loop = asyncio.get_running_loop()
        self._connecting = loop.create_future()
        try:
            pipe = await asyncio.wait_for(self._open(loop), CONNECT_TIMEOUT)
        except (TimeoutError, OSError, rex.RedisError) as exc:
            error = rex.ConnectionError(f"cannot reach Redis: {exc}")
            self._connecting.set_exception(error)
            self._connecting.exception()  # retrieved: waiters get it, nobody must
            self._connecting = None
            raise error from exc
        self._pipe = pipe
        self._connecting.set_result(pipe)
        self._connecting = None
        if self._watchdog is None:
            self._watchdog = loop.call_later(1.0, self._watch)
        return pipe

    async def _open(self, loop: asyncio.AbstractEventLoop) -> _Pipe:
        a = self.address
        if a.path is not None:
            _, pipe = await loop.create_unix_connection(lambda: _Pipe(loop), a.path)
        else:
            _, pipe = await loop.create_connection(lambda: _Pipe(loop), a.host, a.port)
        if a.password:
            login = ("AUTH", a.username, a.password) if a.username else ("AUTH", a.password)
            await pipe.send(_pack(*login))
        if a.db:
            await pipe.send(_pack("SELECT", a.db))
        return pipe

    def _watch(self) -> None:
        """Close a connection whose oldest call went unanswered past the socket timeout."""
        pipe = self._pipe
        if pipe is not None and pipe.stalled(time.monotonic()):
            pipe.fail(TimeoutError(f"no reply within {SOCKET_TIMEOUT:g} s"))
        self._watchdog = asyncio.get_running_loop().call_later(1.0, self._watch)

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if self._pipe is not None:
            self._pipe.fail(ConnectionResetError("closed by the coordinator"))
            self._pipe = None
