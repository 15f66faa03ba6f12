"""``/mcp``: MCP over Streamable HTTP for remote hosts, loaded after the server is up.

The MCP stack (``agentdraft_agents.mcp_http``, the ``mcp`` extra) takes seconds to
import, so the server does not wait for it: the lifespan loads it in a worker thread
and runs its session manager in a background task, and a request to ``/mcp`` waits
until it is ready. Without the extra, ``/mcp`` answers 404 naming what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from ..coordinator import Coordinator

MODULE = "agentdraft_agents.mcp_http"


class RemoteMCP:
    """An ASGI app for ``/mcp`` that hands each request to the loaded MCP app."""

    def __init__(self, coord: Coordinator) -> None:
        self.coord = coord
        self.app: Any = None
        self.ready = asyncio.Event()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Enter in the web app's lifespan: loads and serves MCP in the background."""
        stop = asyncio.Event()
        task = asyncio.create_task(self._serve(stop))
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _serve(self, stop: asyncio.Event) -> None:
        try:
            module = await anyio.to_thread.run_sync(importlib.import_module, MODULE)
        except ImportError:
            self.ready.set()  # no extra: /mcp answers 404
            return
        self.app = module.AuthenticatedMCP(self.coord.client)
        async with self.app.running():
            self.ready.set()
            await stop.wait()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.ready.wait()
        if self.app is not None:
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "error": "not_found",
                "detail": "MCP over HTTP needs the mcp extra: pip install 'agentdraft-agents[mcp]'",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


__all__ = ["RemoteMCP"]
