"""``coordinator connectors``: connect calendars and run the sync worker standalone."""

from __future__ import annotations

import argparse
import os

from .common import (
    Subparsers,
    error_exit,
    fail,
    open_coordinator,
    print_json,
    store_args,
    worker_args,
    worker_settings,
)


def cmd_sync(args: argparse.Namespace) -> int:
    import signal
    import threading

    from ..connectors.push import PushSettings
    from ..connectors.worker import SyncWorker

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_coordinator(args) as coord:
        worker = SyncWorker(
            coord.bookings,
            coord.connectors,
            pull_interval_seconds=args.pull_interval,
            push=PushSettings(
                visibility_ms=args.visibility_ms,
                backoff_base_ms=args.backoff_ms,
                **worker_settings(args),
            ),
        )
        if args.once:
            pulls, pushes = worker.run_once()
            print_json({"pulls": pulls, "pushes": pushes})
            return 0
        try:
            worker.run_forever(stop)
        except KeyboardInterrupt:
            pass
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    from ..errors import AgentDraftError

    password = os.environ.get(args.password_env) if args.password_env else None
    if args.password_env and password is None:
        return fail(f"${args.password_env} is not set")
    with open_coordinator(args) as coord:
        try:
            c = coord.connectors.add(
                args.user_id,
                args.kind,
                url=args.url,
                username=args.username,
                password=password,
                calendar=args.calendar,
                mode=args.mode,
                policy=args.policy,
            )
        except AgentDraftError as exc:
            return error_exit(exc)
        print_json(c)
    return 0


def _one(args: argparse.Namespace, what: str) -> int:
    from ..connectors.registry import sync_wait_seconds
    from ..errors import AgentDraftError

    with open_coordinator(args) as coord:
        try:
            if what == "status":
                print_json(coord.connectors.status(args.connector_id))
            elif what == "pull":
                report = coord.connectors.sync(args.connector_id, wait_seconds=sync_wait_seconds())
                print_json(report.__dict__)
            elif what == "remove":
                coord.connectors.remove(args.connector_id)
                print_json({"removed": args.connector_id})
            else:
                print_json(coord.connectors.list(args.user_id))
        except AgentDraftError as exc:
            return error_exit(exc)
    return 0


def register(sub: Subparsers) -> None:
    group = sub.add_parser("connectors", help="calendar connectors (CalDAV, ICS feeds)")
    csub = group.add_subparsers(dest="connectors_command", required=True)

    sync = csub.add_parser("sync", help="run the sync worker (pull and push) until stopped")
    store_args(sync)
    sync.add_argument("--once", action="store_true", help="one round, then exit")
    sync.add_argument(
        "--pull-interval", type=float, default=60.0, help="seconds between pulls of a connector"
    )
    sync.add_argument(
        "--visibility-ms", type=int, default=30_000, help="reclaim an unacknowledged push after"
    )
    sync.add_argument("--backoff-ms", type=int, default=1_000, help="first push retry delay")
    worker_args(sync)
    sync.set_defaults(func=cmd_sync)

    add = csub.add_parser("add", help="connect an owner's calendar (validated by a first pull)")
    store_args(add)
    add.add_argument("user_id", help="the owner whose calendar it joins (usr_…)")
    add.add_argument(
        "--kind", choices=["caldav", "ics"], default="caldav", help="a CalDAV server or an ICS feed"
    )
    add.add_argument("--url", required=True, help="calendar (or server) URL, or the feed URL")
    add.add_argument("--username", help="the CalDAV account name")
    add.add_argument("--password-env", help="name of the environment variable holding the password")
    add.add_argument("--calendar", help="calendar id or display name under the server URL")
    add.add_argument(
        "--mode",
        choices=["two_way", "read_only", "write_only"],
        default="two_way",
        help="pull busy time, push bookings, or both (default two_way)",
    )
    add.add_argument(
        "--policy",
        choices=["evict", "keep"],
        default="evict",
        help="what a pulled event does to a booking it overlaps (default evict)",
    )
    add.set_defaults(func=cmd_add)

    for name, helptext in (
        ("status", "last pull and push, errors, backlog"),
        ("pull", "pull one connector now"),
        ("remove", "disconnect (its busy blocks leave at once)"),
    ):
        p = csub.add_parser(name, help=helptext)
        store_args(p)
        p.add_argument("connector_id", help="the connector's id")
        p.set_defaults(func=lambda a, n=name: _one(a, n))
    ls = csub.add_parser("list", help="an owner's connectors")
    store_args(ls)
    ls.add_argument("user_id", help="the owner whose connectors to list (usr_…)")
    ls.set_defaults(func=lambda a: _one(a, "list"))
