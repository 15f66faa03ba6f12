"""The FastAPI application: protocol v0.1 over any coordinator.

Several server processes (uvicorn workers or separate servers) sharing one
Redis behave as one coordinator: every decision is made by a Lua script in
Redis, none in the process. The busiest calls (commit, booking read,
availability) run on the event loop over an asyncio Redis client (``hot.py``); a
write that must wait out an arbitration window continues in the thread pool, as
the other writes run there.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI
from prometheus_client import start_http_server
from starlette.routing import Route

from .. import __version__
from ..audit.signer import start_checkpoint_signer
from ..connectors.worker import start_connector_sync
from ..coordinator import Coordinator
from ..mail.runner import start_mail_from_env
from ..store.aio import AsyncCalls, async_twin
from . import dashboard, docs, errors, front
from .config import ServerConfig
from .heap import freeze_startup_heap
from .hot import HotPath
from .limits import DEFAULT_MAX_BODY_BYTES, BodyLimit
from .observe import REGISTRY, Observe, OutboxDepth, configure_logging, metrics_endpoint
from .remote_mcp import RemoteMCP
from .routes import (
    agents,
    approvals,
    audit,
    auth,
    availability,
    bookings,
    connectors,
    jwks,
    mailbox,
    ops,
    owner,
    owner_agents,
    owner_approvals,
    owner_mailbox,
    owner_views,
    proposals,
    rules,
    signatures,
    webhooks,
)
from .sessions import Sessions
from .supervise import StoreWatch, WebhookThread

#: FastAPI's native OpenTelemetry instrumentation off, where FastAPI has it (>= 0.13x).
_NO_OTEL: dict[str, Any] = (
    {"telemetry": {"tracing": False, "metrics": False, "logs": False}}
    if "telemetry" in inspect.signature(FastAPI.__init__).parameters
    else {}
)

#: Threads serving requests; each waiting writer holds one for up to its window.
WORKER_THREADS = 200


def create_app(
    coord: Coordinator,
    *,
    dev: bool = False,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    metrics: bool = False,
    metrics_port: int | None = None,
    embedded_dir: str | Path | None = None,
    dispatch: bool = False,
) -> FastAPI:
    """An app serving ``coord``. ``dev`` enables magic-link sign-in with tokens in the body.

    Request bodies over ``max_body_bytes`` are refused with 413 before they are read.
    ``metrics`` mounts ``GET /metrics``; ``metrics_port`` serves them on their own port.
    ``embedded_dir`` names the embedded engine's folder, restarted if its server dies.
    ``dispatch`` runs a webhook dispatcher in this process (else run
    ``coordinator webhooks dispatch``).
    """
    watch = StoreWatch(coord.redis, embedded_dir=embedded_dir)
    background: dict[str, Any] = {"store_watch": watch}
    # The hot calls' asyncio client (set by the lifespan: it belongs to its event loop)
    # and their header -> client map, which the front door reads without app.state.
    hot_path = HotPath()
    remote_mcp = RemoteMCP(coord)  # /mcp: MCP over Streamable HTTP, per-agent Bearer keys

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = WORKER_THREADS
        # Proposal deadlines fire from here even when no request comes in.
        coord.proposals.timers.ensure_running()
        sync = start_connector_sync(coord)  # pulls and pushes the owners' real calendars
        if sync is not None:
            background["connector_sync"] = sync
        watch.start()
        mail = start_mail_from_env(coord)  # AGENTDRAFT_MAIL_SERVE=1: receiver + dispatcher
        hooks = WebhookThread(coord) if dispatch else None
        if hooks is not None:
            background["webhook_dispatcher"] = hooks
            hooks.start()
        # Signs the checkpoints the scripts ask for (with audit_checkpoint_every set).
        signer = start_checkpoint_signer(coord.store, coord.audit.key_path())
        if signer is not None:
            background["checkpoint_signer"] = signer
        if metrics_port is not None:
            start_http_server(metrics_port, addr="127.0.0.1", registry=REGISTRY)
        # The hot routes' asyncio client (server/hot.py), bound to this event loop.
        twin = async_twin(coord.redis)
        hot_path.aio = None if twin is None else AsyncCalls.open(twin)
        async with remote_mcp.running():
            # Start-up done: the garbage collector stops walking its objects (heap.py);
            # once more when the MCP stack has loaded in its background thread.
            freeze_startup_heap()
            refreeze = asyncio.create_task(_freeze_when(remote_mcp.ready))
            yield
            refreeze.cancel()
        if hot_path.aio is not None:
            await hot_path.aio.aclose()
            hot_path.aio = None
        if hooks is not None:
            hooks.stop()
        if mail is not None:
            mail.stop()
        if signer is not None:
            signer.stop()
        watch.stop()
        if sync is not None:
            sync.stop()
        coord.proposals.timers.stop()

    app = front.FrontDoorApp(
        title="AgentDraft coordinator",
        version=__version__,
        summary="Protocol v0.1: exactly one agent wins each contested slot.",
        lifespan=lifespan,
        # Swagger UI from the package's own files (docs.py); no CDN-loaded ReDoc.
        docs_url=None,
        redoc_url=None,
        # FastAPI's own OpenTelemetry hooks look up three providers on every request
        # (~5 us of a ~125 us booking read); the server's telemetry is its Prometheus
        # metrics and access log (observe.py).
        **_NO_OTEL,
    )
    app.state.coordinator = coord
    app.state.sessions = Sessions(coord)
    app.state.agent_clients = {}
    app.state.dev = dev
    app.state.background = background
    errors.install(app)
    docs.install(app)
    dashboard.install(app)  # the owner's pages at /dashboard
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    # Outermost, so refusals by the layers inside (413s too) are timed and logged.
    app.add_middleware(Observe, metrics=metrics or metrics_port is not None)
    if metrics or metrics_port is not None:
        _register_once(OutboxDepth(coord))
    if metrics:
        app.add_route("/metrics", metrics_endpoint, include_in_schema=False)
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
        owner_agents,
        owner_approvals,
        owner_views,
        owner_mailbox,
        mailbox,
        owner,
        webhooks,
        ops,
        jwks,
        signatures,
    ):
        app.include_router(module.router)
    if remote_mcp is not None:
        # A Route, not app.add_route: that helper is typed for request handlers, and
        # /mcp is an ASGI app (Route runs a non-function endpoint as one).
        app.router.routes.append(
            Route("/mcp", remote_mcp, methods=["GET", "POST", "DELETE"], include_in_schema=False)
        )
    # Commit, booking read and availability answered outside the middleware stack
    # (front.py), on the event loop (hot.py); their FastAPI twins answer the rest.
    front.install(
        app,
        (bookings.router, availability.router),
        hot_path=hot_path,
        max_body_bytes=max_body_bytes,
        metrics=metrics or metrics_port is not None,
    )
    return app


async def _freeze_when(ready: asyncio.Event) -> None:
    await ready.wait()
    freeze_startup_heap()


_registered: list[OutboxDepth] = []


def _register_once(collector: OutboxDepth) -> None:
    """One outbox gauge per process (the registry refuses a second with the same name)."""
    if _registered:
        _registered[0].coord = collector.coord
        return
    REGISTRY.register(collector)
    _registered.append(collector)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` workers: configuration comes from the environment.

    Every variable is listed in :data:`.config.VARIABLES` (and README "Production").
    """
    config = ServerConfig.from_env()
    configure_logging(config.log_level, json_lines=config.json_logs)
    settings: dict[str, Any] = {}
    if not config.connector_sync:
        settings["run_connector_sync"] = False
    if config.arbitration_window_ms is not None:
        settings["arbitration_window_ms"] = config.arbitration_window_ms
    if config.audit_checkpoint_every:
        settings["audit_checkpoint_every"] = config.audit_checkpoint_every
    coord = (
        Coordinator.from_url(config.redis_url, **settings)
        if config.redis_url
        else Coordinator.embedded(config.embedded_dir(), **settings)
    )
    return create_app(
        coord,
        dev=config.dev,
        max_body_bytes=config.max_body_bytes,
        metrics=config.metrics,
        metrics_port=config.metrics_port,
        embedded_dir=config.embedded_dir(),
        dispatch=config.dispatch,
    )
