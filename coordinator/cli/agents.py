"""``coordinator agents create|list|rotate|revoke|unrevoke|rerank``: an owner's agents.

A new or rotated key is printed once (as ``api_key``) and never again: only its
SHA-256 is stored.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from ..models import ALL_SCOPES, Agent, AgentCreated
from .common import Subparsers, json_flag, run_owner_command, store_args


def _line(a: Agent) -> str:
    line = f"{a.agent_id}  {a.name}  priority {a.priority}  {a.status}"
    if isinstance(a, AgentCreated):
        line += f"\napi_key: {a.api_key}  (shown once; store it now)"
    return line


def _lines(found: Sequence[Agent]) -> str:
    return "\n".join(_line(a) for a in found) or "(no agents)"


def cmd_agents_create(args: argparse.Namespace) -> int:
    return run_owner_command(
        args,
        lambda coord: coord.agents.create(
            args.user,
            name=args.name,
            priority=args.priority,
            scopes=args.scopes if args.scopes is not None else ALL_SCOPES,
        ),
        _line,
    )


def cmd_agents_list(args: argparse.Namespace) -> int:
    return run_owner_command(args, lambda coord: coord.agents.list(args.user), _lines)


def cmd_agents_rotate(args: argparse.Namespace) -> int:
    return run_owner_command(args, lambda coord: coord.agents.rotate(args.agent), _line)


def cmd_agents_revoke(args: argparse.Namespace) -> int:
    return run_owner_command(args, lambda coord: coord.agents.revoke(args.agent), _line)


def cmd_agents_unrevoke(args: argparse.Namespace) -> int:
    return run_owner_command(args, lambda coord: coord.agents.unrevoke(args.agent), _line)


def cmd_agents_rerank(args: argparse.Namespace) -> int:
    return run_owner_command(args, lambda coord: coord.agents.rerank(args.user, args.order), _lines)


def _command(sub: Subparsers, name: str, help_text: str, func: object) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(name, help=help_text)
    store_args(p)
    json_flag(p)
    p.set_defaults(func=func)
    return p


def register(sub: Subparsers) -> None:
    agents = sub.add_parser("agents", help="an owner's agents: keys, ranking, revocation")
    asub = agents.add_subparsers(dest="agents_command", required=True)

    create = _command(asub, "create", "register an agent and print its key once", cmd_agents_create)
    create.add_argument("--user", required=True, help="the owner's id (usr_…)")
    create.add_argument("--name", required=True, help="a name the owner recognises")
    create.add_argument(
        "--priority", type=int, help="1 is the most trusted (default: below the others)"
    )
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        choices=ALL_SCOPES,
        help="a scope the key carries (repeat; default: every scope)",
    )

    listing = _command(asub, "list", "the owner's agents, best-ranked first", cmd_agents_list)
    listing.add_argument("--user", required=True, help="the owner's id (usr_…)")

    for name, help_text, func in (
        ("rotate", "mint a new key; the old one fails on its next call", cmd_agents_rotate),
        ("revoke", "the key fails from its next call; record and bookings stay", cmd_agents_revoke),
        ("unrevoke", "mint a new key for a revoked agent", cmd_agents_unrevoke),
    ):
        p = _command(asub, name, help_text, func)
        p.add_argument("--agent", required=True, help="the agent's id (agt_…)")

    rerank = _command(asub, "rerank", "set the owner's ranking (best first)", cmd_agents_rerank)
    rerank.add_argument("--user", required=True, help="the owner's id (usr_…)")
    rerank.add_argument(
        "order", nargs="+", help="agent ids, best first; agents left out follow in their old order"
    )
