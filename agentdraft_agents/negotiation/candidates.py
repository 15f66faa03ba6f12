"""Counter-proposals: open slots near the wanted one that both sides accept.

One availability call (already filtered by the owner's rules and by other agents'
bookings and holds) over the window the requester's constraints leave, cut into
slots of the wanted length on the wanted slot's grid, kept if the constraints
allow them, nearest first.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from ..core import BookingService
from ..results import Failed, Slot
from .constraints import Constraints
from .policies import distance


def open_slots_near(
    service: BookingService,
    wanted: Slot,
    constraints: Constraints,
    *,
    exclude: Collection[datetime] = (),
    horizon: timedelta = timedelta(days=2),
    granularity_minutes: int = 15,
    limit: int = 8,
    now: datetime | None = None,
) -> list[Slot] | Failed:
    """Up to ``limit`` bookable slots as long as ``wanted``, nearest its start first.

    Starts lie on ``wanted.start + k × granularity`` inside the constraints' window,
    not before ``now`` (this machine's clock; the coordinator still judges the
    booking by its own) and not in ``exclude`` (starts already tried). A client
    error (missing scope, bad window) comes back as :class:`Failed`.
    """
    length = wanted.end - wanted.start
    step = timedelta(minutes=granularity_minutes)
    lo, hi = constraints.start_window(wanted, horizon)
    floor = now or datetime.now(UTC)
    if lo < floor:  # round up onto the grid
        lo = wanted.start + step * math.ceil((floor - wanted.start) / step)
    if hi < lo:
        return []
    free = service.availability(
        lo,
        hi + length,
        duration_minutes=max(5, math.ceil(length.total_seconds() / 60)),
        granularity_minutes=granularity_minutes,
        include_holds=True,
    )
    if isinstance(free, Failed):
        return free
    skip = set(exclude)
    found: dict[datetime, Slot] = {}
    for r in free.slots:
        s = wanted.start + step * math.ceil((r.start - wanted.start) / step)
        while s + length <= r.end and s <= hi:
            slot = Slot(start=s, end=s + length)
            if s >= lo and s not in skip and constraints.allows(slot, wanted):
                found.setdefault(s, slot)
            s += step
    return sorted(found.values(), key=lambda x: distance(x, wanted))[:limit]


__all__ = ["open_slots_near"]
