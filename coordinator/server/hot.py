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

import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson
import pydantic
from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..client import LocalClient
from ..store.aio import AsyncCalls
from .auth import client_for
from .observe import count_write
from .responses import booking_response, plain_booking_json
from .routes.availability import availability_response
from .routes.bookings import write_arguments
from .schemas import BookingRequest

Handler = Callable[["_Replay", Scope, Send, AsyncCalls], Awaitable[None]]


class _Fallback(Exception):
    """This request is not on the common path: FastAPI's route answers it."""


#: Set on a request handed back to the router, so the hot routes let it pass.
_HANDED_BACK = "agentdraft.hot.handed_back"


class HotRoute(Route):
    """A Route answering on the loop; anything else goes back to the router, past it."""

    def __init__(self, path: str, method: str, handler: Handler, router: ASGIApp) -> None:
        self.handler = handler
        self.router = router
        super().__init__(path, self._serve, include_in_schema=False)
        # A plain ASGI endpoint (not Route's request/response wrapper), for exactly the
        # FastAPI route's method (Route would add HEAD to a GET).
        self.app = self._serve
        self.methods = {method}

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope.get(_HANDED_BACK):
            return Match.NONE, {}
        match, child = super().matches(scope)
        if match != Match.NONE:
            child["route"] = self  # the metrics label and the log line read its path
        return match, child

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        calls: AsyncCalls | None = getattr(scope["app"].state, "aio", None)
        replay = _Replay(receive)
        try:
            if calls is None:
                raise _Fallback
            await self.handler(replay, scope, send, calls)
        except _Fallback:
            scope[_HANDED_BACK] = True
            await self.router(scope, replay.replayed, send)


class _Replay:
    """Reads the body once; the fallback route is given it again from the start."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.body: bytes | None = None

    async def receive(self) -> Message:
        return await self._receive()

    async def read(self) -> bytes:
        chunks: list[bytes] = []
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        self.body = b"".join(chunks)
        return self.body

    async def replayed(self) -> Message:
        if self.body is not None:
            body, self.body = self.body, None
            return {"type": "http.request", "body": body, "more_body": False}
        return await self._receive()


def _header(scope: Scope, name: bytes) -> str | None:
    """The first value of header ``name``, as FastAPI's ``Header()`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _client(scope: Scope) -> LocalClient:
    client = client_for(scope["app"].state, _header(scope, b"authorization"))
    scope.setdefault("state", {})["agent_id"] = client.agent_id  # for the request log line
    return client


def _state(scope: Scope) -> dict[str, Any]:
    state: dict[str, Any] = scope.setdefault("state", {})
    return state


async def create_booking(replay: _Replay, scope: Scope, send: Send, calls: AsyncCalls) -> None:
    """POST /v1/bookings (see routes/bookings.py): commit or hold on the loop."""
    if _header(scope, b"content-type") != "application/json":
        raise _Fallback
    idempotency_key = _header(scope, b"idempotency-key")
    if idempotency_key is not None and len(idempotency_key) > 255:
        raise _Fallback
    raw = await replay.read()
    try:
        body = BookingRequest.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, pydantic.ValidationError):
        raise _Fallback from None
    client = _client(scope)
    mode, kwargs = write_arguments(body, idempotency_key)
    booking = await client.bookings.write_async(calls, mode, **kwargs)
    count_write(mode, booking)
    _state(scope)["outcome"] = booking.status.lower()
    await booking_response(booking, 201)(scope, replay.receive, send)


_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}")


async def get_booking(replay: _Replay, scope: Scope, send: Send, calls: AsyncCalls) -> None:
    """GET /v1/bookings/{booking_id} (see routes/bookings.py)."""
    booking_id = scope["path_params"]["booking_id"]
    if not _ID.fullmatch(booking_id):
        raise _Fallback
    client = _client(scope)
    rec, now = await client.bookings.record_async(calls, booking_id)
    plain = plain_booking_json(rec, client.user_id, now)
    if plain is None:
        booking = await client.bookings.from_read_async(rec, now)
        await booking_response(booking)(scope, replay.receive, send)
    else:
        await Response(plain, media_type="application/json")(scope, replay.receive, send)


_TEXT_PARAMS = frozenset({"range_start", "range_end", "user_id"})
_MINUTE_PARAMS = frozenset({"duration_minutes", "granularity_minutes"})
_FLAGS = {"true": True, "false": False}


async def availability(replay: _Replay, scope: Scope, send: Send, calls: AsyncCalls) -> None:
    """GET /v1/availability (see routes/availability.py)."""
    query = QueryParams(scope["query_string"])
    items = query.multi_items()
    args: dict[str, Any] = {}
    for name, value in items:
        if name in args:
            raise _Fallback  # a repeated parameter: let FastAPI pick as it always has
        if name in _TEXT_PARAMS and len(value) <= 64:
            args[name] = value
        elif name in _MINUTE_PARAMS and _minutes(value):
            args[name] = int(value)
        elif name == "include_holds" and value in _FLAGS:
            args[name] = _FLAGS[value]
        else:
            raise _Fallback
    if "range_start" not in args or "range_end" not in args:
        raise _Fallback
    client = _client(scope)
    found = await client.availability.list_async(
        calls,
        start=args["range_start"],
        end=args["range_end"],
        duration_minutes=args.get("duration_minutes", 30),
        granularity_minutes=args.get("granularity_minutes", 15),
        include_holds=args.get("include_holds", True),
        user_id=args.get("user_id"),
    )
    await availability_response(client, found)(scope, replay.receive, send)


def _minutes(value: str) -> bool:
    """Whole minutes in the routes' range, written plainly (no sign, space or leading 0)."""
    return value.isascii() and value.isdigit() and value[0] != "0" and 5 <= int(value) <= 24 * 60


HOT: dict[tuple[str, str], Handler] = {
    ("POST", "/v1/bookings"): create_booking,
    ("GET", "/v1/bookings/{booking_id}"): get_booking,
    ("GET", "/v1/availability"): availability,
}


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Put the hot routes ahead of the router's own; ``routers`` hold their FastAPI twins."""
    hot: list[HotRoute] = []
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                for method in route.methods or ():
                    handler = HOT.get((method, route.path))
                    if handler is not None:
                        hot.append(HotRoute(route.path, method, handler, app.router))
    if len(hot) != len(HOT):
        raise RuntimeError("a hot route lost its FastAPI route; update server/hot.py")
    app.router.routes[:0] = hot
