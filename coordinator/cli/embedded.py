"""``coordinator embedded stop``: manage the embedded engine of a data folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .common import Subparsers


def cmd_embedded_stop(args: argparse.Namespace) -> int:
    from ..store.embedded import stop_embedded

    print("stopped" if stop_embedded(args.data_dir) else "no embedded engine was running")
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


def register(sub: Subparsers) -> None:
    emb = sub.add_parser("embedded", help="manage the embedded engine")
    esub = emb.add_subparsers(dest="embedded_command", required=True)
    stop = esub.add_parser("stop", help="shut down the embedded engine of a data folder")
    stop.add_argument(
        "--data-dir",
        help="embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)",
    )
    stop.set_defaults(func=cmd_embedded_stop)
    protect = esub.add_parser(
        "protect",
        help="lock the audit streams with Redis ACLs (needs Redis 7+ / Valkey)",
    )
    protect.add_argument("--data-dir", help="embedded engine folder")
    protect.set_defaults(func=cmd_embedded_protect)
