"""Replay an audit history into the booking state it implies, and compare it with Redis.

The scripts write a booking's record, its buckets and its audit entry in one atomic
step, so the stream alone says what the calendar must hold: every booking's status,
who took it, what it covers and which entries created and ended it, plus exactly
which booking sits in every 5-minute bucket. Anyone who edits a record, deletes or
adds a bucket, or drops a booking's entries leaves a difference this finds.

Holds expire by time without a write: an expired hold keeps its record (status
HOLD) and its buckets until the next write that touches them ends it with a
``hold.expired`` entry. The replay models exactly that: a hold leaves the bucket
index only through an entry, and "live" (for the no-shared-bucket invariant) is
judged against the server clock at verify time.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..buckets import BUCKET_MS, from_ms
from ..models import AuditProblem
from ..store.records import fixed_digest
from .chain import Entry

#: Entry types that create a booking, and the status it starts in.
CREATES = {"booking.committed": "COMMITTED", "hold.created": "HOLD"}
#: Entry types that end a booking, and the status they leave it in.
ENDS = {
    "booking.evicted": "EVICTED",
    "booking.cancelled": "CANCELLED",
    "hold.invalidated": "INVALIDATED",
    "hold.expired": "EXPIRED",
    "hold.promoted": "PROMOTED",
    "hold.replaced": "REPLACED",
    "hold.released": "RELEASED",
    "booking.moved": "MOVED",
}

#: Entry types of counter-offers (coordinator/counters.py): checked for their order.
COUNTER_STEPS = frozenset({"counter.created", "counter.accepted", "counter.rejected"})


@dataclass
class Replayed:
    """One booking as its entries describe it."""

    id: str
    agent_id: str
    mode: str
    priority: str
    first: int
    last: int
    status: str
    created_id: str
    end_id: str | None = None
    ended_by: str | None = None
    expires_ms: str | None = None
    #: SHA-256 of the fixed fields (title, invitee, metadata, buffers, times,
    #: conferencing) the creating entry carries; None for entries written before it.
    digest: str | None = None


def _cover(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi)


def bucket_time(b: int) -> str:
    return from_ms(b * BUCKET_MS).isoformat()


class Replay:
    """The booking records and bucket index an audit history implies."""

    def __init__(self) -> None:
        self.bookings: dict[str, Replayed] = {}
        self.buckets: dict[int, str] = {}
        self.problems: list[AuditProblem] = []
        #: Counter-offer id -> pending|accepted|rejected|superseded, as the entries say.
        self.counters: dict[str, str] = {}

    def feed(self, entries: Iterable[Entry]) -> None:
        for eid, fields in entries:
            kind = fields.get("type", "")
            if kind in CREATES:
                self._create(eid, fields, CREATES[kind])
            elif kind in ENDS:
                self._end(eid, fields, ENDS[kind])
            elif kind in COUNTER_STEPS:
                self._counter(eid, fields, kind)

    def _counter(self, eid: str, f: dict[str, str], kind: str) -> None:
        """A counter-offer is created against an earlier booking, decided once, and an
        accepted one names the booking its acceptance created (in an earlier entry of the
        same step: booking.moved, then booking.committed, then counter.accepted)."""
        cid, bid = f.get("counter_id", ""), f.get("booking_id", "")
        if kind == "counter.created":
            if bid not in self.bookings:
                self._inconsistent(eid, bid, f"is countered by {cid} before any entry created it")
            self.counters[cid] = "pending"
            return
        if self.counters.get(cid) != "pending":
            state = self.counters.get(cid) or "never created"
            self._inconsistent(eid, bid, f"decides counter {cid}, which is {state}")
            return
        self.counters[cid] = kind.removeprefix("counter.")
        for other in filter(None, f.get("superseded", "").split(",")):
            self.counters[other] = "superseded"
        new = f.get("new_booking_id")
        moved = self.bookings.get(bid)
        if kind == "counter.accepted" and (
            new not in self.bookings or moved is None or moved.ended_by != new
        ):
            self._inconsistent(eid, bid, f"accepts {cid} but was not moved to {new}")

    def _create(self, eid: str, f: dict[str, str], status: str) -> None:
        first, last = _cover(f.get("cover", "0-0"))
        bid = f.get("booking_id", "")
        if bid in self.bookings:
            self._inconsistent(eid, bid, "a second entry creates this booking")
            return
        self.bookings[bid] = Replayed(
            id=bid,
            agent_id=f.get("agent_id", ""),
            mode=f.get("mode", ""),
            priority=f.get("priority", ""),
            first=first,
            last=last,
            status=status,
            created_id=eid,
            expires_ms=f.get("expires"),
            digest=f.get("digest"),
        )
        for b in range(first, last):
            self.buckets[b] = bid

    def _end(self, eid: str, f: dict[str, str], status: str) -> None:
        bid = f.get("booking_id", "")
        rec = self.bookings.get(bid)
        if rec is None:
            self._inconsistent(eid, bid, "ends a booking no earlier entry created")
            return
        if rec.end_id is not None:
            self._inconsistent(eid, bid, f"ends a booking already ended by {rec.end_id}")
            return
        rec.status, rec.end_id, rec.ended_by = status, eid, f.get("by_booking_id")
        for b in range(rec.first, rec.last):
            if self.buckets.get(b) == bid:
                del self.buckets[b]

    def _inconsistent(self, eid: str, bid: str, what: str) -> None:
        self.problems.append(
            AuditProblem(
                entry_id=eid,
                booking_id=bid,
                problem="replay_inconsistent",
                detail=f"entry for {bid} {what}",
            )
        )


def _num(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _derived_cover(rec: dict[str, Any]) -> tuple[float, float] | None:
    """The buckets the record's own start, end and buffers cover (as ``cover()`` computes
    them), so an edited start or end that moves the booking shows even though the
    entries carry only the cover."""
    start, end = _num(rec.get("start_ms")), _num(rec.get("end_ms"))
    before, after = _num(rec.get("buffer_before_min")), _num(rec.get("buffer_after_min"))
    if start is None or end is None or before is None or after is None:
        return None
    lo, hi = int(start - before * 60_000), int(end + after * 60_000)
    return float(lo // BUCKET_MS), float(-(-hi // BUCKET_MS))


def _digest(rec: dict[str, Any]) -> str:
    try:
        return fixed_digest(rec)
    except (TypeError, ValueError):
        return "<not computable>"


def _record_differences(want: Replayed, rec: dict[str, Any]) -> list[str]:
    """Fields of a stored record that disagree with its entries, as 'field: have, want'."""
    checks: list[tuple[str, Any, Any]] = [
        ("status", rec.get("status"), want.status),
        ("agent_id", rec.get("agent_id"), want.agent_id),
        ("mode", rec.get("mode"), want.mode),
        ("cover_first", _num(rec.get("cover_first")), float(want.first)),
        ("cover_last", _num(rec.get("cover_last")), float(want.last)),
        ("priority", _num(rec.get("priority")), _num(want.priority)),
        ("audit_event_id", rec.get("audit_event_id"), want.created_id),
        ("end_audit_id", rec.get("end_audit_id"), want.end_id),
    ]
    derived = _derived_cover(rec)
    if derived is not None:
        checks.append(("times", derived, (float(want.first), float(want.last))))
    if want.ended_by is not None:
        checks.append(("ended_by", rec.get("ended_by"), want.ended_by))
    if want.expires_ms is not None:
        checks.append(("expires_ms", _num(rec.get("expires_ms")), _num(want.expires_ms)))
    if want.digest is not None:
        checks.append(
            ("title, invitee, metadata, buffers, times or conferencing", _digest(rec), want.digest)
        )
    return [
        f"{name}: stored {have!r}, entries say {exp!r}" for name, have, exp in checks if have != exp
    ]


def compare_records(replay: Replay, records: dict[str, dict[str, Any]]) -> list[AuditProblem]:
    """Every booking record against its replayed history, both ways."""
    out: list[AuditProblem] = []
    for bid, rec in sorted(records.items()):
        want = replay.bookings.get(bid)
        if want is None:
            out.append(
                AuditProblem(
                    entry_id="-",
                    booking_id=bid,
                    problem="booking_without_entries",
                    detail=f"{bid} ({rec.get('status')}) is stored but no entry created it",
                )
            )
            continue
        diffs = _record_differences(want, rec)
        if diffs:
            out.append(
                AuditProblem(
                    entry_id=want.end_id or want.created_id,
                    booking_id=bid,
                    problem="booking_edited",
                    detail="; ".join(diffs),
                )
            )
    for bid in sorted(set(replay.bookings) - set(records)):
        want = replay.bookings[bid]
        out.append(
            AuditProblem(
                entry_id=want.created_id,
                booking_id=bid,
                problem="booking_missing",
                detail=f"{bid} ({want.status}) has entries but no stored record",
            )
        )
    return out


def compare_buckets(replay: Replay, actual: dict[int, str]) -> list[AuditProblem]:
    """The stored bucket index against the replayed one, one problem per booking and kind."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for b in sorted(set(replay.buckets) | set(actual)):
        want, have = replay.buckets.get(b), actual.get(b)
        if want == have:
            continue
        if have is None:
            groups[("bucket_missing", str(want))].append(b)
        elif want is None:
            groups[("bucket_extra", have)].append(b)
        else:
            groups[("bucket_edited", want)].append(b)
    out = []
    for (kind, bid), buckets in sorted(groups.items()):
        first = bucket_time(buckets[0])
        if kind == "bucket_missing":
            what = f"{len(buckets)} bucket(s) of {bid} are gone from the index, from {first}"
        elif kind == "bucket_extra":
            what = f"{len(buckets)} bucket(s) point at {bid} with no entry putting them there"
        else:
            names = sorted({actual[b] for b in buckets})
            what = f"{len(buckets)} bucket(s) of {bid} now point at {', '.join(names)}"
        if kind != "bucket_missing":
            what += f", from {first}"
        want_rec = replay.bookings.get(bid)
        out.append(
            AuditProblem(
                entry_id=want_rec.created_id if want_rec else "-",
                booking_id=bid,
                problem=kind,  # type: ignore[arg-type]
                detail=what,
            )
        )
    return out


def live(rec: dict[str, Any], now_ms: int) -> bool:
    """Mirrors ``is_live`` in _lib.lua: a commit, or a hold whose TTL has not run out."""
    if rec.get("status") == "COMMITTED":
        return True
    return rec.get("status") == "HOLD" and (_num(rec.get("expires_ms")) or 0) > now_ms


def shared_buckets(records: dict[str, dict[str, Any]], now_ms: int) -> list[AuditProblem]:
    """The invariant itself: no two live bookings cover the same bucket."""
    spans = sorted(
        (int(_num(r.get("cover_first")) or 0), int(_num(r.get("cover_last")) or 0), bid)
        for bid, r in records.items()
        if live(r, now_ms)
    )
    out: list[AuditProblem] = []
    reach, holder = -1, ""
    for first, last, bid in spans:
        if first < reach:
            out.append(
                AuditProblem(
                    entry_id=str(records[bid].get("audit_event_id") or "-"),
                    booking_id=bid,
                    problem="shared_bucket",
                    detail=f"live {bid} and live {holder} both cover {bucket_time(first)}",
                )
            )
        if last > reach:
            reach, holder = last, bid
    return out
