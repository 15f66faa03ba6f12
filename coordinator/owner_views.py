"""Owner read views over one calendar: its bookings (filtered, paged), one booking with
its audit trail, the audit stream with its verification, and its proposals.

Reads only: bookings come straight from the calendar's ``bookings`` hash (HSCAN), so
listing them costs no script call and takes no agent's rate-limit token; the owner
sees every record, ended ones included (the hash keeps history).
"""

from __future__ import annotations

from typing import Any, Unpack

from pydantic import BaseModel

from . import booking_pages
from .audit import AuditLog
from .booking_pages import BookingPage, Filters, check_limit, check_window
from .bookings import Bookings
from .errors import NotFound, ValidationError
from .models import AuditEntry, AuditVerification, Booking
from .proposals import Proposals
from .proposals.models import Proposal
from .store.errors import store_errors
from .store.handle import Store
from .webhooks import deliveries
from .webhooks.registry import Webhooks

MAX_AUDIT_PAGE = 1000
MAX_DELIVERIES = deliveries.KEEP


class BookingDetail(BaseModel):
    """A booking as it stands and every audit entry that mentions it, oldest first."""

    booking: Booking
    audit: list[AuditEntry]


class AuditPage(BaseModel):
    """Audit entries oldest first; ``verification`` re-walks the whole chain when asked."""

    entries: list[AuditEntry]
    next_cursor: str | None = None
    verification: AuditVerification | None = None


class OwnerViews:
    """``coord.views``: what an owner reads about one calendar (the dashboard's lists)."""

    def __init__(
        self, store: Store, bookings: Bookings, audit: AuditLog, proposals: Proposals
    ) -> None:
        self._store = store
        self._bookings = bookings
        self._audit = audit
        self._proposals = proposals

    def bookings(
        self, user_id: str, *, agent_id: str | None = None, **filters: Unpack[Filters]
    ) -> BookingPage:
        """The calendar's bookings overlapping ``[start, end)``, in start order.

        ``status`` is the status as of now (a hold past its expiry is ``EXPIRED``);
        ``cursor`` is the previous page's ``next_cursor`` (see :func:`booking_pages.page`).
        """
        return booking_pages.page(self._store, user_id, agent_id=agent_id, **filters)

    def booking(self, user_id: str, booking_id: str) -> BookingDetail:
        """One booking (as its owner reads it) and its audit trail, oldest entry first."""
        found = self._bookings.get(user_id, booking_id)
        return BookingDetail(booking=found, audit=self._audit.for_booking(user_id, booking_id))

    def audit(
        self,
        user_id: str,
        *,
        start: Any = None,
        end: Any = None,
        cursor: str | None = None,
        limit: int = 100,
        verify: bool = True,
    ) -> AuditPage:
        """Entries written in ``[start, end]`` (server time), after ``cursor`` (an entry id).

        With ``verify`` the whole chain is re-walked (``coord.audit.verify``), so the page
        says whether the history it shows is intact.
        """
        check_window(start, end)
        limit = check_limit(limit, MAX_AUDIT_PAGE)
        if cursor is not None and not _is_stream_id(cursor):
            raise ValidationError("cursor", "must be the next_cursor of a previous page")
        entries = self._audit.range(user_id, start, end, limit=limit + 1, after=cursor)
        more = len(entries) > limit
        entries = entries[:limit]
        return AuditPage(
            entries=entries,
            next_cursor=entries[-1].id if more else None,
            verification=self._audit.verify(user_id) if verify else None,
        )

    def proposals(self, user_id: str, *, status: str | None = None) -> list[Proposal]:
        """The calendar's proposals, oldest first (``status`` filters)."""
        return self._proposals.list(user_id, status=status)

    def deliveries(
        self, user_id: str, endpoint_id: str, *, limit: int = 100
    ) -> list[deliveries.Delivery]:
        """The latest delivery attempts to one of the owner's endpoints, newest first."""
        limit = check_limit(limit, MAX_DELIVERIES)
        self._own_endpoint(user_id, endpoint_id)
        with store_errors("webhook deliveries"):
            return deliveries.read(self._store.redis, self._store.keys, user_id, endpoint_id, limit)

    def redeliver(self, user_id: str, endpoint_id: str, event_id: str) -> None:
        """Send one event to one endpoint again (a dead-lettered one, or any kept a week)."""
        if not isinstance(event_id, str) or not event_id.startswith("evt_") or len(event_id) > 200:
            raise ValidationError("event_id", "must be an event id such as evt_…")
        self._own_endpoint(user_id, endpoint_id)
        with store_errors("webhook redelivery"):
            queued = deliveries.redeliver(
                self._store.redis, self._store.keys, user_id, endpoint_id, event_id
            )
        if not queued:
            raise NotFound(f"no event {event_id} is kept for this calendar", error="not_found")

    def _own_endpoint(self, user_id: str, endpoint_id: str) -> None:
        if not any(e.endpoint_id == endpoint_id for e in Webhooks(self._store).list(user_id)):
            raise NotFound(f"no webhook endpoint {endpoint_id} for this owner", error="not_found")


def _is_stream_id(value: str) -> bool:
    ms, _, seq = value.partition("-")
    return len(value) <= 42 and ms.isdigit() and seq.isdigit()
