"""What every command shares: the store options, opening the coordinator, printing JSON."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from ..coordinator import Coordinator
from ..errors import AgentDraftError
from ..outbox import RetryPolicy

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


def positive_seconds(text: str) -> float:
    """An argparse type: a number of seconds above zero."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be above 0 seconds, got {text}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {text}")
    return value


def worker_args(p: argparse.ArgumentParser) -> None:
    """The flags the outbox workers share (``webhooks dispatch``, ``connectors sync``)."""
    p.add_argument(
        "--cooldown-seconds",
        type=positive_seconds,
        default=RetryPolicy.cooldown_seconds,
        help="leave a server that failed to answer alone this long; doubles per failure "
        "in a row (default %(default)s)",
    )
    p.add_argument(
        "--calendars-at-once",
        type=positive_int,
        default=RetryPolicy.calendars_at_once,
        help="calendars served at once, one thread each (default %(default)s)",
    )


def worker_settings(args: argparse.Namespace) -> dict[str, Any]:
    """:func:`worker_args`' values as ``RetryPolicy`` keywords."""
    return {
        "cooldown_seconds": args.cooldown_seconds,
        "calendars_at_once": args.calendars_at_once,
    }


def json_arg(text: str) -> Any:
    """An option value given as JSON (``'{"mon": ["09:00-17:00"]}'``, ``10``, ``null``)."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None


def json_flag(p: argparse.ArgumentParser) -> None:
    """``--json``: print the result as one JSON document instead of text."""
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def dump(value: Any) -> Any:
    """A result as plain JSON data (pydantic models in their wire form)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    return value


def run_owner_command(
    args: argparse.Namespace,
    action: Callable[[Coordinator], Any],
    text: Callable[[Any], str],
) -> int:
    """Open the coordinator, run one owner-side action, print its result.

    ``--json`` prints the result as JSON, otherwise ``text(result)``. A refused
    action (unknown id, bad rule, …) prints ``coordinator: <error>: <detail>`` on
    stderr and exits 1; nothing is written.
    """
    with open_coordinator(args) as coord:
        try:
            result = action(coord)
        except AgentDraftError as exc:
            return error_exit(exc)
    if args.json:
        print(json.dumps(dump(result), default=str))
    else:
        print(text(result))
    return 0
