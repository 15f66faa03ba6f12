"""``coordinator webhooks dispatch``: deliver outbox events until stopped."""

from __future__ import annotations

import argparse

from .common import Subparsers, open_coordinator, store_args, worker_args, worker_settings


def cmd_webhooks_dispatch(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ..webhooks.dispatcher import Dispatcher, DispatchSettings

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_coordinator(args) as coord:
        d = Dispatcher(
            coord,
            DispatchSettings(
                visibility_ms=args.visibility_ms,
                backoff_base_ms=args.backoff_ms,
                **worker_settings(args),
            ),
        )
        try:
            d.run_forever(stop)
        except KeyboardInterrupt:
            pass
        finally:
            d.close()
    return 0


def register(sub: Subparsers) -> None:
    hooks = sub.add_parser("webhooks", help="webhook delivery")
    hsub = hooks.add_subparsers(dest="webhooks_command", required=True)
    dispatch = hsub.add_parser("dispatch", help="deliver outbox events until stopped")
    store_args(dispatch)
    dispatch.add_argument(
        "--visibility-ms",
        type=int,
        default=30_000,
        help="reclaim an unacknowledged event after this idle time",
    )
    dispatch.add_argument(
        "--backoff-ms",
        type=int,
        default=1_000,
        help="first retry delay in ms; doubles per attempt (default %(default)s)",
    )
    worker_args(dispatch)
    dispatch.set_defaults(func=cmd_webhooks_dispatch)
