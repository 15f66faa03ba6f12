"""``client.availability.list``: open slots through rules and bookings, with an etag.

BASE is Monday 2031-03-03 10:00 UTC; the owner is in UTC unless a test says so.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coordinator import (
    AuthError,
    AvailabilityList,
    Gone,
    Slot,
    StaleAvailability,
    ValidationError,
)

from .conftest import BASE, Calendar, at
from .test_bad_input import snapshot


def starts(slots: list[Slot]) -> list[float]:
    """Slot starts as minutes after BASE."""
    return [(s.start - BASE).total_seconds() / 60 for s in slots]


def test_an_empty_calendar_without_rules_is_open_on_the_whole_grid(cal: Calendar) -> None:
    a = cal.agent(1)
    slots = a.availability.list(start=at(0), end=at(120))
    assert isinstance(slots, AvailabilityList)
    assert starts(slots) == [0, 15, 30, 45, 60, 75, 90]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)
    assert [s.start for s in slots] == [s.start for s in slots.slots]  # SDK-style iteration too


def test_the_grid_and_duration_are_honoured(cal: Calendar) -> None:
    a = cal.agent(1)
    slots = a.availability.list(
        start=at(7), end=at(120), duration_minutes=60, granularity_minutes=30
    )
    assert starts(slots) == [30, 60]


def test_commits_and_other_agents_holds_block_slots(cal: Calendar) -> None:
    me, other = cal.agent(2), cal.agent(1)
    other.bookings.commit(start=at(30), end=at(60))
    other.bookings.hold(start=at(90), end=at(105))
    assert starts(me.availability.list(start=at(0), end=at(150))) == [0, 60, 105, 120]


def test_include_holds_false_shows_held_time_as_open(cal: Calendar) -> None:
    me, other = cal.agent(2), cal.agent(1)
    other.bookings.hold(start=at(30), end=at(60))
    assert starts(me.availability.list(start=at(0), end=at(90), include_holds=False)) == [
        0,
        15,
        30,
        45,
        60,
    ]


def test_the_callers_own_hold_does_not_block_it_since_its_commit_absorbs_the_hold(
    cal: Calendar,
) -> None:
    me, other = cal.agent(2), cal.agent(3)
    me.bookings.hold(start=at(30), end=at(60))
    assert 30 in starts(me.availability.list(start=at(0), end=at(90)))
    assert 30 not in starts(other.availability.list(start=at(0), end=at(90)))


def test_released_and_expired_holds_free_their_slots(cal: Calendar) -> None:
    from .test_bucket_rules import wait_until_expired

    me, other = cal.agent(2), cal.agent(1)
    h1 = other.bookings.hold(start=at(0), end=at(30))
    h2 = other.bookings.hold(start=at(30), end=at(60), hold_ttl_seconds=0.05)
    other.bookings.release(h1.booking_id)
    wait_until_expired(cal, other, h2.booking_id)
    assert starts(me.availability.list(start=at(0), end=at(60))) == [0, 15, 30]


def test_default_buffers_keep_slots_away_from_bookings(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, buffer_before_min=10, buffer_after_min=10)
    me = cal.agent(1)
    cal.agent(2).bookings.commit(start=at(60), end=at(90))  # covers 50..100
    # A slot [s, s+30) needs [s-10, s+40) free: s <= 10 or s >= 110.
    assert starts(me.availability.list(start=at(0), end=at(180), granularity_minutes=5)) == [
        0,
        5,
        10,
        110,
        115,
        120,
        125,
        130,
        135,
        140,
        145,
        150,
    ]


def test_working_hours_focus_blocks_and_the_cap_filter_slots(cal: Calendar) -> None:
    cal.coord.rules.update(
        cal.user_id,
        working_hours={"mon": [("09:00", "12:00")], "tue": [("09:00", "12:00")]},
        focus_blocks=[{"weekday": "mon", "start": "10:00", "end": "11:00"}],
        daily_cap=1,
    )
    me = cal.agent(1)
    monday = BASE.replace(hour=0)
    slots = me.availability.list(
        start=monday, end=monday + timedelta(days=2), duration_minutes=60, granularity_minutes=60
    )
    assert [s.start.strftime("%a %H") for s in slots] == [
        "Mon 09",
        "Mon 11",
        "Tue 09",
        "Tue 10",
        "Tue 11",
    ]
    me.bookings.commit(start=monday.replace(hour=9), end=monday.replace(hour=9, minute=30))
    slots = me.availability.list(
        start=monday, end=monday + timedelta(days=2), duration_minutes=60, granularity_minutes=60
    )
    assert [s.start.strftime("%a %H") for s in slots] == ["Tue 09", "Tue 10", "Tue 11"]


def test_the_daily_cap_counts_bookings_outside_the_queried_range(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, daily_cap=1)
    me = cal.agent(1)
    me.bookings.commit(start=BASE.replace(hour=1), end=BASE.replace(hour=2))
    assert me.availability.list(start=BASE.replace(hour=20), end=BASE.replace(hour=22)) == []


def test_slots_inside_the_lead_time_or_in_the_past_are_not_offered(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, min_lead_minutes=60)
    me = cal.agent(1)
    now = datetime.now(UTC)
    slots = me.availability.list(start=now - timedelta(hours=2), end=now + timedelta(hours=3))
    assert slots, "some slots lie past the lead time"
    assert min(s.start for s in slots) >= now + timedelta(minutes=59)


def test_the_etag_goes_stale_when_the_rules_change_and_a_stale_write_writes_nothing(
    cal: Calendar,
) -> None:
    me = cal.agent(1)
    seen = me.availability.list(start=at(0), end=at(120))
    assert me.bookings.hold(start=at(0), end=at(30), availability_etag=seen.etag).is_live
    cal.coord.rules.update(cal.user_id, buffer_after_min=5)
    before = snapshot(cal)
    for write in (me.bookings.commit, me.bookings.hold):
        with pytest.raises(StaleAvailability) as err:
            write(start=at(60), end=at(90), availability_etag=seen.etag)
        assert err.value.error == "stale_availability"
        assert err.value.status == 410
        assert isinstance(err.value, Gone)
    assert snapshot(cal) == before
    fresh = me.availability.list(start=at(0), end=at(120))
    assert fresh.etag != seen.etag and fresh.rules_version == seen.rules_version + 1
    assert me.bookings.commit(start=at(60), end=at(90), availability_etag=fresh.etag).is_live


def test_a_rerank_or_a_timezone_change_also_makes_the_etag_stale(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    etag = a.availability.list(start=at(0), end=at(60)).etag
    cal.coord.agents.rerank(cal.user_id, [b.agent_id, a.agent_id])
    with pytest.raises(StaleAvailability):
        a.bookings.commit(start=at(0), end=at(30), availability_etag=etag)
    etag = a.availability.list(start=at(0), end=at(60)).etag
    cal.coord.owners.set_timezone(cal.user_id, "Asia/Tokyo")
    with pytest.raises(StaleAvailability):
        a.bookings.commit(start=at(0), end=at(30), availability_etag=etag)


def test_new_bookings_do_not_make_an_etag_stale_they_are_ordinary_conflicts(
    cal: Calendar,
) -> None:
    from coordinator import Conflict

    a, b = cal.agent(1), cal.agent(2)
    etag = b.availability.list(start=at(0), end=at(60)).etag
    a.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(0), end=at(30), availability_etag=etag)
    assert b.bookings.commit(start=at(30), end=at(60), availability_etag=etag).is_live


def test_an_etag_from_another_calendar_or_garbage_is_bad_input(
    cal: Calendar, make_calendar
) -> None:
    other = make_calendar()
    foreign = other.agent(1).availability.list(start=at(0), end=at(60)).etag
    me = cal.agent(1)
    for etag in (foreign, 'W/"123"', ""):
        with pytest.raises(ValidationError) as err:
            me.bookings.commit(start=at(0), end=at(30), availability_etag=etag)
        assert err.value.field == "availability_etag"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": at(60), "end": at(0)}, "end"),
        ({"start": datetime(2031, 3, 3, 10), "end": at(60)}, "start"),
        ({"start": at(0), "end": at(0) + timedelta(days=90)}, "end"),
        ({"start": at(0), "end": at(60), "duration_minutes": 0}, "duration_minutes"),
        ({"start": at(0), "end": at(60), "granularity_minutes": 2.5}, "granularity_minutes"),
        ({"start": at(0), "end": at(60), "include_holds": "yes"}, "include_holds"),
    ],
)
def test_bad_availability_queries_name_the_field(cal: Calendar, kwargs, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        cal.agent(1).availability.list(**kwargs)
    assert err.value.field == field


def test_availability_needs_its_scope(cal: Calendar) -> None:
    made = cal.coord.agents.create(cal.user_id, name="writer", scopes=["bookings:write"])
    with pytest.raises(AuthError) as err:
        cal.coord.client(made.api_key).availability.list(start=at(0), end=at(60))
    assert (err.value.status, err.value.error) == (403, "insufficient_scope")


def test_a_week_of_a_busy_calendar_reads_only_the_days_in_range(cal: Calendar) -> None:
    """Bookings far outside the range are never read: a dense month around a free week."""
    me = cal.agent(1)
    me_fast = cal.coord.agents.set_rate_limit(me.agent_id, per_second=10_000, burst=10_000)
    assert me_fast.rate_limit_burst == 10_000
    for day in [*range(-14, 0), *range(7, 21)]:
        for h in range(0, 24, 2):
            s = BASE.replace(hour=0) + timedelta(days=day, hours=h)
            me.bookings.commit(start=s, end=s + timedelta(minutes=30))
    week = me.availability.list(
        start=BASE.replace(hour=0),
        end=BASE.replace(hour=0) + timedelta(days=7),
        duration_minutes=60,
        granularity_minutes=60,
    )
    assert len(week) == 7 * 24


def test_answers_share_no_list_and_follow_a_booking_and_a_rules_change(cal: Calendar) -> None:
    """Slots and the rules snapshot are kept between reads (slots.py, ruleset.py): an
    answer is still the caller's own list, and a booking or a new rules version still
    shows in the next answer."""
    a = cal.agent(1)
    first = a.availability.list(start=at(0), end=at(120))
    assert starts(first) == [0, 15, 30, 45, 60, 75, 90]
    first.clear()
    again = a.availability.list(start=at(0), end=at(120))
    assert starts(again) == [0, 15, 30, 45, 60, 75, 90]
    a.bookings.commit(start=at(30), end=at(60))
    assert starts(a.availability.list(start=at(0), end=at(120))) == [0, 60, 75, 90]
    cal.coord.rules.update(cal.user_id, buffer_after_min=15)
    after = a.availability.list(start=at(0), end=at(120))
    assert starts(after) == [60, 75, 90]  # 0 + 30 min + 15 min buffer reaches the booking
    assert after.rules_version > again.rules_version
