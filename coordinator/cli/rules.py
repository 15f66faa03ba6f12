"""``coordinator rules show|set``: an owner's rules from a shell.

``set`` changes only the rules it is given, all validated before anything is
written (a bad one names its field and changes nothing); ``--clear RULE`` removes
one. Structured rules are given as JSON, in the shapes ``coord.rules.update`` takes.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..rules import RULE_NAMES
from ..ruleset import OwnerRules
from .common import Subparsers, json_arg, json_flag, run_owner_command, store_args

#: Options of ``rules set``: (rule, type, help).
_RULE_OPTIONS: tuple[tuple[str, Any, str], ...] = (
    (
        "working_hours",
        json_arg,
        'JSON, e.g. \'{"mon": ["09:00-17:00"], "tue": ["09:00-12:00", "13:00-17:00"]}\'',
    ),
    ("buffer_before_min", int, "minutes kept free before a meeting that gives no buffer"),
    ("buffer_after_min", int, "minutes kept free after a meeting that gives no buffer"),
    (
        "focus_blocks",
        json_arg,
        'JSON list, e.g. \'[{"weekday": "wed", "start": "12:00", "end": "13:00"}]\'',
    ),
    ("min_lead_minutes", int, "a booking starts at least this long after now"),
    ("daily_cap", int, "at most this many bookings start on one local day"),
    (
        "require_approval",
        json_arg,
        'JSON: true, or e.g. \'{"above_minutes": 60, "outside_working_hours": true}\'',
    ),
    ("max_hold_ttl_seconds", float, "the longest hold an agent may ask for (default 3600)"),
)


def _text(r: OwnerRules) -> str:
    rules = r.model_dump(mode="json", exclude={"user_id", "timezone", "rules_version", "ranking"})
    lines = [f"{r.user_id}  timezone {r.timezone}  rules_version {r.rules_version}"]
    lines += [f"  {name}: {value}" for name, value in rules.items() if value is not None]
    lines += [f"  rank {a.priority}: {a.agent_id}" for a in r.ranking]
    return "\n".join(lines)


def cmd_rules_show(args: argparse.Namespace) -> int:
    return run_owner_command(args, lambda coord: coord.rules.get(args.user), _text)


def cmd_rules_set(args: argparse.Namespace) -> int:
    changes: dict[str, Any] = {
        name: getattr(args, name) for name, _, _ in _RULE_OPTIONS if getattr(args, name) is not None
    }
    for name in args.clear or ():
        changes[name] = None

    def update(coord: Any) -> OwnerRules:
        if args.timezone is not None:
            coord.owners.set_timezone(args.user, args.timezone)
        if changes or args.timezone is None:
            return coord.rules.update(args.user, **changes)
        return coord.rules.get(args.user)

    return run_owner_command(args, update, _text)


def register(sub: Subparsers) -> None:
    rules = sub.add_parser("rules", help="an owner's rules: working hours, buffers, caps, …")
    rsub = rules.add_subparsers(dest="rules_command", required=True)

    show = rsub.add_parser("show", help="the owner's rules, timezone and agent ranking")
    store_args(show)
    json_flag(show)
    show.add_argument("--user", required=True, help="the owner's id (usr_…)")
    show.set_defaults(func=cmd_rules_show)

    set_ = rsub.add_parser("set", help="change the rules given; the others stay")
    store_args(set_)
    json_flag(set_)
    set_.add_argument("--user", required=True, help="the owner's id (usr_…)")
    set_.add_argument("--timezone", help="IANA zone every wall-clock rule is read in")
    for name, kind, help_text in _RULE_OPTIONS:
        set_.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, help=help_text)
    set_.add_argument(
        "--clear",
        action="append",
        choices=RULE_NAMES,
        metavar="RULE",
        help=f"remove a rule (repeat); one of {', '.join(RULE_NAMES)}",
    )
    set_.set_defaults(func=cmd_rules_set)
