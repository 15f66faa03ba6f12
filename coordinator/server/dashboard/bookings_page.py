"""The Bookings page: upcoming and past bookings with filters, and each one's audit trail.

Reads only, through the ``/v1/dashboard/bookings`` route functions (``routes.owner_views``):
the filters become that route's ``start``/``end``/``agent_id``/``status`` and its typed
errors are shown next to the field that caused them. Dates are picked in the owner's
timezone and sent as instants with their offset.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from ...booking_pages import BOOKING_STATUSES, BookingPage
from ...errors import NotFound
from ..routes import owner_views
from .directory import agents_by_id
from .pages import FormErrors, PageRefused, PageViewer, api, render

router = APIRouter()
RANGES = {"upcoming": "Upcoming", "past": "Past", "all": "All", "custom": "Dates below"}
#: Bookings per page.
PAGE = 50
Text = Annotated[str, Query(max_length=200)]

#: How the trail names each audit entry type (anything else shows its raw type).
ENTRY_TEXT = {
    "booking.committed": "Committed",
    "hold.created": "Held",
    "hold.promoted": "Hold promoted to a commit",
    "hold.replaced": "Hold replaced by the same agent",
    "hold.released": "Hold released",
    "hold.expired": "Hold expired",
    "hold.invalidated": "Hold taken by a better-ranked write",
    "booking.evicted": "Evicted by a better-ranked booking",
    "booking.cancelled": "Cancelled",
    "booking.moved": "Moved to another slot (a counter-offer accepted)",
    "counter.created": "Counter-offer made",
    "counter.accepted": "Counter-offer accepted",
    "counter.rejected": "Counter-offer rejected",
    "booking.rejected": "Refused",
    "booking.external_conflict": "Kept over an event on your real calendar",
    "approval.requested": "Approval requested",
    "approval.approved": "Approved by you",
    "approval.denied": "Denied by you",
    "approval.expired": "Approval lapsed",
}


def _day(value: str, field: str, tz: ZoneInfo, errors: FormErrors) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(0), tzinfo=tz)
    except ValueError:
        errors.add(field, "must be a date such as 2031-03-04")
        return None


def query_window(
    which: str, start: str, end: str, tz: ZoneInfo, errors: FormErrors
) -> tuple[str | None, str | None]:
    """The route's ``start``/``end`` for a range choice; custom dates are whole local days
    (``end`` inclusive: its day is in the window)."""
    now = datetime.now(UTC).astimezone(tz)
    if which == "upcoming":
        return now.isoformat(), None
    if which == "past":
        return None, now.isoformat()
    if which != "custom":
        return None, None
    lo = _day(start, "start", tz, errors)
    hi = _day(end, "end", tz, errors)
    if hi is not None:
        hi = datetime.combine(hi.date() + timedelta(days=1), time(0), tzinfo=tz)
    return (lo.isoformat() if lo else None), (hi.isoformat() if hi else None)


@router.get("/bookings")
def bookings(
    request: Request,
    viewer: PageViewer,
    range: Annotated[str, Query(max_length=16)] = "upcoming",
    start: Text = "",
    end: Text = "",
    agent_id: Text = "",
    status: Text = "",
    cursor: Text = "",
) -> Response:
    coord = request.app.state.coordinator
    tz = ZoneInfo(viewer.timezone)
    errors = FormErrors()
    which = range if range in RANGES else "upcoming"
    if (start or end) and which != "custom":
        which = "custom"
    lo, hi = query_window(which, start, end, tz, errors)
    page: BookingPage | None = None
    if not errors:
        page = api(
            errors,
            owner_views.list_bookings,
            viewer.session,
            coord,
            start=lo,
            end=hi,
            agent_id=agent_id or None,
            status=status or None,
            cursor=cursor or None,
            limit=PAGE,
        )
    filters = {"range": which, "start": start, "end": end, "agent_id": agent_id, "status": status}
    return render(
        request,
        "bookings.html",
        viewer,
        status=422 if errors else 200,
        title="Bookings",
        active="bookings",
        errors=errors,
        rows=page.bookings if page else [],
        next_cursor=page.next_cursor if page else None,
        filters=filters,
        more_query={k: v for k, v in filters.items() if v},
        ranges=RANGES,
        statuses=BOOKING_STATUSES,
        agents=agents_by_id(coord, viewer.session),
        paged=bool(cursor),
    )


@router.get("/bookings/{booking_id}")
def booking(
    booking_id: Annotated[
        str, Path(min_length=5, max_length=80, pattern=r"^[a-z]{3}_[A-Za-z0-9_\-]+$")
    ],
    request: Request,
    viewer: PageViewer,
) -> Response:
    """One booking as it stands and every audit entry that mentions it, oldest first."""
    coord = request.app.state.coordinator
    try:
        detail = owner_views.get_booking(booking_id, viewer.session, coord)
    except NotFound as exc:
        raise PageRefused(404, "No such booking", exc.detail) from exc
    return render(
        request,
        "booking.html",
        viewer,
        title=f"Booking {booking_id}",
        active="bookings",
        b=detail.booking,
        day=detail.booking.start.astimezone(ZoneInfo(viewer.timezone)).date().isoformat(),
        trail=detail.audit,
        entry_text=ENTRY_TEXT,
        agents=agents_by_id(coord, viewer.session),
    )
