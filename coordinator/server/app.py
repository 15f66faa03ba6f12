"""The FastAPI application: protocol v0.1 over any coordinator.

Several server processes (uvicorn workers or separate servers) sharing one
Redis behave as one coordinator: every decision is made by a Lua script in
Redis, none in the process. Handlers are plain functions run in a thread pool,
since a lower-ranked winner blocks while its arbitration window runs out.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import FastAPI

from .. import __version__
from ..connectors.worker import start_connector_sync
from ..coordinator import Coordinator
from . import errors
from .limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from .routes import (
    agents,
    approvals,
    audit,
    auth,
    availability,
    bookings,
    connectors,
    dashboard,
    ops,
    owner,
    proposals,
    rules,
    webhooks,
)
from .sessions import Sessions

#: Threads serving requests; each waiting writer holds one for up to its window.
WORKER_THREADS = 200


def create_app(
    coord: Coordinator, *, dev: bool = False, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> FastAPI:
    """An app serving ``coord``. ``dev`` enables magic-link sign-in with tokens in the body.

    Request bodies over ``max_body_bytes`` are refused with 413 before they are read.
    """

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        # Proposal deadlines fire from here even when no request comes in.
        coord.proposals.timers.ensure_running()
        sync = start_connector_sync(coord)  # pulls and pushes the owners' real calendars
        yield
        if sync is not None:
            sync.stop()
        coord.proposals.timers.stop()

    app = FastAPI(
        title="AgentDraft coordinator",
        version=__version__,
        summary="Protocol v0.1: exactly one agent wins each contested slot.",
        lifespan=lifespan,
    )
    app.state.coordinator = coord
    app.state.sessions = Sessions(coord)
    app.state.agent_clients = {}
    app.state.dev = dev
    errors.install(app)
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    for module in (
        bookings,
        availability,
        connectors,
        agents,
        audit,
        approvals,
        proposals,
        rules,
        auth,
        dashboard,
        owner,
        webhooks,
        ops,
    ):
        app.include_router(module.router)
    return app


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` workers: configuration comes from the environment.

    ``AGENTDRAFT_REDIS_URL`` (else the embedded engine in ``AGENTDRAFT_DATA_DIR``),
    ``AGENTDRAFT_DEV=1`` for dev mode, ``AGENTDRAFT_ARBITRATION_WINDOW_MS`` optional,
    ``AGENTDRAFT_MAX_BODY_BYTES`` (default 1 MiB), ``AGENTDRAFT_CONNECTOR_SYNC=0`` to not
    run the connector sync worker in this process.
    """
    settings: dict[str, Any] = {}
    if os.environ.get("AGENTDRAFT_CONNECTOR_SYNC") == "0":
        settings["run_connector_sync"] = False
    if os.environ.get("AGENTDRAFT_ARBITRATION_WINDOW_MS"):
        settings["arbitration_window_ms"] = int(os.environ["AGENTDRAFT_ARBITRATION_WINDOW_MS"])
    url = os.environ.get("AGENTDRAFT_REDIS_URL")
    coord = (
        Coordinator.from_url(url, **settings)
        if url
        else Coordinator.embedded(os.environ.get("AGENTDRAFT_DATA_DIR"), **settings)
    )
    max_body = int(os.environ.get("AGENTDRAFT_MAX_BODY_BYTES") or DEFAULT_MAX_BODY_BYTES)
    return create_app(coord, dev=os.environ.get("AGENTDRAFT_DEV") == "1", max_body_bytes=max_body)
