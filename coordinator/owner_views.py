"""Owner read views over one calendar: its bookings (filtered, paged), one booking with
its audit trail, the audit stream with its verification, and its proposals.

Reads only: bookings come straight from the calendar's ``bookings`` hash (HSCAN), so
listing them costs no script call and takes no agent's rate-limit token; the owner
sees every record, ended ones included (the hash keeps history).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Any, get_args

from pydantic import BaseModel

from .audit import AuditLog
from .bookings import Bookings
from .buckets import parse_time, to_ms
from .errors import NotFound, ValidationError
from .inputs import is_id
from .models import AuditEntry, AuditVerification, Booking, BookingStatus
from .proposals import Proposals
from .proposals.models import Proposal
from .store.errors import store_errors
from .store.handle import Store
from .webhooks import deliveries
from .webhooks.registry import Webhooks

#: Every status a booking can be listed by (``EXPIRED`` includes lapsed holds).
BOOKING_STATUSES: tuple[str, ...] = get_args(BookingStatus)
MAX_PAGE = 500
MAX_AUDIT_PAGE = 1000
MAX_DELIVERIES = deliveries.KEEP


class BookingPage(BaseModel):
    """One page of bookings in calendar order (start, then id); ``next_cursor`` continues."""

    bookings: list[Booking]
    next_cursor: str | None = None


class BookingDetail(BaseModel):
    """A booking as it stands and every audit entry that mentions it, oldest first."""

    booking: Booking
    audit: list[AuditEntry]


class AuditPage(BaseModel):
    """Audit entries oldest first; ``verification`` re-walks the whole chain when asked."""

    entries: list[AuditEntry]
    next_cursor: str | None = None
    verification: AuditVerification | None = None


def _limit(value: Any, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
        raise ValidationError("limit", f"must be an integer from 1 to {hi}")
    return value


def _window(start: Any, end: Any) -> tuple[int | None, int | None]:
    lo = None if start is None else to_ms(parse_time(start, "start"))
    hi = None if end is None else to_ms(parse_time(end, "end"))
    if lo is not None and hi is not None and hi <= lo:
        raise ValidationError("end", "must be after start")
    return lo, hi


def _encode(start_ms: int, booking_id: str) -> str:
    return base64.urlsafe_b64encode(f"{start_ms}:{booking_id}".encode()).decode().rstrip("=")


def _decode(cursor: Any) -> tuple[int, str]:
    """A cursor from a previous page; anything else is a typed error, not a guess."""
    if not isinstance(cursor, str) or not 1 <= len(cursor) <= 200:
        raise ValidationError("cursor", "must be the next_cursor of a previous page")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        start, booking_id = raw.split(":", 1)
        if is_id(booking_id) and start.isdigit():
            return int(start), booking_id
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationError("cursor", "must be the next_cursor of a previous page")


class OwnerViews:
    """``coord.views``: what an owner reads about one calendar (the dashboard's lists)."""

    def __init__(
        self, store: Store, bookings: Bookings, audit: AuditLog, proposals: Proposals
    ) -> None:
        self._store = store
        self._bookings = bookings
        self._audit = audit
        self._proposals = proposals

    def _records(self, user_id: str) -> Iterable[dict[str, Any]]:
        r = self._store.redis
        with store_errors("bookings list"):
            for _field, raw in r.hscan_iter(self._store.keys.bookings(user_id), count=500):
                yield json.loads(raw)

    def _now_ms(self, user_id: str) -> int:
        """The Redis server's clock (the one that set every ``expires_ms``)."""
        r = self._store.redis
        with store_errors("bookings list"):
            if hasattr(r, "get_node_from_key"):  # a cluster: ask the calendar's node
                node = r.get_node_from_key(self._store.keys.bookings(user_id))
                sec, usec = r.time(target_nodes=node)
            else:
                sec, usec = r.time()
        return int(sec) * 1000 + int(usec) // 1000

    def bookings(
        self,
        user_id: str,
        *,
        start: Any = None,
        end: Any = None,
        agent_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> BookingPage:
        """The calendar's bookings overlapping ``[start, end)``, in start order.

        ``status`` is the status as of now (a hold past its expiry is ``EXPIRED``);
        ``cursor`` is the previous page's ``next_cursor``.
        """
        lo, hi = _window(start, end)
        limit = _limit(limit, MAX_PAGE)
        if agent_id is not None and not is_id(agent_id):
            raise ValidationError("agent_id", "must be an agent id such as agt_…")
        if status is not None and status not in BOOKING_STATUSES:
            raise ValidationError("status", f"must be one of {list(BOOKING_STATUSES)}")
        after = None if cursor is None else _decode(cursor)
        now = self._now_ms(user_id)
        rows = []
        for rec in self._records(user_id):
            if (lo is not None and rec["end_ms"] <= lo) or (
                hi is not None and rec["start_ms"] >= hi
            ):
                continue
            if agent_id is not None and rec["agent_id"] != agent_id:
                continue
            key = (int(rec["start_ms"]), str(rec["id"]))
            if after is not None and key <= after:
                continue
            booking = Booking.from_record(rec, user_id, now)
            if status is None or booking.status == status:
                rows.append((key, booking))
        rows.sort(key=lambda row: row[0])
        page = rows[:limit]
        more = len(rows) > limit
        return BookingPage(
            bookings=[b for _, b in page],
            next_cursor=_encode(*page[-1][0]) if more else None,
        )

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
        _window(start, end)
        limit = _limit(limit, MAX_AUDIT_PAGE)
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
        limit = _limit(limit, MAX_DELIVERIES)
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
