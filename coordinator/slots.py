"""Finding open slots: the calendar's free time filtered through the owner's rules.

Candidate starts lie on the granularity grid; each is kept if its meeting lies in
working hours, misses every focus block, starts after the lead time, falls on a
local day below the daily cap, and its cover (with the owner's default buffers) is
free of commits and, unless ``include_holds=False``, of other agents' live holds.
The caller's own holds never block it: its commit would absorb them. Pure functions
over what ``read_availability.lua`` returns; the client façade is
:mod:`coordinator.availability`.

Each rule is turned into ranges of allowed or forbidden start instants, and the slots
are read off the ranges that remain, so the work grows with the rules, the bookings
and the slots answered, not with the candidate starts of the range (a free day on a
15-minute grid is a single range, 95 slots).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from .buckets import BUCKET_MS, Cover
from .models import Slot, trusted_slot
from .policy import focus_time, working_hours
from .ruleset import RulesSnapshot
from .store.calls import DaySpan
from .wallclock import Intervals, local_date, local_day_bounds

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def spans_needed(snap: RulesSnapshot, lo_ms: int, hi_ms: int) -> list[DaySpan]:
    """The bucket fields, day by day, whose bookings can decide a slot in ``[lo, hi)``.

    A booking outside them cannot: its cover ends a bucket before the earliest start's
    cover (with the owner's buffers) can begin, or begins a bucket after the latest
    one's ends, and with a daily cap the whole local days of the range are in them, so
    each booking starting on such a day is found in its start's bucket. Reading only
    these (a whole-day answer needs one bucket of each neighbouring day) keeps an
    availability read from decoding the neighbours' every booking.
    """
    lo, hi = _reach(snap, lo_ms, hi_ms)
    return [DaySpan(*span) for span in Cover(lo // BUCKET_MS, -(-hi // BUCKET_MS)).days()]


def covers(read: list[DaySpan], needed: list[DaySpan]) -> bool:
    """Whether the buckets ``read`` include every bucket ``needed``."""
    got = {s.day: s for s in read}
    return all(
        (r := got.get(n.day)) is not None and r.first <= n.first and n.last <= r.last
        for n in needed
    )


def _reach(snap: RulesSnapshot, lo_ms: int, hi_ms: int) -> tuple[int, int]:
    """``[lo, hi)`` in ms widened to every instant whose bucket can decide a slot in it."""
    rules = snap.rules
    lo = lo_ms - (rules.buffer_before_min or 0) * 60_000 - BUCKET_MS
    hi = hi_ms + (rules.buffer_after_min or 0) * 60_000 + BUCKET_MS
    if rules.daily_cap:  # a cap counts the whole local day, even outside the range
        lo = min(lo, local_day_bounds(local_date(lo_ms, snap.tz), snap.tz)[0])
        hi = max(hi, local_day_bounds(local_date(hi_ms - 1, snap.tz), snap.tz)[1])
    return lo, hi


def earliest_start(snap: RulesSnapshot, now_ms: int, lo_ms: int) -> int:
    """The earliest instant a slot may start: the range's start, or ``now`` plus the
    owner's lead time when that is later."""
    return max(lo_ms, now_ms + (snap.rules.min_lead_minutes or 0) * 60_000)


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
    blocking = (0, 1, 3) if include_holds else (0, 3)
    # Sliced and zipped rather than indexed: a full day is 48 bookings a read.
    quads = list(zip(live[0::4], live[1::4], live[2::4], live[3::4], strict=True))
    taken = [(first, last) for first, last, kind, _ in quads if kind in blocking]
    starts_per_day: Counter[date] = Counter()
    if rules.daily_cap:  # the owner's own events (kind 3) are not agent meetings
        starts_per_day.update(local_date(s, snap.tz) for _, _, kind, s in quads if kind != 3)
    busy = Intervals(taken)
    hours = working_hours(snap, lo_ms, hi_ms)
    focus = focus_time(snap, lo_ms, hi_ms)
    full_days = {d for d, n in starts_per_day.items() if rules.daily_cap and n >= rules.daily_cap}
    earliest = earliest_start(snap, now_ms, lo_ms)
    # Every test is turned into a range of starts, so the search costs the intervals
    # plus the slots it answers, not the candidates it would have tried one by one.
    # A start s (meeting [s, s + dur)) may lie in working time when some working
    # interval [a, b) holds the meeting: a <= s <= b - dur.
    last_start = hi_ms - dur
    if hours is None:
        allowed = [(earliest, last_start)]
    else:
        allowed = [
            (max(a, earliest), min(b - dur, last_start))
            for a, b in zip(hours.starts, hours.ends, strict=True)
        ]
    # The starts each rule forbids, as closed ranges of ms: a focus block [a, b) meets
    # the meeting when a - dur < s < b; a busy bucket range [f, l) meets its cover
    # [floor((s - before) / B), ceil((s + dur + after) / B)) when
    # f * B - dur - after < s < l * B + before; a full local day forbids its own starts.
    blocked = [(a - dur + 1, b - 1) for a, b in zip(focus.starts, focus.ends, strict=True)]
    blocked += [
        (f * BUCKET_MS - dur - after + 1, last * BUCKET_MS + before - 1)
        for f, last in zip(busy.starts, busy.ends, strict=True)
    ]
    for day in full_days:
        day_lo, day_hi = local_day_bounds(day, snap.tz)
        blocked.append((day_lo, day_hi - 1))
    out: list[Slot] = []
    for a, b in _subtract(allowed, blocked):
        first = -(-a // step) * step  # the first start on the grid
        if first <= b:
            out += _grid_slots(first, first + (b - first) // step * step, dur, step)
    return out


def _subtract(
    allowed: list[tuple[int, int]], blocked: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """The parts of ``allowed`` (sorted, disjoint, closed ranges) outside every ``blocked``
    range (closed, in any order, may overlap)."""
    out: list[tuple[int, int]] = []
    blocked.sort()
    n, j = len(blocked), 0
    for a, b in allowed:
        # Blocked ranges that end before this one starts can block nothing after it.
        while j < n and blocked[j][1] < a:
            j += 1
        k = j
        while a <= b and k < n and blocked[k][0] <= b:
            lo, hi = blocked[k]
            if lo > a:
                out.append((a, lo - 1))
            a = max(a, hi + 1)
            k += 1
        if a <= b:
            out.append((a, b))
    return out


#: Stretches kept, and the most slots one kept stretch may have (a day of 5-minute starts):
#: at most ~20 MB of slots, usually far less.
_KEPT_STRETCHES = 128
_KEPT_SLOTS = 288


def _grid_slots(first: int, last: int, dur: int, step: int) -> tuple[Slot, ...]:
    """The slots of ``dur`` starting every ``step`` from ``first`` to ``last`` (inclusive).

    A stretch of at most a day's slots is kept for the next answer: building the slot
    objects was most of an answer's cost, a free stretch of a calendar is asked for
    again and again (by every agent, and on every poll) until a booking or a rule cuts
    it, and slots are frozen, so answers can share them. Keyed by grid starts, so a
    stretch that begins at "now" changes key once a step, not once a millisecond.
    """
    if (last - first) // step < _KEPT_SLOTS:
        return _kept_stretch(first, last, dur, step)
    return _stretch(first, last, dur, step)


def _stretch(first: int, last: int, dur: int, step: int) -> tuple[Slot, ...]:
    span, stride = timedelta(milliseconds=dur), timedelta(milliseconds=step)
    start = _EPOCH + timedelta(milliseconds=first)
    out = []
    for _ in range((last - first) // step + 1):
        end = start + span
        out.append(trusted_slot(start, end))
        start += stride
    return tuple(out)


_kept_stretch = lru_cache(maxsize=_KEPT_STRETCHES)(_stretch)


__all__ = ["covers", "free_slots", "spans_needed"]
