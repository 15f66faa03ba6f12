"""``slots.free_slots`` answers exactly what the per-candidate search did.

``free_slots`` was rewritten for speed (first one cursor per interval list instead of
a binary search per candidate; then ranges of allowed starts instead of candidates,
slots built without a validation pass). The search it replaced is kept here,
verbatim, as the oracle: for random calendars (bookings and
holds of every kind, buffers, working hours, weekly and one-off focus blocks, lead
time, daily cap, time zones) and random queries, both return the same slots.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.buckets import BUCKET_MS, from_ms
from coordinator.models import Slot
from coordinator.policy import focus_time, working_hours
from coordinator.ruleset import OneOffFocus, RuleSet, RulesSnapshot, WeeklyFocus
from coordinator.slots import free_slots
from coordinator.wallclock import Intervals, local_date

DAY_MS = 86_400_000
T0 = int(datetime(2031, 3, 28, tzinfo=UTC).timestamp() * 1000)  # spans a DST change


def reference_free_slots(
    snap: RulesSnapshot,
    live: list[int],
    now_ms: int,
    lo_ms: int,
    hi_ms: int,
    duration_min: int,
    granularity_min: int,
    include_holds: bool,
) -> list[Slot]:
    """The search as it was before the sweep (coordinator/slots.py, 2026-12)."""
    rules = snap.rules
    dur, step = duration_min * 60_000, granularity_min * 60_000
    before, after = (rules.buffer_before_min or 0) * 60_000, (rules.buffer_after_min or 0) * 60_000
    taken: list[tuple[int, int]] = []
    starts_per_day: Counter[date] = Counter()
    for i in range(0, len(live), 4):
        first, last, kind, start = live[i], live[i + 1], live[i + 2], live[i + 3]
        if kind in (0, 3) or (kind == 1 and include_holds):
            taken.append((first, last))
        if rules.daily_cap and kind != 3:
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


hhmm = st.integers(0, 24 * 4).map(lambda q: f"{q // 4:02d}:{q % 4 * 15:02d}" if q < 96 else "24:00")
weekday = st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"])


@st.composite
def spans(draw: st.DrawFn) -> tuple[str, str]:
    a, b = sorted(draw(st.lists(hhmm, min_size=2, max_size=2, unique=True)))
    return a, b


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    hours = draw(
        st.none() | st.dictionaries(weekday, st.lists(spans(), min_size=1, max_size=3).map(tuple))
    )
    focus: list[WeeklyFocus | OneOffFocus] = []
    for wd, (a, b) in draw(st.lists(st.tuples(weekday, spans()), max_size=3)):
        focus.append(WeeklyFocus(weekday=wd, start=a, end=b))
    for off, length in draw(st.lists(st.tuples(st.integers(0, 4 * 96), st.integers(1, 40)))):
        start = from_ms(T0 + off * 15 * 60_000)
        focus.append(OneOffFocus(start=start, end=start + timedelta(minutes=15 * length)))
    return RuleSet(
        working_hours=hours,
        buffer_before_min=draw(st.none() | st.integers(0, 60)),
        buffer_after_min=draw(st.none() | st.integers(0, 60)),
        focus_blocks=tuple(focus) or None,
        min_lead_minutes=draw(st.none() | st.integers(0, 600)),
        daily_cap=draw(st.none() | st.integers(1, 4)),
    )


@st.composite
def live_bookings(draw: st.DrawFn) -> list[int]:
    flat: list[int] = []
    for off, length, kind in draw(
        st.lists(st.tuples(st.integers(-96, 5 * 96), st.integers(1, 24), st.integers(0, 3)))
    ):
        first = T0 // BUCKET_MS + off
        flat += [first, first + length, kind, first * BUCKET_MS]
    return flat


@settings(max_examples=300, deadline=None)
@given(
    rules=rule_sets(),
    tz=st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
    live=live_bookings(),
    now_off=st.integers(-DAY_MS, 3 * DAY_MS),
    lo_off=st.integers(0, 3 * 96),
    length=st.integers(1, 4 * 96),
    duration=st.sampled_from([5, 15, 30, 45, 60, 90, 240]),
    granularity=st.sampled_from([5, 10, 15, 30, 60]),
    include_holds=st.booleans(),
)
def test_the_sweep_finds_the_same_slots_as_the_per_candidate_search(
    rules: RuleSet,
    tz: str,
    live: list[int],
    now_off: int,
    lo_off: int,
    length: int,
    duration: int,
    granularity: int,
    include_holds: bool,
) -> None:
    snap = RulesSnapshot(3, tz, rules)
    lo = T0 + lo_off * 15 * 60_000
    hi = lo + length * 15 * 60_000
    args = (snap, live, T0 + now_off, lo, hi, duration, granularity, include_holds)
    assert free_slots(*args) == reference_free_slots(*args)
