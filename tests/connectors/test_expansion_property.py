"""The lazy expansion (``after`` in start order, stopped past the horizon) finds the same busy
instances as expanding the whole window with ``between`` and keeping what overlaps it in
the owner's zone, on generated calendars: timed, zoned and all-day events,
daily/weekly/hourly rules with counts, and events at, before and after the window's
edges. (``between`` alone reads an all-day date without the owner's zone, so at the
horizon's far edge it left out a day that starts inside it in the owner's zone.)"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator.connectors.ical import _overlaps, busy_instances, parse_calendar

icalendar = pytest.importorskip("icalendar")
rie = pytest.importorskip("recurring_ical_events")

LO = datetime(2026, 3, 1, tzinfo=UTC)
HI = LO + timedelta(days=20)
TZ = ZoneInfo("Europe/Berlin")  # a DST change (29 March) inside some rules' reach

_event = st.fixed_dictionaries(
    {
        "day": st.integers(-5, 24),
        "minute": st.integers(0, 24 * 60 - 1),
        "length": st.integers(0, 600),
        "all_day": st.booleans(),
        "rule": st.sampled_from(
            [None, "FREQ=DAILY;COUNT=5", "FREQ=WEEKLY;COUNT=4", "FREQ=HOURLY;COUNT=30"]
        ),
        "zoned": st.booleans(),
    }
)


def _calendar(events: list[dict]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//t//EN"]
    for i, e in enumerate(events):
        lines += ["BEGIN:VEVENT", f"UID:ev-{i}", "DTSTAMP:20260101T000000Z"]
        if e["all_day"]:
            d = date(2026, 3, 1) + timedelta(days=e["day"])
            lines += [
                f"DTSTART;VALUE=DATE:{d:%Y%m%d}",
                f"DTEND;VALUE=DATE:{d + timedelta(1):%Y%m%d}",
            ]
        else:
            start = LO + timedelta(days=e["day"], minutes=e["minute"])
            end = start + timedelta(minutes=e["length"])
            if e["zoned"]:
                s, t = start.astimezone(TZ), end.astimezone(TZ)
                lines += [f"DTSTART;TZID=Europe/Berlin:{s:%Y%m%dT%H%M%S}"]
                lines += [f"DTEND;TZID=Europe/Berlin:{t:%Y%m%dT%H%M%S}"]
            else:
                lines += [f"DTSTART:{start:%Y%m%dT%H%M%SZ}", f"DTEND:{end:%Y%m%dT%H%M%SZ}"]
        if e["rule"]:
            lines.append(f"RRULE:{e['rule']}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_event, min_size=1, max_size=6))
def test_the_lazy_expansion_finds_what_expanding_the_whole_window_finds(
    events: list[dict],
) -> None:
    cal = parse_calendar(_calendar(events), "generated")
    got = {(b.uid, b.start_ms, b.end_ms) for b in busy_instances(cal, LO, HI, TZ)}
    # The reference: the whole window expanded, a day wider on each side (the library
    # reads all-day dates without the owner's zone), kept by the owner's-zone overlap.
    wide = rie.of(cal).between(LO - timedelta(days=1), HI + timedelta(days=1))
    whole = [ev for ev in wide if _overlaps(ev, LO, HI, TZ)]
    want = {
        (str(ev["UID"]), b.start_ms, b.end_ms)
        for ev in whole
        for b in busy_instances(_alone(ev), LO, HI, TZ)
    }
    assert got == want


def _alone(ev: object) -> object:
    """One expanded occurrence as a calendar of its own (no rule: taken as it is)."""
    cal = icalendar.Calendar()
    cal.add("PRODID", "-//t//t//EN")
    cal.add("VERSION", "2.0")
    ev = ev.copy()  # type: ignore[attr-defined]
    for k in ("RRULE", "RDATE", "EXDATE"):
        ev.pop(k, None)
    cal.add_component(ev)
    return cal
