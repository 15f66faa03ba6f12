"""Read what Redis holds for one calendar: booking records, the bucket index, the clock.

These are the things ``audit verify`` compares with the replayed history. The
bucket index is found by SCAN over the calendar's ``day:*`` keys rather than
derived from the records, so a bucket planted on a day no booking covers is seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from ..buckets import BUCKETS_PER_DAY
from ..store.errors import store_errors
from ..store.handle import Store
from ..store.records import expand_booking


@dataclass(frozen=True)
class CalendarState:
    owner_exists: bool
    records: dict[str, dict[str, Any]]
    #: absolute 5-minute bucket index -> booking id
    buckets: dict[int, str]
    now_ms: int


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _record(booking_id: str, text: str) -> dict[str, Any]:
    """A stored record (expanded), or a stand-in that differs from any history if it is
    not a record at all."""
    try:
        rec = json.loads(text)
    except ValueError:
        return {"status": "<not JSON>"}
    if not isinstance(rec, dict):
        return {"status": "<not an object>"}
    try:
        return expand_booking(booking_id, rec)
    except (KeyError, TypeError, ValueError):
        return {"status": "<not a booking record>"}


def read_state(store: Store, user_id: str) -> CalendarState:
    k, r = store.keys, store.redis
    prefix = k.prefix(user_id)
    with store_errors("audit verify"):
        owner_exists = bool(r.exists(k.owner(user_id)))
        raw = r.hgetall(k.bookings(user_id))
        records = {bid: _record(bid, text) for bid, text in raw.items()}
        buckets: dict[int, str] = {}
        pattern = _glob_escape(prefix) + "day:*"
        for key in r.scan_iter(match=pattern, count=1000):
            day = int(key[len(prefix) + 4 :])
            for field, bid in r.hgetall(key).items():
                if bid.startswith("x:"):
                    continue  # connectors: a pulled external event, not in the chain
                buckets[day * BUCKETS_PER_DAY + int(field)] = bid
        # The clock of the node that holds this calendar, as the scripts read it.
        secs, micros = r.eval("return redis.call('TIME')", 1, k.owner(user_id))
    return CalendarState(
        owner_exists=owner_exists,
        records=records,
        buckets=buckets,
        now_ms=int(secs) * 1000 + int(micros) // 1000,
    )
