"""``coordinator receipts rotate|keys``: the receipt signing keys, from a shell.

The keys live outside Redis, in a 0600 JSON file (``coordinator/receipts.py``): the
one ``--key-file`` names, else ``$AGENTDRAFT_RECEIPT_KEY_FILE``, else
``receipt_keys.json`` in the data folder. ``rotate`` makes the already published next
key the signing one (a new ``kid``) and publishes a fresh next key; keys rotated out
stay in the JWKS until the receipts they signed have expired (``--keep-seconds``, the
receipt lifetime), so every receipt issued before keeps verifying. Every process that
reads the file (``serve`` workers included) signs with the new key on its next receipt.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from ..receipts import KEY_FILE, KEY_FILE_ENV, SigningKeys
from ..settings import Settings
from .common import Subparsers, json_flag


def register(sub: Subparsers) -> None:
    """Add the ``receipts`` command and its subcommands to the top-level parser."""
    rec = sub.add_parser("receipts", help="rotate or list the receipt signing keys")
    rsub = rec.add_subparsers(dest="receipts_command", required=True)
    for name, func, what in (
        ("rotate", cmd_rotate, "sign receipts with a new kid; old keys stay published"),
        ("keys", cmd_keys, "list the keys the JWKS publishes and the one that signs"),
    ):
        p = rsub.add_parser(name, help=what)
        p.add_argument(
            "--key-file",
            help=f"the key file (default ${KEY_FILE_ENV}, else {KEY_FILE} in the data folder)",
        )
        p.add_argument(
            "--data-dir",
            help="data folder holding the key file (default $AGENTDRAFT_DATA_DIR or "
            "~/.agentdraft/data)",
        )
        p.add_argument(
            "--keep-seconds",
            type=float,
            default=Settings().receipt_ttl_seconds,
            help="how long a rotated-out key stays published: the receipts' lifetime "
            "(default 30 days, as the server's receipt_ttl_seconds)",
        )
        json_flag(p)
        p.set_defaults(func=func)


def key_path(args: argparse.Namespace) -> Path:
    """The key file the options name, as ``serve`` would find it."""
    if args.key_file:
        return Path(args.key_file)
    if os.environ.get(KEY_FILE_ENV):
        return Path(os.environ[KEY_FILE_ENV])
    from ..store.embedded import default_data_dir

    folder = Path(args.data_dir) if args.data_dir else default_data_dir()
    return folder / KEY_FILE


def _state(keys: SigningKeys, path: Path) -> dict[str, Any]:
    signing, _ = keys.current()
    return {
        "key_file": str(path),
        "signing_kid": signing,
        "published_kids": [k["kid"] for k in keys.jwks()["keys"]],
    }


def _show(state: dict[str, Any], as_json: bool, head: str) -> None:
    if as_json:
        print(json.dumps(state))
        return
    print(head)
    print(f"  key file:  {state['key_file']}")
    print(f"  signing:   {state['signing_kid']}")
    for kid in state["published_kids"]:
        print(f"  published: {kid}")


def cmd_rotate(args: argparse.Namespace) -> int:
    path = key_path(args)
    keys = SigningKeys(path.resolve(), args.keep_seconds)
    before, _ = keys.current()
    kid = keys.rotate()
    state = {**_state(keys, path), "previous_kid": before}
    _show(state, args.json, f"rotated: receipts are now signed with {kid} (was {before})")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    path = key_path(args)
    keys = SigningKeys(path.resolve(), args.keep_seconds)
    _show(_state(keys, path), args.json, "receipt signing keys")
    return 0
