"""``coordinator embedded status|stop|protect``: see, stop and lock the background engines.

An embedded engine is a daemon that outlives the process that started it (so a
notebook and a script can share it). These commands make that visible: ``status``
lists the engines running on this machine (data folder, server binary, version,
pid), ``stop`` shuts one folder's engine down, or every one with ``--all``;
``protect`` makes its audit streams append-only for the coordinator (store/acl.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..store.embedded import EmbeddedStatus, embedded_status, running_embedded, stop_embedded
from .common import Subparsers

_DATA_DIR_HELP = "embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)"


def register(sub: Subparsers) -> None:
    """Add the ``embedded`` command and its subcommands to the top-level parser."""
    emb = sub.add_parser("embedded", help="list or stop the background embedded engines")
    esub = emb.add_subparsers(dest="embedded_command", required=True)
    status = esub.add_parser(
        "status", help="list running embedded engines (folder, binary, version, pid)"
    )
    status.add_argument("--data-dir", default=None, help="show only this folder's engine")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(func=cmd_status)
    stop = esub.add_parser("stop", help="shut down the embedded engine of a data folder")
    stop.add_argument("--data-dir", default=None, help=_DATA_DIR_HELP)
    stop.add_argument("--all", action="store_true", help="stop every running embedded engine")
    stop.add_argument("--json", action="store_true", help="print JSON")
    stop.set_defaults(func=cmd_stop)
    protect = esub.add_parser(
        "protect",
        help="lock the audit streams of an engine started without the ACL (Redis 7+ / Valkey)",
    )
    protect.add_argument("--data-dir", help=_DATA_DIR_HELP)
    protect.set_defaults(func=cmd_embedded_protect)


def cmd_status(args: argparse.Namespace) -> int:
    engines = [embedded_status(args.data_dir)] if args.data_dir else running_embedded()
    _show(engines, args.json, empty="no embedded engine is running")
    return 0


def cmd_stop(args: argparse.Namespace) -> int:
    if args.all:
        targets = [engine.data_dir for engine in running_embedded()]
    else:
        targets = [embedded_status(args.data_dir).data_dir]
    stopped = [folder for folder in targets if stop_embedded(folder)]
    if args.json:
        print(json.dumps({"stopped": stopped}))
    elif stopped:
        for folder in stopped:
            print(f"stopped the embedded engine in {folder}")
    else:
        print("no embedded engine was running")
    return 0


def cmd_embedded_protect(args: argparse.Namespace) -> int:
    from ..audit.operator import admin_client
    from ..store.acl import OPERATOR_SECRET, protect_embedded
    from ..store.embedded import default_data_dir, open_embedded

    folder = Path(args.data_dir) if args.data_dir else default_data_dir()
    open_embedded(folder).close()  # start it if needed
    client = admin_client(folder)
    try:
        protect_embedded(client, folder)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    finally:
        client.close()
    print(
        f"audit streams are append-only for the coordinator; archive as the operator "
        f"(password in {folder / OPERATOR_SECRET})"
    )
    return 0


def leave_or_stop(before: EmbeddedStatus, *, keep: bool) -> str:
    """After a command that opened the engine of ``before.data_dir``: say where it ran,
    and stop it unless it was running before (someone else's) or ``keep`` was asked.

    Its data stays in the folder either way; only the server process goes.
    """
    now = embedded_status(before.data_dir)
    if not now.running:
        return f"Embedded engine in {now.data_dir}: not running."
    if before.running or keep:
        why = "it was running before" if before.running else "--keep-running"
        return (
            f"Embedded engine {now.server} in {now.data_dir} left running (pid {now.pid}, "
            f"{why}); stop it with: coordinator embedded stop --data-dir {now.data_dir}"
        )
    stop_embedded(now.data_dir)
    return (
        f"Embedded engine {now.server} in {now.data_dir} stopped "
        "(this command started it; its data stays in that folder)."
    )


def _show(engines: list[EmbeddedStatus], as_json: bool, *, empty: str) -> None:
    if as_json:
        print(json.dumps([engine.as_dict() for engine in engines], indent=2))
    elif not engines:
        print(empty)
    for engine in [] if as_json else engines:
        print(engine.line())


__all__ = ["leave_or_stop", "register"]
