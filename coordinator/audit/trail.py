"""Where a booking's audit trail lies in its calendar's stream, and which entries name it.

A booking's entries are written by the scripts that create it (with the entries of
what it displaced, in the same millisecond), that end it (with the entry of what
ended it, same millisecond), and while it stands (a loser's ``booking.rejected``
names it as the winner). So the trail is bounded by the two ids the record holds,
``audit_event_id`` and ``end_audit_id``; AuditLog.for_booking reads that span and
keeps the entries that name the booking in any field.
"""

from __future__ import annotations

import json
from typing import Any

#: The largest sequence number of a stream id: "every entry of that millisecond".
_LAST_SEQ = 2**64 - 1


def stream_id_key(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def trail_span(rec: dict[str, Any]) -> tuple[str, str] | None:
    """XRANGE bounds from the creating entry's millisecond to the ending one's (or +)."""
    created = rec.get("audit_event_id")
    if not created:
        return None
    lo = f"{stream_id_key(str(created))[0]}-0"
    ended = rec.get("end_audit_id")
    hi = "+" if not ended else f"{stream_id_key(str(ended))[0]}-{_LAST_SEQ}"
    return lo, hi


def names(fields: dict[str, str], booking_id: str) -> bool:
    """Does the entry name the booking (``booking_id``, ``by_booking_id``,
    ``winner_booking_id``, one of ``displaced``...)?"""
    for key, value in fields.items():
        if key in ("prev", "hash"):
            continue
        if value == booking_id or (booking_id in value and booking_id in value.split(",")):
            return True
    return False


def approval_entry_ids(raw: str | bytes | None) -> list[str]:
    """The entries of a parked hold's approval: requested, and decided (maybe later)."""
    if not raw:
        return []
    try:
        a = json.loads(raw)
    except ValueError:
        return []
    return [str(a[f]) for f in ("audit_event_id", "decided_audit_id") if a.get(f)]
