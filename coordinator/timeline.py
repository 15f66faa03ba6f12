"""Who occupied which 5-minute bucket when: a calendar's history rebuilt from its audit stream.

The audit stream is the only record written by the same atomic step as the change
itself, stamped with the server's clock, so it is the one source a picture of a
race can be trusted from (client-side timings are skewed by threads, GIL and
network). Every booking-related entry names the booking and its ``cover`` (the
bucket range ``first-last``, last exclusive); a booking takes its whole cover when
it is created and leaves all of it at once when it ends, so the stream alone gives
each bucket's occupancy:

- ``booking.committed`` / ``hold.created``: the booking occupies its cover from ``ts``.
- ``booking.evicted`` / ``hold.invalidated``: a better writer ended it (``by_*`` fields).
- ``hold.promoted`` / ``hold.replaced``: its own agent's commit or hold absorbed it.
- ``hold.released``, ``booking.cancelled``: its agent (or an approval) gave it back.
- ``booking.moved``: its agent accepted a counter-offer; the new slot is a new booking
  (its own ``booking.committed``, written in the same step).
- ``hold.expired``: the engine found it past its TTL. Expiry is audited lazily, by
  the next write touching its buckets (or a release), so the interval ends when the
  engine freed the buckets, which may be later than the hold's TTL.
- ``booking.rejected``: a write that lost; nothing changed on the calendar.

Pure functions over :class:`~coordinator.models.AuditEntry` lists, no Redis: the
notebooks plot what :func:`build_timeline` returns and the tests check it against
the engine's own bucket map.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from .models import AuditEntry

Mode = Literal["hold", "commit"]

#: Entries that put a booking on the calendar.
STARTS = frozenset({"booking.committed", "hold.created"})
#: Entries that take a booking off the calendar, and why.
ENDS = frozenset(
    {
        "booking.evicted",
        "hold.invalidated",
        "hold.promoted",
        "hold.replaced",
        "hold.released",
        "booking.cancelled",
        "hold.expired",
        "booking.moved",
    }
)
#: Endings forced by a better-ranked writer.
DISPLACEMENTS = frozenset({"booking.evicted", "hold.invalidated"})


def _cover(entry: AuditEntry) -> range:
    first, last = entry.fields["cover"].split("-")
    return range(int(first), int(last))


def _ms(entry: AuditEntry) -> int:
    return int(entry.fields["ts"])


def _mode(entry: AuditEntry) -> Mode:
    return "commit" if entry.fields["mode"] == "commit" else "hold"


@dataclass
class Span:
    """One booking's stay on the calendar: all of its buckets, from creation to end."""

    booking_id: str
    agent_id: str
    priority: int
    mode: Mode
    buckets: range
    start_ms: int
    start_entry: str
    #: Server ms at which it left the calendar; None while it still occupies its buckets.
    end_ms: int | None = None
    end_entry: str | None = None
    #: The audit type that ended it (``booking.evicted``, ``hold.promoted``, ...).
    end_type: str | None = None
    ended_by_booking_id: str | None = None
    ended_by_agent_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.end_ms is None


@dataclass(frozen=True)
class Interval:
    """One bucket occupied by one booking, ``[start_ms, end_ms)`` on the server clock."""

    bucket: int
    booking_id: str
    agent_id: str
    priority: int
    mode: Mode
    start_ms: int
    end_ms: int | None
    end_type: str | None


@dataclass(frozen=True)
class Eviction:
    """A booking pushed off the calendar by a better-ranked write (one audit entry)."""

    entry_id: str
    type: str
    at_ms: int
    booking_id: str
    agent_id: str
    priority: int
    mode: Mode
    buckets: range
    by_booking_id: str
    by_agent_id: str
    by_priority: int
    #: True when the victim was still inside its arbitration window: it was never told it won.
    in_arbitration_window: bool


@dataclass(frozen=True)
class Rejection:
    """A write that lost: the calendar did not change (one ``booking.rejected`` entry)."""

    entry_id: str
    at_ms: int
    booking_id: str
    agent_id: str
    priority: int
    mode: Mode
    buckets: range
    reason: str
    winner_agent_id: str
    winner_priority: int


@dataclass
class Timeline:
    """Bucket occupancy, evictions and rejections of one calendar, in audit order."""

    spans: list[Span] = field(default_factory=list)
    evictions: list[Eviction] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    #: Server ms of the first booking-related entry (the origin of :meth:`rel`).
    t0_ms: int = 0
    #: Server ms of the last booking-related entry.
    last_ms: int = 0

    def rel(self, ms: int) -> int:
        """Milliseconds since the timeline's origin."""
        return ms - self.t0_ms

    @property
    def buckets(self) -> list[int]:
        """Every bucket any booking occupied, ascending."""
        return sorted({b for s in self.spans for b in s.buckets})

    def intervals(self) -> list[Interval]:
        """Per-bucket occupancy, ordered by bucket then start."""
        out = [
            Interval(
                b, s.booking_id, s.agent_id, s.priority, s.mode, s.start_ms, s.end_ms, s.end_type
            )
            for s in self.spans
            for b in s.buckets
        ]
        return sorted(out, key=lambda i: (i.bucket, i.start_ms))

    def occupants(self) -> dict[int, str]:
        """Bucket -> booking id of every bucket still occupied at the end of the stream."""
        return {b: s.booking_id for s in self.spans if s.is_open for b in s.buckets}


def build_timeline(entries: Iterable[AuditEntry]) -> Timeline:
    """Rebuild bucket occupancy from audit entries given oldest first (as the stream reads).

    Times are the entries' server ``ts``; the first booking-related entry is the
    origin of :meth:`Timeline.rel`. Entries of other kinds (owner, agents, rules,
    approvals) are skipped. An ending whose booking started before the first entry
    given still counts as an eviction but closes no span, so a window of the stream
    can be plotted too.
    """
    tl = Timeline()
    live: dict[str, Span] = {}
    origin: int | None = None
    for e in entries:
        if e.type not in STARTS and e.type not in ENDS and e.type != "booking.rejected":
            continue
        f = e.fields
        at = _ms(e)
        origin = at if origin is None else origin
        tl.last_ms = max(tl.last_ms, at)
        if e.type in STARTS:
            span = Span(
                booking_id=f["booking_id"],
                agent_id=f["agent_id"],
                priority=int(f["priority"]),
                mode=_mode(e),
                buckets=_cover(e),
                start_ms=at,
                start_entry=e.id,
            )
            live[span.booking_id] = span
            tl.spans.append(span)
        elif e.type in ENDS:
            ended = live.pop(f["booking_id"], None)
            if ended is not None:
                ended.end_ms, ended.end_entry, ended.end_type = at, e.id, e.type
                ended.ended_by_booking_id = f.get("by_booking_id")
                ended.ended_by_agent_id = f.get("by_agent_id")
            if e.type in DISPLACEMENTS:
                tl.evictions.append(
                    Eviction(
                        entry_id=e.id,
                        type=e.type,
                        at_ms=at,
                        booking_id=f["booking_id"],
                        agent_id=f["agent_id"],
                        priority=int(f["priority"]),
                        mode=_mode(e),
                        buckets=_cover(e),
                        by_booking_id=f["by_booking_id"],
                        by_agent_id=f["by_agent_id"],
                        by_priority=int(f["by_priority"]),
                        in_arbitration_window=f.get("in_arbitration_window") == "1",
                    )
                )
        else:
            tl.rejections.append(
                Rejection(
                    entry_id=e.id,
                    at_ms=at,
                    booking_id=f["booking_id"],
                    agent_id=f["agent_id"],
                    priority=int(f["priority"]),
                    mode=_mode(e),
                    buckets=_cover(e),
                    reason=f["reason"],
                    winner_agent_id=f["winner_agent_id"],
                    winner_priority=int(f["winner_priority"]),
                )
            )
    tl.t0_ms = origin or 0
    return tl
