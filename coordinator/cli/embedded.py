"""``coordinator embedded stop``: manage the embedded engine of a data folder."""

from __future__ import annotations

import argparse

from .common import Subparsers


def cmd_embedded_stop(args: argparse.Namespace) -> int:
    from ..store.connect import stop_embedded

    print("stopped" if stop_embedded(args.data_dir) else "no embedded engine was running")
    return 0


def register(sub: Subparsers) -> None:
    emb = sub.add_parser("embedded", help="manage the embedded engine")
    esub = emb.add_subparsers(dest="embedded_command", required=True)
    stop = esub.add_parser("stop", help="shut down the embedded engine of a data folder")
    stop.add_argument(
        "--data-dir",
        help="embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)",
    )
    stop.set_defaults(func=cmd_embedded_stop)
