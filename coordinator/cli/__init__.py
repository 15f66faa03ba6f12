"""The ``coordinator`` command line: one module per command group, wired here.

Each module in this package owns one group (``race``, ``serve``, ``owners``,
``agents``, ``rules``, ``approvals``, ``audit``, ``webhooks``, ``proposals``,
``connectors``, ``receipts``, ``mail``, ``embedded``) and exposes
``register(subparsers)``; add a group by writing a module and listing it in
:data:`GROUPS`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from . import (
    agents,
    approvals,
    audit,
    connectors,
    embedded,
    mail,
    owners,
    proposals,
    race,
    receipts,
    rules,
    serve,
    webhooks,
)

#: Every command group, in the order ``coordinator --help`` lists them.
GROUPS = (
    race,
    serve,
    owners,
    agents,
    rules,
    approvals,
    audit,
    webhooks,
    proposals,
    connectors,
    receipts,
    mail,
    embedded,
)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("agentdraft-agents")
    except PackageNotFoundError:
        from .. import __version__

        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coordinator",
        description="The AgentDraft coordinator: exactly one agent wins each contested slot.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {_version()}", help="print the version"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


__all__ = ["build_parser", "main"]
