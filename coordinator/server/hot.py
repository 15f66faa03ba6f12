"""The three busiest calls answered on the event loop, ahead of FastAPI's router.

``POST /v1/bookings``, ``GET /v1/bookings/{id}`` and ``GET /v1/availability`` are
most of an agent's traffic. Through FastAPI each paid for a thread-pool hop (the
commit), a blocking Redis round trip on the loop (the reads), dependency solving and
a pydantic pass or two before any work, which held a single worker at a small
fraction of a bare Starlette app's rate. Here each is a plain ASGI endpoint that
parses only what a well-formed request carries, sends its one script call on the
server's asyncio Redis client (:mod:`coordinator.store.aio`) and writes the same
bytes the FastAPI route would.

Same answers, by construction: anything off the common path (a body that is not a
JSON object of the request model, a header or query value the route's own
validation would judge, no asyncio client) is handed, body replayed, to the
FastAPI route registered for the same path, which stays the single definition of
the request's validation errors and of the OpenAPI document. Domain errors are
raised as the same exceptions and answered by the same handlers; the request log
line, metrics, ETag and Idempotency-Key handling are shared code.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qsl

import orjson
import pydantic
from fastapi.routing import APIRoute, APIRouter
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive, Scope

from ..bookings import Mode, won_booking
from ..client import LocalClient
from ..plain_wins import PlainWon, plain_record
from ..store.aio import AsyncCalls
from .auth import client_for_header
from .limits import too_large
from .observe import count_plain_write, count_write
from .responses import booking_bytes, plain_booking_json, plain_won_json
from .routes.availability import availability_body, etag_header
from .routes.bookings import times_only, write_arguments
from .schemas import BookingRequest

#: A hot call's answer: status, header list (content-length and content-type included)
#: and body, written by the front door as two ASGI messages (server/front.py).
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


@dataclass(slots=True)
class HotPath:
    """What the hot calls read on every request, as plain attributes.

    Starlette's ``app.state`` answers each attribute from ``__getattr__`` only after
    the ordinary look-up has failed, an ``AttributeError`` built and its message
    formatted: ~0.5 µs a read, two reads per request (~15k of a commit's worker
    instructions). ``create_app`` makes one, its lifespan sets the client, and the
    front door holds it.
    """

    #: The event loop's pipelined Redis client (``store/aio.py``), set by the lifespan;
    #: None before it starts, after it ends, or for a store without the asyncio path.
    aio: AsyncCalls | None = None
    #: Raw ``Authorization`` header -> client (``auth.client_for_header``).
    clients_by_header: dict[bytes, LocalClient] = field(default_factory=dict)


Handler = Callable[["Replay", Scope, dict[bytes, bytes], AsyncCalls, HotPath], Awaitable[Answer]]


class Fallback(Exception):
    """This request is not on the common path: FastAPI's route answers it."""


class Replay:
    """Reads the body once, within the size limit; the fallback route is given it again.

    ``limit`` is the body limit (server/limits.py): a body arriving in chunks past it
    raises the same 413 the BodyLimit middleware raises.
    """

    def __init__(self, receive: Receive, limit: int) -> None:
        self._receive = receive
        self._limit = limit
        self.body: bytes | None = None

    async def read(self) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self._limit:
                raise too_large(self._limit)
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        self.body = body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return body

    async def replayed(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


_JSON = (b"content-type", b"application/json")


def json_answer(body: bytes, status: int = 200) -> Answer:
    """Starlette's ``Response(body, media_type="application/json")`` headers, in its order."""
    return status, [(b"content-length", b"%d" % len(body)), _JSON], body


def _client(hot: HotPath, scope: Scope, headers: dict[bytes, bytes]) -> LocalClient:
    client = client_for_header(
        scope["app"].state, headers.get(b"authorization"), hot.clients_by_header
    )
    scope.setdefault("state", {})["agent_id"] = client.agent_id  # for the request log line
    return client


def request_state(scope: Scope) -> dict[str, Any]:
    """The request's ``scope["state"]`` (``request.state`` to FastAPI's handlers)."""
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


async def create_booking(
    replay: Replay, scope: Scope, headers: dict[bytes, bytes], calls: AsyncCalls, hot: HotPath
) -> Answer:
    """POST /v1/bookings (see routes/bookings.py): commit or hold on the loop."""
    if headers.get(b"content-type") != b"application/json":
        raise Fallback
    raw_key = headers.get(b"idempotency-key")
    idempotency_key = None if raw_key is None else raw_key.decode("latin-1")
    if idempotency_key is not None and len(idempotency_key) > 255:
        raise Fallback
    mode: Mode = "commit"
    kwargs: dict[str, Any] = {}
    try:
        data = orjson.loads(await replay.read())
        times = times_only(data)  # most agents send only these: no request model then
        if times is None:
            mode, kwargs = write_arguments(BookingRequest.model_validate(data), idempotency_key)
    except (orjson.JSONDecodeError, pydantic.ValidationError):
        raise Fallback from None
    client = _client(hot, scope, headers)
    if times is not None:
        won = await client.bookings.commit_times_async(calls, *times, idempotency_key)
    else:
        won = await client.bookings.write_record_async(calls, mode, **kwargs)
    if type(won) is PlainWon:
        # A plain commit's outright win: answered from the request and the script's
        # decision (coordinator/plain_wins.py), or else from its record, as below.
        body = plain_won_json(won, client.user_id)
        if body is not None:
            count_plain_write("commit")
            request_state(scope)["outcome"] = "committed"
            return json_answer(body, 201)
        won = plain_record(won)
    if isinstance(won, dict):
        # A plain win: answered from the stored record, as a booking read is, when it is
        # plain enough for that; the model is built only when it is not.
        plain = plain_booking_json(won, client.user_id, None)
        if plain is not None:
            count_plain_write(mode)
            request_state(scope)["outcome"] = won["status"].lower()
            return json_answer(plain, 201)
    booking = won_booking(won, client.user_id)
    count_write(mode, booking)
    request_state(scope)["outcome"] = booking.status.lower()
    return json_answer(booking_bytes(booking), 201)


_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


async def get_booking(
    replay: Replay, scope: Scope, headers: dict[bytes, bytes], calls: AsyncCalls, hot: HotPath
) -> Answer:
    """GET /v1/bookings/{booking_id} (see routes/bookings.py)."""
    booking_id = scope["path"][13:]  # after "/v1/bookings/"
    if not _ID.fullmatch(booking_id):
        raise Fallback
    client = _client(hot, scope, headers)
    rec, now = await client.bookings.record_async(calls, booking_id)
    plain = plain_booking_json(rec, client.user_id, now)
    if plain is None:
        booking = await client.bookings.from_read_async(rec, now)
        plain = booking_bytes(booking)
    return json_answer(plain)


_TEXT_PARAMS = frozenset({"range_start", "range_end", "user_id"})
_MINUTE_PARAMS = frozenset({"duration_minutes", "granularity_minutes"})
_FLAGS = {"true": True, "false": False}
#: Longest query string whose reading is kept (a bound on what the kept readings hold).
_KEPT_QUERY = 512


class _Ask(NamedTuple):
    """An availability query string, read: ``client.availability.list``'s arguments."""

    start: str
    end: str
    duration_minutes: int
    granularity_minutes: int
    include_holds: bool
    user_id: str | None


def _read_query(query: bytes) -> _Ask | None:
    """The arguments a query string spells the common way, or None (FastAPI reads it)."""
    args: dict[str, Any] = {}
    for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if name in args:
            return None  # a repeated parameter: let FastAPI pick as it always has
        if name in _TEXT_PARAMS and len(value) <= 64:
            args[name] = value
        elif name in _MINUTE_PARAMS and _minutes(value):
            args[name] = int(value)
        elif name == "include_holds" and value in _FLAGS:
            args[name] = _FLAGS[value]
        else:
            return None
    if "range_start" not in args or "range_end" not in args:
        return None
    return _Ask(
        args["range_start"],
        args["range_end"],
        args.get("duration_minutes", 30),
        args.get("granularity_minutes", 15),
        args.get("include_holds", True),
        args.get("user_id"),
    )


#: Readings kept by query string: a polling agent sends the same one again and again.
_read_kept_query = functools.lru_cache(maxsize=1024)(_read_query)


async def availability(
    replay: Replay, scope: Scope, headers: dict[bytes, bytes], calls: AsyncCalls, hot: HotPath
) -> Answer:
    """GET /v1/availability (see routes/availability.py)."""
    query: bytes = scope["query_string"]
    ask = _read_kept_query(query) if len(query) <= _KEPT_QUERY else _read_query(query)
    if ask is None:
        raise Fallback
    client = _client(hot, scope, headers)
    found = await client.availability.list_async(
        calls,
        start=ask.start,
        end=ask.end,
        duration_minutes=ask.duration_minutes,
        granularity_minutes=ask.granularity_minutes,
        include_holds=ask.include_holds,
        user_id=ask.user_id,
    )
    status, head, body = json_answer(availability_body(client, found))
    return status, [(b"etag", etag_header(found).encode("latin-1")), *head], body


def _minutes(value: str) -> bool:
    """Whole minutes in the routes' range, written plainly (no sign, space or leading 0)."""
    return value.isascii() and value.isdigit() and value[0] != "0" and 5 <= int(value) <= 24 * 60


HOT: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/bookings"): create_booking,
    ("GET", "/v1/bookings/{booking_id}"): get_booking,
    ("GET", "/v1/availability"): availability,
}


def twins(routers: Iterable[APIRouter]) -> dict[tuple[str, str], APIRoute]:
    """The FastAPI route of each hot call (its fallback, metrics label and OpenAPI entry)."""
    found: dict[tuple[str, str], APIRoute] = {}
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods or ():
                    if (method, route.path) in HOT:
                        found[method, route.path] = route
    if len(found) != len(HOT):
        raise RuntimeError("a hot route lost its FastAPI route; update server/hot.py")
    return found
