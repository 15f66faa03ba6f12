"""What every command shares: the store options, opening the coordinator, printing JSON."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..coordinator import Coordinator
from ..errors import AgentDraftError

#: ``sub.add_parser`` returns this; each command group module adds its commands to it.
Subparsers = Any


def store_args(p: argparse.ArgumentParser) -> None:
    """``--redis-url`` or ``--data-dir``: which Redis the command opens."""
    p.add_argument(
        "--redis-url",
        help="redis://, rediss://, unix:// or a Cluster node; default: the embedded engine",
    )
    p.add_argument(
        "--data-dir",
        help="embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)",
    )


def open_coordinator(args: argparse.Namespace, **settings: Any) -> Coordinator:
    """The coordinator the store options name."""
    if args.redis_url:
        return Coordinator.from_url(args.redis_url, **settings)
    return Coordinator.embedded(args.data_dir, **settings)


def print_json(value: Any) -> None:
    """One JSON document on stdout (pydantic models are dumped in their wire form)."""
    if hasattr(value, "model_dump"):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if hasattr(v, "model_dump") else v for v in value]
    print(json.dumps(value, default=str))


def fail(message: str, code: int = 1) -> int:
    """Say what went wrong on stderr and return the exit status."""
    print(f"coordinator: {message}", file=sys.stderr)
    return code


def error_exit(exc: AgentDraftError) -> int:
    """A typed error as one line on stderr; exit status 1."""
    return fail(f"{exc.error}: {exc.detail}")
