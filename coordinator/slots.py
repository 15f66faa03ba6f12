"""Finding open slots: the calendar's free time filtered through the owner's rules.

Candidate starts lie on the granularity grid; each is kept if its meeting lies in
working hours, misses every focus block, starts after the lead time, falls on a
local day below the daily cap, and its cover (with the owner's default buffers) is
free of commits and, unless ``include_holds=False``, of other agents' live holds.
The caller's own holds never block it: its commit would absorb them. Pure functions
over what ``read_availability.lua`` returns; the client façade is
:mod:`coordinator.availability`.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from .buckets import BUCKET_MS, from_ms
from .models import Slot
from .policy import focus_time, working_hours
from .ruleset import RulesSnapshot
from .wallclock import Intervals, local_date, local_day_bounds, utc_days


def days_needed(snap: RulesSnapshot, lo_ms: int, hi_ms: int) -> list[int]:
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
    first = -(-earliest // step) * step
    out: list[Slot] = []
    if first + dur > hi_ms:
        return out
    # One sweep over the candidates in time order: every interval list is sorted and
    # disjoint, and a candidate's start, end and cover only grow, so each test keeps a
    # cursor instead of searching (the same tests as Intervals.covers / .overlaps).
    h_starts, h_ends = (hours.starts, hours.ends) if hours is not None else ((), ())
    f_starts, f_ends = focus.starts, focus.ends
    b_starts, b_ends = busy.starts, busy.ends
    hn, fn, bn = len(h_starts), len(f_starts), len(b_starts)
    hi_ = fi = bi = 0
    first_dt = from_ms(first)
    span, stride = timedelta(milliseconds=dur), timedelta(milliseconds=step)
    construct = Slot.model_construct
    k = 0
    s = first
    while s + dur <= hi_ms:
        e = s + dur
        ok = True
        if hours is not None:
            while hi_ + 1 < hn and h_starts[hi_ + 1] <= s:
                hi_ += 1
            ok = hn > 0 and h_starts[hi_] <= s and h_ends[hi_] >= e
        if ok and fn:
            while fi < fn and f_ends[fi] <= s:
                fi += 1
            ok = not (fi < fn and f_starts[fi] < e)
        if ok and bn:
            c0, c1 = (s - before) // BUCKET_MS, -(-(e + after) // BUCKET_MS)
            while bi < bn and b_ends[bi] <= c0:
                bi += 1
            ok = not (bi < bn and b_starts[bi] < c1)
        if ok and full_days:
            ok = local_date(s, snap.tz) not in full_days
        if ok:
            start_dt = first_dt + stride * k
            # The fields are datetimes built here: no validation pass needed.
            out.append(construct(start=start_dt, end=start_dt + span))
        s += step
        k += 1
    return out


__all__ = ["days_needed", "free_slots"]
