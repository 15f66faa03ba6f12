"""Availability reads only the buckets that can decide a slot (slots.spans_needed).

A whole-day answer used to read every booking of both neighbouring UTC days; it now
reads one bucket of each. These tests hold the narrower read to the same answer as
the whole-day read, for buffers, a daily cap in a zone off UTC, and ranges that start
or end mid-day, and check that the neighbours' other bookings are no longer read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from coordinator.availability import live_bookings
from coordinator.slots import covers, free_slots, spans_needed
from coordinator.store.calls import DaySpan

from .conftest import Calendar

DAY = datetime(2031, 3, 4, tzinfo=UTC)  # a Tuesday
DAY_N = int(DAY.timestamp()) // 86_400


def _whole_day_live(cal: Calendar, agent_id: str, days: list[int]) -> dict[str, Any]:
    """The script's reply for whole days, as availability read them before."""
    reply = cal.coord.store.calls.read_availability(
        user_id=cal.user_id, agent_id=agent_id, key_hash="", scope="", limits={}, days=days
    )
    assert reply["r"] == "ok", reply
    return reply


def _fill(cal: Calendar) -> Any:
    """Commits and holds every two hours from the day before to the day after."""
    me, other = cal.agent(2), cal.agent(1)
    for i in range(-12, 25):
        s = DAY + timedelta(hours=2 * i)
        writer = other if i % 3 else me
        if i % 4 == 0:
            writer.bookings.hold(start=s, end=s + timedelta(minutes=45))
        else:
            writer.bookings.commit(start=s, end=s + timedelta(minutes=30))
    # Right at the edges of the day: bookings the one neighbouring bucket must catch.
    other.bookings.commit(start=DAY - timedelta(minutes=10), end=DAY)
    other.bookings.commit(start=DAY + timedelta(days=1), end=DAY + timedelta(days=1, minutes=5))
    return me


RULES: list[dict[str, Any]] = [
    {},
    {"buffer_before_min": 15, "buffer_after_min": 10},
    {"daily_cap": 3, "timezone": "America/Los_Angeles"},
    {"daily_cap": 20, "timezone": "Asia/Kolkata", "buffer_after_min": 5},
]
RANGES = [
    (DAY, DAY + timedelta(days=1)),
    (DAY + timedelta(hours=7, minutes=10), DAY + timedelta(hours=15)),
    (DAY - timedelta(hours=3), DAY + timedelta(hours=2)),
    (DAY + timedelta(hours=22), DAY + timedelta(days=1, hours=1)),
]


@pytest.mark.parametrize("rules", RULES, ids=lambda r: ",".join(r) or "no-rules")
def test_reading_only_the_deciding_buckets_answers_as_whole_days_do(
    cal: Calendar, rules: dict[str, Any]
) -> None:
    # Given a calendar busy across three UTC days and the owner's rules
    me = _fill(cal)
    rules = dict(rules)
    zone = rules.pop("timezone", None)
    if zone:
        cal.coord.owners.set_timezone(cal.user_id, zone)
    if rules:
        cal.coord.rules.update(cal.user_id, **rules)
    agent_id = me.agents.me().agent_id
    snap = cal.coord.store.rules_cache.get(cal.user_id)
    for lo, hi in RANGES:
        lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
        # When availability answers (reading the spans only)
        got = me.availability.list(start=lo, end=hi, duration_minutes=30)
        # Then it is what the same search gives over every booking of the whole days
        spans = spans_needed(snap, lo_ms, hi_ms)
        whole = _whole_day_live(cal, agent_id, sorted({s.day for s in spans}))
        fresh = cal.coord.store.rules_cache.from_reply(cal.user_id, whole)
        live = live_bookings(whole, agent_id)
        expected = free_slots(fresh, live, int(whole["now"]), lo_ms, hi_ms, 30, 15, True)
        assert [(s.start, s.end) for s in got] == [(s.start, s.end) for s in expected], (lo, hi)


def test_a_whole_day_reads_one_bucket_of_each_neighbour(cal: Calendar) -> None:
    # Given bookings all over the day before and the day after
    me = _fill(cal)
    agent_id = me.agents.me().agent_id
    snap = cal.coord.store.rules_cache.get(cal.user_id)
    lo_ms = DAY_N * 86_400_000
    spans = spans_needed(snap, lo_ms, lo_ms + 86_400_000)
    # Then the read covers the day and only the edge bucket of each neighbour
    assert spans == [
        DaySpan(DAY_N - 1, 287, 287),
        DaySpan(DAY_N, 0, 287),
        DaySpan(DAY_N + 1, 0, 0),
    ]
    narrow = cal.coord.store.calls.read_availability(
        user_id=cal.user_id, agent_id=agent_id, key_hash="", scope="", limits={}, days=spans
    )
    whole = _whole_day_live(cal, agent_id, [DAY_N - 1, DAY_N, DAY_N + 1])
    narrow_live, whole_live = live_bookings(narrow, agent_id), live_bookings(whole, agent_id)
    starts = sorted(narrow_live[3::4])
    # the day's own twelve, plus the two that reach into its edge buckets
    day_starts = [s for s in sorted(whole_live[3::4]) if lo_ms <= s < lo_ms + 86_400_000]
    edge = [lo_ms - 10 * 60_000, lo_ms + 86_400_000]
    assert starts == sorted(day_starts + edge)
    assert len(whole_live) > len(narrow_live) + 4 * 20  # the neighbours' others


def test_a_rules_change_that_widens_the_reach_reads_again(cal: Calendar) -> None:
    # Given the owner's new buffer rule, unseen by this process's cached snapshot
    me = _fill(cal)
    cache = cal.coord.store.rules_cache
    stale = cache.get(cal.user_id)
    cal.coord.rules.update(cal.user_id, buffer_before_min=60)
    # as an update made by another process leaves this one's cache (put keeps the newest)
    cache._by_owner[cal.user_id] = stale
    # When an agent asks for 05:15-06:00: the stale reach (no buffer) stops at 05:10,
    # short of the 04:00-04:30 booking that a 60-minute buffer before 05:15 reaches
    lo = DAY + timedelta(hours=5, minutes=15)
    got = me.availability.list(start=lo, end=lo + timedelta(minutes=45))
    # Then the wider reach was read again: 05:15 is out, 05:30 is open
    assert [s.start for s in got] == [DAY + timedelta(hours=5, minutes=30)]


def test_covers_compares_bucket_ranges_not_days() -> None:
    read = [DaySpan(5, 287, 287), DaySpan(6, 0, 287)]
    assert covers(read, [DaySpan(6, 3, 200)])
    assert not covers(read, [DaySpan(5, 280, 287)])
    assert not covers(read, [DaySpan(7, 0, 0)])
