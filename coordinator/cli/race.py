"""``coordinator race``: N agents race for one slot; prints outcomes and the audit."""

from __future__ import annotations

import argparse
from typing import Any

from ..store.embedded import embedded_status
from .common import Subparsers, open_coordinator, store_args
from .embedded import leave_or_stop


def cmd_race(args: argparse.Namespace) -> int:
    from ..race import format_race, run_race

    settings: dict[str, Any] = {}
    if args.window_ms is not None:
        settings["arbitration_window_ms"] = args.window_ms
    before = None if args.redis_url else embedded_status(args.data_dir)
    with open_coordinator(args, **settings) as coord:
        result = run_race(coord, args.agents)
        print(format_race(result))
    if before is not None:
        print(leave_or_stop(before, keep=args.keep_running))
    return 0 if len(result.winners) == 1 and result.audit_ok else 1


def register(sub: Subparsers) -> None:
    race = sub.add_parser("race", help="N agents race for one slot; prints outcomes and audit")
    store_args(race)
    race.add_argument("--agents", type=int, default=5, help="how many agents race (default 5)")
    race.add_argument(
        "--window-ms",
        type=int,
        default=None,
        help="arbitration window in ms (default: the coordinator's)",
    )
    race.add_argument(
        "--keep-running",
        action="store_true",
        help="leave the embedded engine running if this race started it (default: stop it)",
    )
    race.set_defaults(func=cmd_race)
