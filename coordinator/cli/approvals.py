"""``coordinator approvals list|approve|deny``: a person's decisions from a shell.

Approving a parked booking commits it through the normal claim, so it can still
lose to a better booking; the printed approval says which (``outcome``).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

from .common import Subparsers, json_flag, run_owner_command, store_args

STATUSES = ("pending", "approved", "denied", "expired")


def _line(a: dict[str, Any]) -> str:
    line = (
        f"{a['approval_id']}  {a['status']}  {a.get('action_type') or ''}  {a.get('summary') or ''}"
    )
    if a.get("outcome"):
        line += f"  outcome {a['outcome']}"
    return line.rstrip()


def _lines(found: Sequence[dict[str, Any]]) -> str:
    return "\n".join(_line(a) for a in found) or "(no approvals)"


def cmd_approvals_list(args: argparse.Namespace) -> int:
    return run_owner_command(
        args, lambda coord: coord.approvals.list(args.user, status=args.status), _lines
    )


def cmd_approvals_approve(args: argparse.Namespace) -> int:
    return run_owner_command(
        args, lambda coord: coord.approvals.approve(args.approval, note=args.note), _line
    )


def cmd_approvals_deny(args: argparse.Namespace) -> int:
    return run_owner_command(
        args, lambda coord: coord.approvals.deny(args.approval, note=args.note), _line
    )


def register(sub: Subparsers) -> None:
    approvals = sub.add_parser("approvals", help="approval requests: list, approve, deny")
    asub = approvals.add_subparsers(dest="approvals_command", required=True)

    listing = asub.add_parser("list", help="the owner's approval requests, oldest first")
    store_args(listing)
    json_flag(listing)
    listing.add_argument("--user", required=True, help="the owner's id (usr_…)")
    listing.add_argument("--status", choices=STATUSES, help="only requests in this state")
    listing.set_defaults(func=cmd_approvals_list)

    for name, help_text, func in (
        ("approve", "approve; a parked booking is committed now", cmd_approvals_approve),
        ("deny", "deny; a parked booking's hold is released", cmd_approvals_deny),
    ):
        p = asub.add_parser(name, help=help_text)
        store_args(p)
        json_flag(p)
        p.add_argument("--approval", required=True, help="the request's id (apr_…)")
        p.add_argument("--note", help="a note kept with the decision")
        p.set_defaults(func=func)
