"""``coordinator mail dkim-keygen``: make a DKIM key and print the DNS record to publish.

The ``mail`` command group (``coordinator/cli/mail.py``) wires this in with
:func:`register_keygen`. The private key goes only to ``--out`` (created with
mode 0600, never overwritten); stdout carries the public TXT record, so the
command's output can be pasted into a zone file or a ticket without leaking
the secret.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import AgentDraftError
from .common import Subparsers, error_exit, fail


def zone_line(domain: str, selector: str, txt_value: str) -> str:
    """A zone-file line for the record, its value split into 255-byte strings."""
    chunks = [txt_value[i : i + 255] for i in range(0, len(txt_value), 255)]
    quoted = " ".join(f'"{c}"' for c in chunks)
    return f"{selector}._domainkey.{domain.rstrip('.')}. IN TXT {quoted}"


def cmd_dkim_keygen(args: argparse.Namespace) -> int:
    from ..mail.dkim_sign import generate_keypair

    out = Path(args.out)
    try:
        pair = generate_keypair(args.algorithm, bits=args.bits)
    except AgentDraftError as exc:
        return error_exit(exc)
    try:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return fail(f"{out} exists; refusing to overwrite a key")
    with os.fdopen(fd, "wb") as fh:
        fh.write(pair.private_key_pem)
    print(zone_line(args.domain, args.selector, pair.dns_txt_value))
    return 0


def register_keygen(sub: Subparsers) -> None:
    """Add ``dkim-keygen`` to the ``mail`` group's subparsers."""
    p = sub.add_parser(
        "dkim-keygen", help="make a DKIM signing key and print the DNS TXT record to publish"
    )
    p.add_argument("--domain", required=True, help="the signing domain (d=)")
    p.add_argument("--selector", required=True, help="the selector (s=), e.g. mail2026")
    p.add_argument(
        "--algorithm",
        choices=("rsa", "ed25519"),
        default="rsa",
        help="rsa (default) or ed25519 (RFC 8463; publish it beside an RSA key)",
    )
    p.add_argument("--bits", type=int, default=2048, help="RSA key size (default %(default)s)")
    p.add_argument("--out", required=True, help="file to write the private key to (mode 0600)")
    p.set_defaults(func=cmd_dkim_keygen)
