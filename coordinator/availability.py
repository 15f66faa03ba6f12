"""Open slots: the calendar's free time filtered through the owner's rules.

One script call (``read_availability.lua``) checks the caller's key, scope and rate
limit and returns, for the UTC days the range touches only, every live booking's
cover plus the owner's rules and the server clock. The slots are then computed
here: candidate starts on the granularity grid, each kept if its meeting lies in
working hours, misses every focus block, starts after the lead time, falls on a
local day below the daily cap, and its cover (with the owner's default buffers) is
free of commits and, unless ``include_holds=False``, of other agents' live holds.
The caller's own holds never block it: its commit would absorb them.

Cost: one HVALS per day in the range (at most 288 fields each) plus one record read
per distinct booking found there, then O(candidate slots × log n) in Python. It
grows with the length of the range and the bookings inside it, never with the
bookings elsewhere on the calendar.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from .access import AVAILABILITY_READ, CallerContext
from .buckets import BUCKET_MS, from_ms, parse_time, to_ms
from .connectors.models import Freshness
from .errors import AgentDraftError, AuthError, ValidationError
from .etag import make_etag
from .models import Slot
from .policy import focus_time, working_hours
from .replies import About, refusal
from .ruleset import RulesSnapshot
from .store.errors import store_errors
from .wallclock import Intervals, local_date, local_day_bounds, utc_days

#: Longest range one call may ask for.
MAX_RANGE_DAYS = 62
MAX_DURATION_MINUTES = 24 * 60


class AvailabilityList(list[Slot]):
    """The open slots (iterate it like the SDK's list) plus the etag that dates them.

    Pass ``etag`` as ``availability_etag=`` to a write: if the owner changed a rule
    since, the write raises :class:`~coordinator.StaleAvailability` instead of
    booking against rules that no longer hold.
    """

    def __init__(
        self,
        slots: Iterable[Slot],
        *,
        etag: str,
        rules_version: int,
        calendars: Iterable[Freshness] = (),
    ) -> None:
        super().__init__(slots)
        self.etag = etag
        self.rules_version = rules_version
        #: How fresh each connected real calendar's view is (empty without connectors).
        self.calendars: list[Freshness] = list(calendars)

    @property
    def stale(self) -> bool:
        """A connected calendar was not pulled recently enough: slots may be taken."""
        return any(f.stale for f in self.calendars)

    @property
    def slots(self) -> list[Slot]:
        return list(self)


def _minutes(value: Any, field: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(field, f"must be whole minutes from {lo} to {hi}")
    return value


def _days_needed(snap: RulesSnapshot, lo_ms: int, hi_ms: int) -> list[int]:
    """UTC days whose buckets can decide a slot in ``[lo, hi)``."""
    rules = snap.rules
    lo = lo_ms - (rules.buffer_before_min or 0) * 60_000 - BUCKET_MS
    hi = hi_ms + (rules.buffer_after_min or 0) * 60_000 + BUCKET_MS
    if rules.daily_cap:  # a cap counts the whole local day, even outside the range
        lo = min(lo, local_day_bounds(local_date(lo_ms, snap.tz), snap.tz)[0])
        hi = max(hi, local_day_bounds(local_date(hi_ms - 1, snap.tz), snap.tz)[1])
    return utc_days(lo, hi)


def free_slots(
    snap: RulesSnapshot,
    live: list[int],
    now_ms: int,
    lo_ms: int,
    hi_ms: int,
    duration_min: int,
    granularity_min: int,
    include_holds: bool,
) -> list[Slot]:
    """Slots of ``duration`` in ``[lo, hi)`` starting on the granularity grid.

    ``live``: flat (cover_first, cover_last, kind, start_ms) per live booking, as
    ``read_availability.lua`` returns it. Pure: no I/O, so it is tested and timed alone.
    """
    rules = snap.rules
    dur, step = duration_min * 60_000, granularity_min * 60_000
    before, after = (rules.buffer_before_min or 0) * 60_000, (rules.buffer_after_min or 0) * 60_000
    taken: list[tuple[int, int]] = []
    starts_per_day: Counter[date] = Counter()
    for i in range(0, len(live), 4):
        first, last, kind, start = live[i], live[i + 1], live[i + 2], live[i + 3]
        if kind in (0, 3) or (kind == 1 and include_holds):
            taken.append((first, last))
        if rules.daily_cap and kind != 3:  # the owner's own events are not agent meetings
            starts_per_day[local_date(start, snap.tz)] += 1
    busy = Intervals(taken)
    hours = working_hours(snap, lo_ms, hi_ms)
    focus = focus_time(snap, lo_ms, hi_ms)
    full_days = {d for d, n in starts_per_day.items() if rules.daily_cap and n >= rules.daily_cap}
    earliest = max(lo_ms, now_ms + (rules.min_lead_minutes or 0) * 60_000)
    s = -(-earliest // step) * step
    out: list[Slot] = []
    while s + dur <= hi_ms:
        e = s + dur
        if (
            (hours is None or hours.covers(s, e))
            and not focus.overlaps(s, e)
            and not busy.overlaps((s - before) // BUCKET_MS, -(-(e + after) // BUCKET_MS))
            and not (full_days and local_date(s, snap.tz) in full_days)
        ):
            out.append(Slot(start=from_ms(s), end=from_ms(e)))
        s += step
    return out


class Availability:
    """``client.availability``: the official SDK's ``list`` over the local engine."""

    def __init__(
        self, ctx: CallerContext, freshness: Callable[[str], builtins.list[Freshness]]
    ) -> None:
        self._c = ctx
        self._store = ctx.store
        #: How fresh each external calendar's view of the owner's calendar is.
        self._freshness = freshness

    def list(
        self,
        *,
        start: datetime | str,
        end: datetime | str,
        duration_minutes: int = 30,
        granularity_minutes: int = 15,
        include_holds: bool = True,
        user_id: str | None = None,
    ) -> AvailabilityList:
        """Open slots of ``duration_minutes`` in ``[start, end)``, starts on a grid.

        The grid is ``granularity_minutes`` counted from the epoch (so 15 or 30 land
        on local quarter and half hours in every zone). Slots before the server's
        clock or inside the lead time are never offered.
        """
        c = self._c
        if user_id is not None and user_id != c.user_id:
            raise AuthError("an agent may only read its own owner's calendar", error="forbidden")
        s, e = parse_time(start, "start"), parse_time(end, "end")
        if e <= s:
            raise ValidationError("end", "must be after start")
        if (e - s).total_seconds() > MAX_RANGE_DAYS * 86400:
            raise ValidationError("end", f"a range of at most {MAX_RANGE_DAYS} days")
        dur = _minutes(duration_minutes, "duration_minutes", 5, MAX_DURATION_MINUTES)
        step = _minutes(granularity_minutes, "granularity_minutes", 5, MAX_DURATION_MINUTES)
        if not isinstance(include_holds, bool):
            raise ValidationError("include_holds", "must be True or False")
        lo, hi = to_ms(s), to_ms(e)

        eng = self._store
        snap = eng.rules_cache.get(c.user_id)
        days = _days_needed(snap, lo, hi)
        for _ in range(4):
            reply = self._read(days)
            fresh = eng.rules_cache.put(c.user_id, RulesSnapshot.from_reply(reply))
            needed = _days_needed(fresh, lo, hi)
            if set(needed) <= set(days):
                break
            days = needed  # the rules changed the reach of buffers or the cap: read again
        else:
            raise AgentDraftError("the owner's rules kept changing during this read; retry")
        live = reply.get("live") or []
        slots = free_slots(fresh, live, int(reply["now"]), lo, hi, dur, step, include_holds)
        return AvailabilityList(
            slots,
            etag=make_etag(c.user_id, fresh.version),
            rules_version=fresh.version,
            calendars=self._freshness(c.user_id),
        )

    def _read(self, days: builtins.list[int]) -> dict[str, Any]:
        c, eng = self._c, self._store
        with store_errors("availability"):
            reply = eng.calls.read_availability(
                user_id=c.user_id,
                agent_id=c.agent_id,
                key_hash=c.key_hash,
                scope=AVAILABILITY_READ,
                limits=eng.limits,
                days=days,
            )
        if reply["r"] != "ok":
            raise refusal("availability", reply, About(c.user_id, "", c.agent_id))
        return reply
