"""``coordinator proposals timer``: fire proposal deadlines as a standalone process."""

from __future__ import annotations

import argparse

from .common import Subparsers, open_coordinator, store_args


def cmd_proposals_timer(args: argparse.Namespace) -> int:
    """Fire proposal deadlines (expiry, dead resolvers) until stopped."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_coordinator(args) as coord:
        timers = coord.proposals.timers
        timers.ensure_running()
        print(f"proposal timer running; {timers.pending()} deadline(s) waiting", flush=True)
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
    return 0


def register(sub: Subparsers) -> None:
    props = sub.add_parser("proposals", help="multi-slot proposals")
    psub = props.add_subparsers(dest="proposals_command", required=True)
    timer = psub.add_parser(
        "timer",
        help="fire proposal deadlines until stopped "
        "(serve and every proposal-creating process run one already)",
    )
    store_args(timer)
    timer.set_defaults(func=cmd_proposals_timer)
