"""iCalendar in and out: busy instants from a calendar object, and the VEVENT a booking becomes.

Expansion is ``recurring-ical-events`` over ``icalendar`` (RRULE, EXDATE, RECURRENCE-ID
overrides, VTIMEZONE, DST), never hand-written. What counts as busy: not
``STATUS:CANCELLED``, not ``TRANSP:TRANSPARENT``, not declined by the owner, and not an
event the coordinator pushed itself (``X-AGENTDRAFT-BOOKING``). All-day dates are
midnight-to-midnight in the owner's zone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from ..buckets import BUCKET_MS
from .errors import FeedMalformed, FeedTooLarge, MissingExtra

#: The property marking an event the coordinator wrote (its value is the booking id).
OWN_MARK = "X-AGENTDRAFT-BOOKING"
UID_PREFIX = "agentdraft-"


def booking_uid(booking_id: str) -> str:
    """The pushed event's UID: derived from the booking, so a retry can never make two."""
    return f"{UID_PREFIX}{booking_id}"


@dataclass(frozen=True)
class Busy:
    """One busy instance of a remote event, as a block the Lua script stores."""

    uid: str
    start_ms: int
    end_ms: int
    #: The instance's identity: its RECURRENCE-ID (or DTSTART) instant.
    instance_ms: int
    summary: str

    def key(self, connector_id: str) -> str:
        digest = hashlib.sha1(self.uid.encode()).hexdigest()[:12]
        return f"{connector_id}:{digest}.{self.instance_ms}"

    def block(self, connector_id: str, show_summary: bool) -> dict[str, Any]:
        b: dict[str, Any] = {
            "k": self.key(connector_id),
            "u": self.uid,
            "s": self.start_ms,
            "e": self.end_ms,
            "f": self.start_ms // BUCKET_MS,
            "l": -(-self.end_ms // BUCKET_MS),
        }
        if show_summary and self.summary:
            b["t"] = self.summary[:200]
        return b


def _libs() -> tuple[Any, Any]:
    try:
        import icalendar
        import recurring_ical_events
    except ImportError as exc:
        raise MissingExtra(exc) from None
    return icalendar, recurring_ical_events


def _instant(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=tz)
    return datetime(value.year, value.month, value.day, tzinfo=tz)


def _ms(value: datetime) -> int:
    return int(value.astimezone(UTC).timestamp() * 1000)


def _declined(ev: Any, owner_email: str | None) -> bool:
    if not owner_email:
        return False
    attendees = ev.get("ATTENDEE") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    me = f"mailto:{owner_email}".lower()
    for a in attendees:
        if str(a).lower() == me and str(a.params.get("PARTSTAT", "")).upper() == "DECLINED":
            return True
    return False


def parse_calendar(text: str | bytes, where: str) -> Any:
    """A parsed VCALENDAR, or :class:`FeedMalformed` naming where it came from."""
    icalendar, _ = _libs()
    try:
        cal = icalendar.Calendar.from_ical(text)
    except (ValueError, IndexError, KeyError) as exc:
        raise FeedMalformed(f"{where}: not iCalendar ({exc})") from None
    if cal.name != "VCALENDAR":
        raise FeedMalformed(f"{where}: expected a VCALENDAR, got {cal.name}")
    return cal


_RECURS = {"RRULE", "RDATE", "EXDATE", "RECURRENCE-ID"}


def _overlaps(ev: Any, lo: datetime, hi: datetime, tz: ZoneInfo) -> bool:
    start_v = ev["DTSTART"].dt
    start = _instant(start_v, tz)
    if "DTEND" in ev:
        end = _instant(ev["DTEND"].dt, tz)
    elif "DURATION" in ev:
        end = start + ev["DURATION"].dt
    else:
        end = start + (timedelta(days=1) if not isinstance(start_v, datetime) else timedelta())
    return start < hi and (end > lo or (end == start and start >= lo))


#: The most event instances one pull expands inside its horizon, over all the objects it
#: reads. A person's calendar has a few thousand in 60 days; an event that repeats every
#: second has 5 million, which expanded whole took minutes and gigabytes. Expansion is
#: lazy, so a pull past the limit stops there (about 1.5 s of work) with FeedTooLarge.
MAX_BUSY_INSTANCES = 10_000


@dataclass
class InstanceBudget:
    """What is left of a pull's ``MAX_BUSY_INSTANCES``, shared by the objects it reads."""

    left: int = MAX_BUSY_INSTANCES

    def take(self, n: int = 1) -> None:
        if self.left < n:
            raise FeedTooLarge(
                f"more than {MAX_BUSY_INSTANCES} event instances in the pull's horizon"
            )
        self.left -= n


def busy_instances(
    cal: Any,
    lo: datetime,
    hi: datetime,
    tz: ZoneInfo,
    owner_email: str | None = None,
    budget: InstanceBudget | None = None,
) -> list[Busy]:
    """Every busy instance of ``cal``'s events overlapping ``[lo, hi)``. Each instance in
    that window (busy or not) takes one from ``budget``; past it, :class:`FeedTooLarge`."""
    _, rie = _libs()
    budget = budget if budget is not None else InstanceBudget()
    out: list[Busy] = []
    events = list(cal.walk("VEVENT"))
    if any(_RECURS & set(ev) for ev in events):
        occurrences = _expanded(rie, cal, lo, hi, tz, budget)
    else:
        # No recurrence anywhere (most objects): the events are their own occurrences,
        # kept when they overlap [lo, hi), as the expansion would.
        occurrences = [ev for ev in events if "DTSTART" in ev and _overlaps(ev, lo, hi, tz)]
        budget.take(len(occurrences))
    for ev in occurrences:
        if ev.name != "VEVENT" or OWN_MARK in ev:
            continue
        uid = str(ev.get("UID", ""))
        if not uid or uid.startswith(UID_PREFIX):
            continue
        if str(ev.get("STATUS", "")).upper() == "CANCELLED":
            continue
        if str(ev.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if _declined(ev, owner_email):
            continue
        start_v = ev["DTSTART"].dt
        start = _instant(start_v, tz)
        if "DTEND" in ev:
            end = _instant(ev["DTEND"].dt, tz)
        elif "DURATION" in ev:
            end = start + ev["DURATION"].dt
        else:
            end = start + (timedelta(days=1) if not isinstance(start_v, datetime) else timedelta())
        rid = ev.get("RECURRENCE-ID")
        instance = _instant(rid.dt, tz) if rid is not None else start
        s, e = _ms(start), _ms(end)
        if e <= s:
            continue  # a zero-length event blocks nothing
        out.append(Busy(uid, s, e, _ms(instance), str(ev.get("SUMMARY", ""))))
    return out


def _expanded(
    rie: Any, cal: Any, lo: datetime, hi: datetime, tz: ZoneInfo, budget: InstanceBudget
) -> list[Any]:
    """The occurrences of ``cal``'s events overlapping ``[lo, hi)``: generated lazily in
    start order, stopped past ``hi``, each taken from ``budget``."""
    out: list[Any] = []
    try:
        for ev in rie.of(cal).after(lo):
            if "DTSTART" not in ev:
                continue
            if _instant(ev["DTSTART"].dt, tz) >= hi:
                break  # in start order: nothing later overlaps
            if _overlaps(ev, lo, hi, tz):
                budget.take()
                out.append(ev)
    except FeedTooLarge:
        raise
    except Exception as exc:  # the library raises many kinds on broken recurrence data
        raise FeedMalformed(f"cannot expand the calendar's events: {exc}") from None
    return out


def booking_event(booking: dict[str, Any], user_id: str, agent_name: str | None = None) -> str:
    """The one VEVENT a committed booking becomes on the owner's calendar (ICS text)."""
    icalendar, _ = _libs()
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//AgentDraft//coordinator//EN")
    cal.add("VERSION", "2.0")
    ev = icalendar.Event()
    ev.add("UID", booking_uid(booking["id"]))
    ev.add("DTSTAMP", datetime.fromtimestamp(booking["created_ms"] / 1000, tz=UTC))
    ev.add("DTSTART", datetime.fromtimestamp(booking["start_ms"] / 1000, tz=UTC))
    ev.add("DTEND", datetime.fromtimestamp(booking["end_ms"] / 1000, tz=UTC))
    ev.add("SUMMARY", booking.get("title") or "Booked by an agent")
    who = agent_name or booking["agent_id"]
    ev.add(
        "DESCRIPTION",
        f"Booked by agent {who} (priority {booking['priority']}) through AgentDraft for "
        f"{user_id}; audit entry {booking.get('audit_event_id')}.",
    )
    invitee = booking.get("invitee") or {}
    if invitee.get("email"):
        attendee = icalendar.vCalAddress(f"mailto:{invitee['email']}")
        if invitee.get("name"):
            attendee.params["CN"] = icalendar.vText(invitee["name"])
        attendee.params["PARTSTAT"] = icalendar.vText("NEEDS-ACTION")
        ev.add("ATTENDEE", attendee)
    link = (booking.get("conferencing") or {}).get("url")
    if link:  # a with_conferencing commit: where to join (coordinator/conferencing.py)
        ev.add("LOCATION", link)
        ev.add("URL", link)
    ev.add("TRANSP", "OPAQUE")
    ev.add(OWN_MARK, booking["id"])
    cal.add_component(ev)
    return str(cal.to_ical().decode())
