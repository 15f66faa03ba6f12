"""MCP over Streamable HTTP for remote hosts: ``/mcp`` on ``coordinator serve``, per-agent keys.

The stdio server (:mod:`.mcp_server`) acts as one agent fixed at start; a remote
host instead sends each request with ``Authorization: Bearer <agent key>`` and the
tools act as that agent, with the same scopes as the REST API (every call runs the
same key, status and scope checks). One MCP server serves every agent: the key is
checked before the request reaches MCP (401 ``unauthorized`` without a valid one),
and the request's service travels in a context variable the tools read.

Stateless mode with JSON responses: no MCP session outlives a request, so any
number of hosts (or server processes) can serve any agent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import anyio
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from .core import BookingService
from .mcp_server import build_server

#: The agent the current HTTP request acts as; set only around one request.
_current: ContextVar[BookingService] = ContextVar("agentdraft_mcp_service")


def _service() -> BookingService:
    return _current.get()


async def _refuse(send: Any, status: int, error: str, detail: str) -> None:
    body = json.dumps({"error": error, "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class AuthenticatedMCP:
    """An ASGI app: check the Bearer key, bind its agent, hand the request to MCP.

    ``client_for(key)`` returns the agent's client or raises an error with an HTTP
    ``status`` (the coordinator's ``AuthError``) for an unknown or revoked key.
    """

    def __init__(self, client_for: Any, *, alternatives: int = 3) -> None:
        self.client_for = client_for
        self.alternatives = alternatives
        self.manager = StreamableHTTPSessionManager(
            build_server(service_for=_service)._mcp_server, json_response=True, stateless=True
        )

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the session manager's task group (enter it in the web app's lifespan)."""
        async with self.manager.run():
            yield

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = dict(scope.get("headers") or [])
        scheme, _, key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            await _refuse(send, 401, "unauthorized", "send Authorization: Bearer <agent key>")
            return
        try:
            client = await anyio.to_thread.run_sync(self.client_for, key.strip())
        except Exception as exc:
            status = getattr(exc, "status", None)
            if not isinstance(status, int) or status not in (401, 403):
                raise
            await _refuse(send, status, getattr(exc, "error", "unauthorized"), str(exc))
            return
        token = _current.set(BookingService(client, alternatives=self.alternatives))
        try:
            await self.manager.handle_request(scope, receive, send)
        finally:
            _current.reset(token)


__all__ = ["AuthenticatedMCP"]
