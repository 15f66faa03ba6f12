"""``coordinator owners create|list|token``: calendar owners from a shell."""

from __future__ import annotations

import argparse
from typing import Any

from ..models import Owner
from .common import Subparsers, json_flag, open_coordinator, run_owner_command, store_args


def _owner_line(o: Owner) -> str:
    return f"{o.user_id}  timezone {o.timezone}  rules_version {o.rules_version}"


def cmd_owners_create(args: argparse.Namespace) -> int:
    return run_owner_command(
        args,
        lambda coord: coord.owners.create(args.timezone, user_id=args.user_id),
        _owner_line,
    )


def cmd_owners_list(args: argparse.Namespace) -> int:
    def owners(coord: Any) -> list[Owner]:
        return [coord.owners.get(uid) for uid in coord.owners.list()]

    return run_owner_command(
        args, owners, lambda found: "\n".join(_owner_line(o) for o in found) or "(no owners)"
    )


def cmd_owner_token(args: argparse.Namespace) -> int:
    from ..server.sessions import Sessions

    with open_coordinator(args) as coord:
        token = Sessions(coord).login_token(args.email)
        print(token)
    return 0


def register(sub: Subparsers) -> None:
    owners = sub.add_parser("owners", help="calendar owners and their sign-in credentials")
    osub = owners.add_subparsers(dest="owners_command", required=True)

    create = osub.add_parser("create", help="register a calendar owner")
    store_args(create)
    json_flag(create)
    create.add_argument(
        "--timezone", default="UTC", help="IANA zone the owner's rules are read in (default UTC)"
    )
    create.add_argument("--user-id", help="the owner's id (usr_…); default: a new random one")
    create.set_defaults(func=cmd_owners_create)

    listing = osub.add_parser("list", help="every owner of this coordinator")
    store_args(listing)
    json_flag(listing)
    listing.set_defaults(func=cmd_owners_list)

    token = osub.add_parser("token", help="mint a login token for an owner (creates the owner)")
    store_args(token)
    token.add_argument("--email", required=True, help="the owner's email address")
    token.set_defaults(func=cmd_owner_token)
