"""The request body limit: an ASGI middleware that refuses oversized bodies before reading them.

A declared ``Content-Length`` over the limit is answered 413 at once, without
reading a byte of the body; a chunked body is counted as it arrives and refused
the moment it passes the limit. Either way the connection is closed afterwards,
so the rest of the body is never read into memory.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: Default largest request body, in bytes (1 MiB); ``AGENTDRAFT_MAX_BODY_BYTES`` changes it.
DEFAULT_MAX_BODY_BYTES = 1024 * 1024


def _too_large(limit: int) -> str:
    return f"request body larger than {limit} bytes"


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 ``payload_too_large``."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if declares_over(value, limit):
                    await reject(send, limit)
                    return
                break
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large(limit)
            return message

        await self.app(scope, counted, send)


def declares_over(content_length: bytes, limit: int) -> bool:
    """Whether a ``Content-Length`` value declares more than ``limit`` bytes.

    A value that is not a number is left to the server and the route (not a 413).
    """
    try:
        return int(content_length) > limit
    except ValueError:
        return False


def too_large(limit: int) -> HTTPException:
    """The refusal of a body that passed ``limit`` as it arrived.

    FastAPI lets an HTTPException from the body read through to the error handlers,
    which answer the usual {error, detail} (server/errors.py ``http_error``).
    """
    return HTTPException(413, _too_large(limit), headers={"Connection": "close"})


async def reject(send: Send, limit: int) -> None:
    """The 413 of a declared ``Content-Length`` over ``limit``, sent before any body is read."""
    body = orjson.dumps({"error": "payload_too_large", "detail": _too_large(limit)})
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
