"""``coordinator owners token``: the owner's side of sign-in from a shell."""

from __future__ import annotations

import argparse

from .common import Subparsers, open_coordinator, store_args


def cmd_owner_token(args: argparse.Namespace) -> int:
    from ..server.sessions import Sessions

    with open_coordinator(args) as coord:
        token = Sessions(coord).login_token(args.email)
        print(token)
    return 0


def register(sub: Subparsers) -> None:
    owners = sub.add_parser("owners", help="owner sign-in credentials")
    osub = owners.add_subparsers(dest="owners_command", required=True)
    token = osub.add_parser("token", help="mint a login token for an owner (creates the owner)")
    store_args(token)
    token.add_argument("--email", required=True, help="the owner's email address")
    token.set_defaults(func=cmd_owner_token)
