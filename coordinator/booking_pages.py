"""Pages of a calendar's bookings in start order: the owner's view and an agent's own.

Reads only: bookings come straight from the calendar's ``bookings`` hash (HSCAN), so
listing them costs no script call and takes no rate-limit token; the hash keeps
history, so ended bookings are listed too (with who ended them). The owner lists
every agent's bookings (``coord.views.bookings``); an agent lists its own
(``client.bookings.list``, after its key and ``bookings:read`` scope are checked).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable
from typing import Any, TypedDict, Unpack, get_args

from pydantic import BaseModel

from .buckets import parse_time, to_ms
from .errors import ValidationError
from .inputs import is_id
from .models import Booking, BookingStatus
from .names import agent_names
from .store.errors import store_errors
from .store.handle import Store
from .store.records import expand_booking

#: Every status a booking can be listed by (``EXPIRED`` includes lapsed holds).
BOOKING_STATUSES: tuple[str, ...] = get_args(BookingStatus)
MAX_PAGE = 500


class BookingPage(BaseModel):
    """One page of bookings in calendar order (start, then id); ``next_cursor`` continues."""

    bookings: list[Booking]
    next_cursor: str | None = None


def check_limit(value: Any, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
        raise ValidationError("limit", f"must be an integer from 1 to {hi}")
    return value


def check_window(start: Any, end: Any) -> tuple[int | None, int | None]:
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


def _records(store: Store, user_id: str) -> Iterable[dict[str, Any]]:
    with store_errors("bookings list"):
        for booking_id, raw in store.redis.hscan_iter(store.keys.bookings(user_id), count=500):
            yield expand_booking(booking_id, raw)


def server_now_ms(store: Store, user_id: str) -> int:
    """The Redis server's clock (the one that set every ``expires_ms``)."""
    r: Any = store.redis
    with store_errors("bookings list"):
        if hasattr(r, "get_node_from_key"):  # a cluster: ask the calendar's node
            node = r.get_node_from_key(store.keys.bookings(user_id))
            sec, usec = r.time(target_nodes=node)
        else:
            sec, usec = r.time()
    return int(sec) * 1000 + int(usec) // 1000


class Filters(TypedDict, total=False):
    """What a page may be narrowed by, besides the agent (see :func:`page`)."""

    start: Any
    end: Any
    status: str | None
    cursor: str | None
    limit: int


def page(
    store: Store, user_id: str, *, agent_id: str | None = None, **filters: Unpack[Filters]
) -> BookingPage:
    """The calendar's bookings overlapping ``[start, end)``, in start order.

    ``status`` is the status as of now (a hold past its expiry is ``EXPIRED``);
    ``cursor`` is the previous page's ``next_cursor``; ``limit`` defaults to 100. A
    booking another agent displaced names that agent (``ended_by_agent_name``).
    """
    start, end, status = filters.get("start"), filters.get("end"), filters.get("status")
    cursor, limit = filters.get("cursor"), filters.get("limit", 100)
    lo, hi = check_window(start, end)
    limit = check_limit(limit, MAX_PAGE)
    if agent_id is not None and not is_id(agent_id):
        raise ValidationError("agent_id", "must be an agent id such as agt_…")
    if status is not None and status not in BOOKING_STATUSES:
        raise ValidationError("status", f"must be one of {list(BOOKING_STATUSES)}")
    after = None if cursor is None else _decode(cursor)
    now = server_now_ms(store, user_id)
    rows = []
    for rec in _records(store, user_id):
        if (lo is not None and rec["end_ms"] <= lo) or (hi is not None and rec["start_ms"] >= hi):
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
    shown = rows[:limit]
    names = agent_names(store, user_id, (b.ended_by_agent_id for _, b in shown))
    return BookingPage(
        bookings=[with_names(b, names) for _, b in shown],
        next_cursor=_encode(*shown[-1][0]) if len(rows) > limit else None,
    )


def with_names(booking: Booking, names: dict[str, str]) -> Booking:
    """``booking`` naming the agent that ended it, when ``names`` knows that agent."""
    name = names.get(booking.ended_by_agent_id or "")
    return booking.model_copy(update={"ended_by_agent_name": name}) if name else booking
