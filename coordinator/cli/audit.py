"""``coordinator audit verify|show``: re-walk the hash chain, print entries."""

from __future__ import annotations

import argparse
import json

from .common import Subparsers, open_coordinator, store_args


def cmd_audit_verify(args: argparse.Namespace) -> int:
    with open_coordinator(args) as coord:
        users = [args.user] if args.user else coord.owners.list()
        bad = 0
        for uid in users:
            v = coord.audit.verify(uid)
            if args.json:
                print(json.dumps(v.model_dump(mode="json")))
            else:
                state = "ok" if v.ok else "TAMPERED"
                print(f"{uid}: {state}, {v.entries} entries, head {v.head}")
                for p in v.problems:
                    print(f"  {p.entry_id}: {p.problem}: {p.detail}")
            bad += not v.ok
        return 1 if bad else 0


def cmd_audit_show(args: argparse.Namespace) -> int:
    with open_coordinator(args) as coord:
        entries = (
            coord.audit.for_booking(args.user, args.booking)
            if args.booking
            else coord.audit.range(args.user, args.start, args.end, limit=args.limit)
        )
        for e in entries:
            print(json.dumps({"id": e.id, **e.fields}))
    return 0


def register(sub: Subparsers) -> None:
    audit = sub.add_parser("audit", help="query or verify audit streams")
    asub = audit.add_subparsers(dest="audit_command", required=True)
    verify = asub.add_parser("verify", help="re-walk the hash chain of one or all calendars")
    store_args(verify)
    verify.add_argument("--user", help="owner id (default: every owner)")
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
