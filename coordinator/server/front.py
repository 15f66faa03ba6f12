"""The front door: the three busiest calls answered before FastAPI's middleware stack.

Each request to the FastAPI app passes ServerErrorMiddleware, FastAPI's telemetry
and body-size layers, Observe, BodyLimit, ExceptionMiddleware and
AsyncExitStackMiddleware before the router finds its route, and each layer wraps
``send`` in a closure of its own: tens of microseconds of a booking read whose own
work is about as much. :class:`Front` is the outermost layer (:class:`FrontDoorApp`
puts it there). For ``POST /v1/bookings``, ``GET /v1/bookings/{id}`` and
``GET /v1/availability`` it runs the handler of :mod:`.hot` itself and does the
duties of those layers inline, at the cost of a branch each:

- the body limit: a declared ``Content-Length`` over it gets BodyLimit's 413 unread,
  a body arriving in chunks is counted as it is read (the same 413);
- request id, timing, metrics and the access log line: only when metrics or the
  access log are on, by the same :class:`.observe.Observe`;
- domain errors, HTTP refusals and unexpected exceptions: the same functions
  FastAPI's handlers call (:mod:`.errors`), so the same answers;
- the answer: two ASGI messages with the header list Starlette's ``Response`` would
  build, no response object.

Anything else (another path or method, a repeated header, a request the handler
hands back with ``_Fallback``, body replayed) goes to the full app unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIRouter
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import AgentDraftError
from . import hot
from .errors import crash, domain_error, http_error
from .limits import declares_over, reject
from .observe import OBSERVED, Observe, access_log

_BOOKINGS = "/v1/bookings"
_BOOKING_PREFIX = "/v1/bookings/"
_AVAILABILITY = "/v1/availability"


class FrontDoorApp(FastAPI):
    """A FastAPI app whose middleware stack has a front door outside it (see :func:`install`)."""

    front_door: Callable[[ASGIApp], ASGIApp] | None = None

    def build_middleware_stack(self) -> ASGIApp:
        stack = super().build_middleware_stack()
        return stack if self.front_door is None else self.front_door(stack)


class _Hot:
    """One hot call: its handler, its FastAPI twin (metrics label) and the observed twin."""

    def __init__(self, front: Front, handler: hot.Handler, route: APIRoute) -> None:
        self.front = front
        self.handler = handler
        self.route = route
        self.observed = Observe(self, metrics=front.metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        front = self.front
        raw = scope["headers"]
        headers = dict(raw)
        if len(headers) != len(raw):
            # A repeated header: FastAPI and the body limit read the first; let them.
            await front.app(scope, receive, send)
            return
        scope["route"] = self.route  # the metrics label and the log line read its path
        limit = front.max_body_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declares_over(declared, limit):
            await reject(send, limit)
            return
        replay = hot.Replay(receive, limit)
        try:
            path = front.hot
            calls = path.aio
            if calls is None:
                raise hot.Fallback
            status, head, body = await self.handler(replay, scope, headers, calls, path)
        except hot.Fallback:
            scope[OBSERVED] = True  # timed and logged out here already, if at all
            await front.app(scope, replay.replayed, send)
            return
        except AgentDraftError as exc:
            response = domain_error(hot.request_state(scope), exc)
        except HTTPException as exc:
            response = http_error(hot.request_state(scope), exc)
        except Exception as exc:
            # What ServerErrorMiddleware does: answer 500, then let the server log it.
            await crash(exc)(scope, receive, send)
            raise
        else:
            await send({"type": "http.response.start", "status": status, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return
        await response(scope, receive, send)


class Front:
    """The outermost ASGI layer: the hot calls here, everything else to ``app``."""

    def __init__(
        self,
        app: ASGIApp,
        twins: dict[tuple[str, str], APIRoute],
        *,
        hot_path: hot.HotPath,
        max_body_bytes: int,
        metrics: bool,
    ) -> None:
        self.app = app
        self.hot = hot_path
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics
        self.commit = _Hot(self, hot.create_booking, twins["POST", _BOOKINGS])
        self.read = _Hot(self, hot.get_booking, twins["GET", _BOOKING_PREFIX + "{booking_id}"])
        self.availability = _Hot(self, hot.availability, twins["GET", _AVAILABILITY])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        call: _Hot | None = None
        if scope["type"] == "http" and not scope.get("root_path"):
            method = scope["method"]
            path: str = scope["path"]
            if method == "GET":
                if path.startswith(_BOOKING_PREFIX):
                    # The route's {booking_id}: one non-empty path segment.
                    if len(path) > 13 and path.find("/", 13) < 0:
                        call = self.read
                elif path == _AVAILABILITY:
                    call = self.availability
            elif method == "POST" and path == _BOOKINGS:
                call = self.commit
        if call is None:
            await self.app(scope, receive, send)
        elif self.metrics or access_log.isEnabledFor(logging.INFO):
            await call.observed(scope, receive, send)
        else:
            await call(scope, receive, send)


def install(
    app: FrontDoorApp,
    routers: Iterable[APIRouter],
    *,
    hot_path: hot.HotPath,
    max_body_bytes: int,
    metrics: bool,
) -> None:
    """Put the front door outside ``app``'s middleware; ``routers`` hold the hot calls'
    twins, ``hot_path`` what they read on every request (the lifespan sets its client)."""
    twins = hot.twins(routers)

    def front_door(stack: ASGIApp) -> ASGIApp:
        return Front(
            stack, twins, hot_path=hot_path, max_body_bytes=max_body_bytes, metrics=metrics
        )

    app.front_door = front_door


__all__ = ["Front", "FrontDoorApp", "install"]
