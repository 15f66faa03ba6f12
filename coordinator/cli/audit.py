"""``coordinator audit verify|show|checkpoint|archive|acl``: prove, query, sign, retain."""

from __future__ import annotations

import argparse
import json
import shlex
import threading
from pathlib import Path

from ..audit.signer import CheckpointSigner
from ..coordinator import Coordinator
from ..errors import AgentDraftError
from .common import Subparsers, error_exit, open_coordinator, store_args


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with open_coordinator(args) as coord:
        users = [args.user] if args.user else coord.owners.list()
        bad = 0
        for uid in users:
            v = coord.audit.verify(uid, key=args.signing_key, archive=args.archive)
            if args.json:
                print(json.dumps(v.model_dump(mode="json")))
            else:
                state = "ok" if v.ok else "TAMPERED"
                print(
                    f"{uid}: {state}, {v.entries} entries, {v.bookings} bookings, head {v.head}"
                    + ("" if v.complete else " (from the archive point; pass --archive)")
                    + (f", signed up to {v.checkpoint}" if v.checkpoint else "")
                )
                for p in v.problems:
                    print(f"  {p.entry_id}: {p.problem}: {p.detail}")
            bad += not v.ok
        return 1 if bad else 0


def cmd_audit_show(args: argparse.Namespace) -> int:
    with open_coordinator(args) as coord:
        try:
            coord.owners.get(args.user)  # an unknown owner is an error, not an empty log
        except AgentDraftError as exc:
            return error_exit(exc)
        entries = (
            coord.audit.for_booking(args.user, args.booking)
            if args.booking
            else coord.audit.range(args.user, args.start, args.end, limit=args.limit)
        )
        for e in entries:
            print(json.dumps({"id": e.id, **e.fields}))
    return 0


def cmd_audit_checkpoint(args: argparse.Namespace) -> int:
    """Sign now, or with ``--every N --follow`` keep signing every N entries.

    Checkpoints the scripts asked for (``audit_checkpoint_every``) are signed first.
    """
    with open_coordinator(args) as coord:
        stop = threading.Event()
        path = coord.audit.key_path(args.signing_key)
        signer = None if path is None else CheckpointSigner(coord.store, path)
        while True:
            for uid in [args.user] if args.user else coord.owners.list():
                for due in signer.sign_due(uid) if signer is not None else []:
                    print(f"{uid}: signed due entry {due.position} ({due.entry_id})")
                if args.every:
                    cp = coord.audit.checkpoint_if_due(uid, args.every, key=args.signing_key)
                else:
                    cp = coord.audit.checkpoint(uid, key=args.signing_key)
                if cp is not None:
                    print(f"{uid}: signed entry {cp.position} ({cp.entry_id}) key {cp.key_id}")
            if not args.follow:
                return 0
            stop.wait(args.interval)


def cmd_audit_archive(args: argparse.Namespace) -> int:
    from ..audit.archive import Archiver, Retention

    with _as_operator(args) as coord:
        archiver = Archiver(coord.store)
        default = Retention(audit_days=args.audit_days, outbox_days=args.outbox_days)
        for uid in [args.user] if args.user else coord.owners.list():
            if args.set:
                archiver.set_retention(uid, default)
            res = archiver.run(uid, args.dir, default)
            print(
                f"{uid}: archived {res.archived} entries"
                + (f" to {', '.join(res.segments)}" if res.segments else "")
                + f", trimmed {res.outbox_trimmed} delivered outbox events"
            )
    return 0


def _as_operator(args: argparse.Namespace) -> Coordinator:
    """The operator's coordinator: the URL's user, or a protected engine's operator."""
    if args.redis_url:
        return open_coordinator(args)
    from ..audit.operator import admin_client
    from ..store.embedded import default_data_dir, open_embedded

    folder = Path(args.data_dir) if args.data_dir else default_data_dir()
    open_embedded(folder).close()  # start it if needed
    return Coordinator(admin_client(folder))


def cmd_audit_acl(args: argparse.Namespace) -> int:
    from ..store.acl import coordinator_acl, operator_acl

    rules = coordinator_acl(args.namespace) if args.role == "coordinator" else operator_acl()
    # Quoted as redis-cli and redis.conf need the selector: one argument with spaces.
    shown = " ".join(shlex.quote(r) for r in rules)
    print(f"ACL SETUSER {args.username} reset on >PASSWORD {shown}")
    return 0


def _key_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--signing-key",
        help="Ed25519 key file (PEM; a public key only verifies). Default: "
        "$AGENTDRAFT_AUDIT_KEY, else audit-signing.key in the embedded data folder",
    )


def _user_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", help="owner id (default: every owner)")


def register(sub: Subparsers) -> None:
    audit = sub.add_parser("audit", help="query, verify, sign and archive audit streams")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser(
        "verify", help="prove the chain, the bookings and the bucket index of each calendar"
    )
    store_args(verify)
    _user_arg(verify)
    _key_arg(verify)
    verify.add_argument("--archive", help="folder of archived segments: verify from genesis")
    verify.add_argument("--json", action="store_true", help="one JSON object per calendar")
    verify.set_defaults(func=cmd_audit_verify)
    show = asub.add_parser("show", help="print entries of a calendar or a booking")
    store_args(show)
    show.add_argument("--user", required=True, help="the calendar's owner id (usr_…)")
    show.add_argument("--booking", help="only the entries of this booking (bkg_… or hld_…)")
    show.add_argument("--start", help="ISO 8601 time of the first entry (default: the first)")
    show.add_argument("--end", help="ISO 8601 time after the last entry (default: now)")
    show.add_argument("--limit", type=int, help="print at most this many entries")
    show.set_defaults(func=cmd_audit_show)
    cp = asub.add_parser("checkpoint", help="sign the audit head (Ed25519) of each calendar")
    store_args(cp)
    _user_arg(cp)
    _key_arg(cp)
    cp.add_argument("--every", type=int, help="only where N entries were added since the last")
    cp.add_argument("--follow", action="store_true", help="keep going (a checkpoint worker)")
    cp.add_argument("--interval", type=float, default=5.0, help="seconds between passes")
    cp.set_defaults(func=cmd_audit_checkpoint)
    arch = asub.add_parser(
        "archive",
        help="operator: move old audit entries to segment files, trim delivered outbox events",
    )
    store_args(arch)
    _user_arg(arch)
    arch.add_argument("--dir", required=True, help="archive folder (append-only segments)")
    arch.add_argument(
        "--audit-days", type=float, default=None, help="keep this many days (default: forever)"
    )
    arch.add_argument("--outbox-days", type=float, default=7.0, help="delivered events: days")
    arch.add_argument(
        "--set", action="store_true", help="store these retentions on the calendar(s) first"
    )
    arch.set_defaults(func=cmd_audit_archive)
    acl = asub.add_parser("acl", help="print the Redis ACL rules of a role")
    acl.add_argument(
        "--role",
        choices=["coordinator", "operator"],
        default="coordinator",
        help="the rights to grant (default coordinator)",
    )
    acl.add_argument("--username", default="agentdraft", help="the Redis ACL user name")
    acl.add_argument("--namespace", default="ad", help="the coordinator's key namespace")
    acl.set_defaults(func=cmd_audit_acl)
