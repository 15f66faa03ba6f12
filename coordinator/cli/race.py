"""``coordinator race``: N agents race for one slot; prints outcomes and the audit."""

from __future__ import annotations

import argparse
from typing import Any

from .common import Subparsers, open_coordinator, store_args


def cmd_race(args: argparse.Namespace) -> int:
    from ..race import format_race, run_race

    settings: dict[str, Any] = {}
    if args.window_ms is not None:
        settings["arbitration_window_ms"] = args.window_ms
    with open_coordinator(args, **settings) as coord:
        result = run_race(coord, args.agents)
        print(format_race(result))
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
    race.set_defaults(func=cmd_race)
