"""Wall-clock rules across daylight-saving changes, both directions, two zones.

2031 switches: Europe/Berlin on Sun 30 Mar (02:00 -> 03:00) and Sun 26 Oct (03:00 ->
02:00); America/New_York on Sun 9 Mar (02:00 -> 03:00) and Sun 2 Nov (02:00 -> 01:00).
A 09:00-17:00 rule must mean 09:00-17:00 on the owner's clock on both sides, and a
local day is 23 or 25 hours long on the switch days.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from coordinator import RuleViolation

from .conftest import Calendar

NINE_TO_FIVE = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}

#: (zone, a working day, its UTC offset in hours): the last weekday before each switch
#: and the first after it.
SIDES = [
    ("Europe/Berlin", "2031-03-28", 1),
    ("Europe/Berlin", "2031-03-31", 2),
    ("Europe/Berlin", "2031-10-24", 2),
    ("Europe/Berlin", "2031-10-27", 1),
    ("America/New_York", "2031-03-07", -5),
    ("America/New_York", "2031-03-10", -4),
    ("America/New_York", "2031-10-31", -4),
    ("America/New_York", "2031-11-03", -5),
]


def utc(day: str, hour: float) -> datetime:
    """``hour`` o'clock UTC on ``day`` (fractions are minutes)."""
    return datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=hour)


def owner_in(cal: Calendar, zone: str, **rules: object) -> None:
    cal.coord.owners.set_timezone(cal.user_id, zone)
    if rules:
        cal.coord.rules.update(cal.user_id, **rules)  # type: ignore[arg-type]


@pytest.mark.parametrize(("zone", "day", "offset"), SIDES, ids=[f"{z}-{d}" for z, d, _ in SIDES])
def test_nine_to_five_means_local_time_on_both_sides_of_a_switch(
    cal: Calendar, zone: str, day: str, offset: int
) -> None:
    owner_in(cal, zone, working_hours=NINE_TO_FIVE)
    a = cal.agent(1)
    nine, five = 9 - offset, 17 - offset  # local 09:00 and 17:00 in UTC hours
    assert a.bookings.hold(start=utc(day, nine), end=utc(day, nine + 0.5)).is_live
    assert a.bookings.hold(start=utc(day, five - 0.5), end=utc(day, five)).is_live
    for start in (nine - 0.5, five - 0.25):  # 08:30 local; 16:45 local running past 17:00
        with pytest.raises(RuleViolation) as err:
            a.bookings.hold(start=utc(day, start), end=utc(day, start + 0.5))
        assert err.value.error == "outside_working_hours"


@pytest.mark.parametrize(
    ("zone", "night", "real_hours"),
    [
        ("Europe/Berlin", "2031-03-30", 2),
        ("Europe/Berlin", "2031-10-26", 4),
        ("America/New_York", "2031-03-09", 2),
        ("America/New_York", "2031-11-02", 4),
    ],
)
def test_working_hours_through_the_switch_night_last_as_long_as_the_clock_says(
    cal: Calendar, zone: str, night: str, real_hours: int
) -> None:
    """01:00-04:00 on the switch night is 2 real hours in spring and 4 in autumn."""
    owner_in(cal, zone, working_hours={"sun": [("01:00", "04:00")]})
    tz = ZoneInfo(zone)
    start = datetime.fromisoformat(night).replace(hour=1, tzinfo=tz).astimezone(UTC)
    a = cal.agent(1)
    assert a.bookings.commit(start=start, end=start + timedelta(hours=real_hours)).is_live
    with pytest.raises(RuleViolation):
        a.bookings.commit(
            start=start + timedelta(hours=real_hours),
            end=start + timedelta(hours=real_hours, minutes=15),
        )


@pytest.mark.parametrize(
    ("zone", "day", "hours"),
    [
        ("Europe/Berlin", "2031-03-30", 23),
        ("Europe/Berlin", "2031-10-26", 25),
        ("America/New_York", "2031-03-09", 23),
        ("America/New_York", "2031-11-02", 25),
    ],
)
def test_availability_of_a_switch_day_has_as_many_hours_as_the_day(
    cal: Calendar, zone: str, day: str, hours: int
) -> None:
    owner_in(cal, zone, working_hours={"sun": [("00:00", "24:00")]})
    tz = ZoneInfo(zone)
    d = datetime.fromisoformat(day)
    lo = d.replace(tzinfo=tz).astimezone(UTC)
    hi = (d + timedelta(days=1)).replace(tzinfo=tz).astimezone(UTC)
    a = cal.agent(1)
    # A range wider than the day: working hours alone must cut it at local midnight.
    slots = a.availability.list(
        start=lo - timedelta(hours=6),
        end=hi + timedelta(hours=6),
        duration_minutes=60,
        granularity_minutes=60,
    )
    assert len(slots) == hours
    assert (slots[0].start, slots[-1].end) == (lo, hi)


def test_the_daily_cap_counts_the_local_day_of_a_25_hour_sunday(cal: Calendar) -> None:
    """New York, 2 Nov 2031: 00:15 and 23:30 local are one local day, 25 h apart-ish,
    on two different UTC days; 00:15 the next morning is a new local day."""
    owner_in(cal, "America/New_York", daily_cap=1)
    a = cal.agent(1)
    first = utc("2031-11-02", 4.25)  # 00:15 EDT
    late = utc("2031-11-03", 4.5)  # 23:30 EST, still 2 Nov locally
    next_day = utc("2031-11-03", 5.25)  # 00:15 EST on 3 Nov
    assert a.bookings.commit(start=first, end=first + timedelta(minutes=30)).is_live
    with pytest.raises(RuleViolation) as err:
        a.bookings.commit(start=late, end=late + timedelta(minutes=15))
    assert err.value.error == "daily_cap_reached"
    assert err.value.context["local_date"] == "2031-11-02"
    assert a.bookings.commit(start=next_day, end=next_day + timedelta(minutes=30)).is_live


def test_the_daily_cap_counts_the_local_day_of_a_23_hour_sunday(cal: Calendar) -> None:
    """Berlin, 30 Mar 2031: the local day runs 23:00 UTC Sat to 22:00 UTC Sun."""
    owner_in(cal, "Europe/Berlin", daily_cap=1)
    a = cal.agent(1)
    assert a.bookings.commit(start=utc("2031-03-29", 23.5), end=utc("2031-03-30", 0)).is_live
    with pytest.raises(RuleViolation):
        a.bookings.commit(start=utc("2031-03-30", 21.5), end=utc("2031-03-30", 22))
    assert a.bookings.commit(start=utc("2031-03-30", 22), end=utc("2031-03-30", 22.5)).is_live


@pytest.mark.parametrize(("day", "utc_hour"), [("2031-03-26", 11), ("2031-04-02", 10)])
def test_a_weekly_focus_block_follows_the_local_clock(
    cal: Calendar, day: str, utc_hour: int
) -> None:
    owner_in(
        cal, "Europe/Berlin", focus_blocks=[{"weekday": "wed", "start": "12:00", "end": "13:00"}]
    )
    a = cal.agent(1)
    with pytest.raises(RuleViolation) as err:
        a.bookings.commit(start=utc(day, utc_hour), end=utc(day, utc_hour + 0.5))
    assert err.value.error == "focus_block"
    assert a.bookings.commit(start=utc(day, utc_hour + 1), end=utc(day, utc_hour + 1.5)).is_live


def test_availability_across_a_switch_week_starts_each_day_at_local_nine(cal: Calendar) -> None:
    owner_in(cal, "Europe/Berlin", working_hours=NINE_TO_FIVE)
    a = cal.agent(1)
    slots = a.availability.list(
        start=utc("2031-03-27", 0),
        end=utc("2031-04-02", 0),
        duration_minutes=60,
        granularity_minutes=60,
    )
    tz = ZoneInfo("Europe/Berlin")
    by_day: dict[str, list[datetime]] = {}
    for s in slots:
        by_day.setdefault(s.start.astimezone(tz).date().isoformat(), []).append(s.start)
    assert sorted(by_day) == ["2031-03-27", "2031-03-28", "2031-03-31", "2031-04-01"]
    for starts in by_day.values():
        assert [t.astimezone(tz).hour for t in starts] == list(range(9, 17))
    assert by_day["2031-03-28"][0].hour == 8 and by_day["2031-03-31"][0].hour == 7  # UTC
