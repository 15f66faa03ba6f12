"""Map every failure to a typed JSON body: ``{"error": code, "detail": sentence, ...}``.

The official SDK branches on status and ``error``; a body without them would
surface as an untyped ``AgentDraftError``, so no response escapes this mapping,
including FastAPI's own validation errors, unknown routes and crashes.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import AgentDraftError
from .observe import count_refusal

log = logging.getLogger("coordinator.server")

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def error_response(exc: AgentDraftError) -> JSONResponse:
    headers = {}
    retry_after = getattr(exc, "retry_after", None)
    if retry_after is not None:
        headers["Retry-After"] = str(max(1, int(-(-float(retry_after) // 1))))
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.body, status_code=exc.status, headers=headers)


def domain_error(state: dict[str, Any], exc: AgentDraftError) -> JSONResponse:
    """The answer to a domain error; ``state`` is the request's (scope["state"])."""
    body = exc.body
    state["outcome"] = body["error"]  # the request log line says why
    count_refusal(exc.status, body)
    return error_response(exc)


def http_error(state: dict[str, Any], exc: StarletteHTTPException) -> JSONResponse:
    """The answer to an HTTP-layer refusal (404, 405, 413 of a body read in chunks...)."""
    code = _STATUS_CODES.get(exc.status_code, "error")
    state["outcome"] = code
    return JSONResponse(
        {"error": code, "detail": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def crash(exc: Exception) -> JSONResponse:
    """The answer to an unexpected exception, logged with its traceback."""
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse({"error": "internal_error", "detail": "internal error"}, status_code=500)


def _state(request: Request) -> dict[str, Any]:
    state: dict[str, Any] = request.scope.setdefault("state", {})
    return state


def install(app: FastAPI) -> None:
    """The handlers FastAPI's middleware calls; server/front.py calls the same functions."""

    @app.exception_handler(AgentDraftError)
    async def _domain(request: Request, exc: AgentDraftError) -> JSONResponse:
        return domain_error(_state(request), exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        request.state.outcome = "invalid_request"
        first = exc.errors()[0] if exc.errors() else {}
        if first.get("type") == "json_invalid":
            # The body is not JSON at all: name the body, not a character position.
            return JSONResponse(
                {
                    "error": "invalid_request",
                    "detail": f"body: not valid JSON ({first.get('ctx', {}).get('error', '')})",
                    "field": "body",
                },
                status_code=422,
            )
        loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
        # A dict key in the location may be any text the caller sent: keep it encodable.
        field = ".".join(loc).encode("utf-8", "backslashreplace").decode() or "body"
        return JSONResponse(
            {
                "error": "invalid_request",
                "detail": f"{field}: {first.get('msg', 'invalid')}",
                "field": field,
            },
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return http_error(_state(request), exc)

    @app.exception_handler(Exception)
    async def _crash(_: Request, exc: Exception) -> JSONResponse:
        return crash(exc)
