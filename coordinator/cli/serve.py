"""``coordinator serve``: run the HTTP server (protocol v0.1) under uvicorn."""

from __future__ import annotations

import argparse
import os
import sys

from .common import Subparsers, store_args


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn
    except ImportError:
        print(
            "the HTTP server needs the 'server' extra: pip install 'agentdraft-agents[server]'",
            file=sys.stderr,
        )
        return 2
    if args.redis_url:
        os.environ["AGENTDRAFT_REDIS_URL"] = args.redis_url
    if args.data_dir:
        os.environ["AGENTDRAFT_DATA_DIR"] = args.data_dir
    if args.dev:
        os.environ["AGENTDRAFT_DEV"] = "1"
    if args.no_connector_sync:
        os.environ["AGENTDRAFT_CONNECTOR_SYNC"] = "0"
    if args.window_ms is not None:
        os.environ["AGENTDRAFT_ARBITRATION_WINDOW_MS"] = str(args.window_ms)
    for env, value in (
        ("AGENTDRAFT_MAX_BODY_BYTES", args.max_body_bytes),
        ("AGENTDRAFT_HEADER_TIMEOUT", args.header_timeout),
        ("AGENTDRAFT_BODY_TIMEOUT", args.body_timeout),
        ("AGENTDRAFT_METRICS", "1" if args.metrics else None),
        ("AGENTDRAFT_METRICS_PORT", args.metrics_port),
        ("AGENTDRAFT_LOG_FORMAT", args.log_format),
        ("AGENTDRAFT_LOG_LEVEL", args.log_level),
        ("AGENTDRAFT_PUBLIC_URL", args.public_url),
        ("AGENTDRAFT_DISPATCH", "1" if args.dispatch else None),
    ):
        if value is not None:
            os.environ[env] = str(value)
    from ..server.config import ServerConfig
    from ..server.protocol import IMPORT_NAME

    config = ServerConfig.from_env()
    print(
        f"coordinator serve: listening on http://{args.host}:{args.port} "
        f"({args.workers} worker{'s' if args.workers != 1 else ''}), "
        f"store: {config.describe_store()}, dev mode {'on' if config.dev else 'off'}"
        + (", metrics at /metrics" if config.metrics else "")
        + (f", metrics on port {config.metrics_port}" if config.metrics_port else ""),
        flush=True,
    )

    uvicorn.run(
        "coordinator.server.app:app_from_env",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        # Header/body deadlines and JSON errors from the HTTP layer (server/protocol.py).
        http=IMPORT_NAME,
        timeout_keep_alive=args.keep_alive,
        # The coordinator logs each request itself (coordinator.access, server/observe.py);
        # uvicorn's own line would log it twice, and cost every request its formatting.
        access_log=False,
    )
    return 0


def register(sub: Subparsers) -> None:
    serve = sub.add_parser("serve", help="run the HTTP server (protocol v0.1)")
    store_args(serve)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default %(default)s)"
    )
    serve.add_argument("--port", type=int, default=8080, help="TCP port (default %(default)s)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing one Redis (default %(default)s)",
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        help="dev mode: magic-link sign-in returns the token in the body",
    )
    serve.add_argument(
        "--no-connector-sync",
        action="store_true",
        help="do not run the calendar connector sync worker in the server processes",
    )
    serve.add_argument(
        "--window-ms",
        type=int,
        default=None,
        help="arbitration window in ms (default: the coordinator's)",
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="uvicorn log level (default %(default)s)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="largest request body; larger ones get 413 unread "
        "(default $AGENTDRAFT_MAX_BODY_BYTES or 1 MiB)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=None,
        help="seconds a client has to send a request's headers before the connection is "
        "closed (default $AGENTDRAFT_HEADER_TIMEOUT or 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=None,
        help="seconds a client has to send a request's body (default $AGENTDRAFT_BODY_TIMEOUT "
        "or 30)",
    )
    serve.add_argument(
        "--keep-alive",
        type=int,
        default=5,
        help="seconds an idle keep-alive connection stays open (default %(default)s)",
    )
    serve.add_argument(
        "--metrics",
        action="store_true",
        help="serve Prometheus metrics at GET /metrics (off by default)",
    )
    serve.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve Prometheus metrics on this port (127.0.0.1) instead of the API port",
    )
    serve.add_argument(
        "--log-format",
        choices=["text", "json"],
        default=None,
        help="request and server log lines as text or JSON lines (default text)",
    )
    serve.add_argument(
        "--public-url",
        default=None,
        help="the origin browsers reach this server at, when behind a proxy (CSRF check)",
    )
    serve.add_argument(
        "--dispatch",
        action="store_true",
        help="also deliver webhooks from this process "
        "(else run `coordinator webhooks dispatch` beside it)",
    )
    serve.set_defaults(func=cmd_serve)
