"""Pull: events a person writes into a real CalDAV calendar block agents, expanded right."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from coordinator import Conflict

from .conftest import Owner, soon, soon_date, vevent

BERLIN = ZoneInfo("Europe/Berlin")


def _starts(owner: Owner, cid: str, uid: str) -> list[tuple[datetime, datetime]]:
    return [(b.start, b.end) for b in owner.coord.connectors.blocks(cid) if b.event_uid == uid]


def test_a_person_s_event_blocks_every_agent_with_external_event(
    backend_store: Any, owner_on: Any
) -> None:
    # Given an owner whose real calendar has a meeting tomorrow 10:00-11:00
    o: Owner = owner_on(backend_store)
    o.add(vevent("dentist-1", soon(1, 10), soon(1, 11), SUMMARY="Dentist"))
    c = o.connect()
    best = o.agent(1)
    # When the best-ranked agent commits over it
    with pytest.raises(Conflict) as exc:
        best.bookings.commit(start=soon(1, 10, 30), end=soon(1, 11, 30))
    # Then it loses to the external event, named by connector and UID (no summary by default)
    assert exc.value.reason == "external_event"
    assert exc.value.body["connector_id"] == c.connector_id
    assert exc.value.body["event_uid"] == "dentist-1"
    assert exc.value.body["summary"] is None
    assert exc.value.winning_booking_id is None
    # and a hold too; a slot next to it is free
    with pytest.raises(Conflict):
        best.bookings.hold(start=soon(1, 9, 30), end=soon(1, 10, 5))
    assert best.bookings.commit(start=soon(1, 11), end=soon(1, 12)).status == "COMMITTED"


def test_availability_excludes_external_events(owner: Owner) -> None:
    owner.add(vevent("busy-1", soon(2, 10), soon(2, 11)))
    owner.connect()
    slots = owner.agent(1).availability.list(
        start=soon(2, 9), end=soon(2, 12), duration_minutes=30, granularity_minutes=30
    )
    assert [s.start for s in slots] == [soon(2, 9), soon(2, 9, 30), soon(2, 11), soon(2, 11, 30)]


def test_the_summary_is_named_only_when_the_owner_allows_it(owner: Owner) -> None:
    owner.add(vevent("named-1", soon(1, 14), soon(1, 15), SUMMARY="Board meeting"))
    owner.connect(show_summary=True)
    with pytest.raises(Conflict) as exc:
        owner.agent(1).bookings.commit(start=soon(1, 14), end=soon(1, 15))
    assert exc.value.body["summary"] == "Board meeting"
    assert "Board meeting" in exc.value.detail


def test_weekly_recurrence_honours_exdate_and_a_moved_instance(owner: Owner) -> None:
    first = soon(1, 9)
    stamp = f"{first + timedelta(days=7):%Y%m%dT%H%M%SZ}"
    moved = f"{first + timedelta(days=14):%Y%m%dT%H%M%SZ}"
    ics = vevent(
        "weekly-1", first, first + timedelta(hours=1),
        RRULE="FREQ=WEEKLY;COUNT=4", EXDATE=f"EXDATE:{stamp}",
    ).replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\r\nUID:weekly-1\r\nDTSTAMP:20260101T000000Z\r\n"
        f"RECURRENCE-ID:{moved}\r\n"
        f"DTSTART:{first + timedelta(days=15, hours=5):%Y%m%dT%H%M%SZ}\r\n"
        f"DTEND:{first + timedelta(days=15, hours=6):%Y%m%dT%H%M%SZ}\r\n"
        "END:VEVENT\r\nEND:VCALENDAR",
    )  # fmt: skip
    owner.add(ics)
    c = owner.connect()
    got = _starts(owner, c.connector_id, "weekly-1")
    assert [s for s, _ in got] == [
        first,
        first + timedelta(days=15, hours=5),  # the moved third instance
        first + timedelta(days=21),
    ]


def test_berlin_weekly_meeting_keeps_its_wall_clock_across_the_dst_change(owner: Owner) -> None:
    # A weekly 09:00 Europe/Berlin meeting spanning a DST change (one comes within 26 weeks).
    start = datetime.combine(soon_date(1), datetime.min.time(), BERLIN).replace(hour=9)
    ics = vevent("berlin-1", start, start + timedelta(hours=1), RRULE="FREQ=WEEKLY;COUNT=8")
    owner.add(ics)
    c = owner.connect(horizon_days=60)
    got = _starts(owner, c.connector_id, "berlin-1")
    assert len(got) == 8
    for s, e in got:
        assert s.astimezone(BERLIN).hour == 9  # DST-correct: the UTC hour moves instead
        assert e - s == timedelta(hours=1)


def test_transparent_cancelled_and_declined_events_leave_the_slot_free(owner: Owner) -> None:
    owner.add(vevent("free-1", soon(1, 8), soon(1, 9), TRANSP="TRANSPARENT"))
    owner.add(vevent("cancel-1", soon(1, 9), soon(1, 10), STATUS="CANCELLED"))
    owner.add(
        vevent(
            "declined-1", soon(1, 10), soon(1, 11),
            ATTENDEE="ATTENDEE;PARTSTAT=DECLINED:mailto:owner@example.org",
        )
    )  # fmt: skip
    owner.add(vevent("busy-2", soon(1, 11), soon(1, 12)))
    c = owner.connect(owner_email="owner@example.org")
    assert [b.event_uid for b in owner.coord.connectors.blocks(c.connector_id)] == ["busy-2"]
    agent = owner.agent(1)
    assert agent.bookings.commit(start=soon(1, 8), end=soon(1, 11)).status == "COMMITTED"


def test_all_day_events_follow_their_transparency(owner: Owner) -> None:
    owner.add(vevent("offsite-1", soon_date(3), soon_date(4)))
    owner.add(vevent("birthday-1", soon_date(5), soon_date(6), TRANSP="TRANSPARENT"))
    c = owner.connect()
    blocks = owner.coord.connectors.blocks(c.connector_id)
    assert [(b.event_uid, b.end - b.start) for b in blocks] == [("offsite-1", timedelta(days=1))]
    agent = owner.agent(1)
    with pytest.raises(Conflict):
        agent.bookings.commit(start=soon(3, 23), end=soon(3, 23, 30))  # owner zone is UTC
    assert agent.bookings.commit(start=soon(5, 10), end=soon(5, 11)).status == "COMMITTED"


def test_an_event_outside_the_horizon_is_not_pulled(owner: Owner) -> None:
    owner.add(vevent("far-1", soon(40, 10), soon(40, 11)))
    owner.add(vevent("near-1", soon(4, 10), soon(4, 11)))
    c = owner.connect(horizon_days=30)
    assert [b.event_uid for b in owner.coord.connectors.blocks(c.connector_id)] == ["near-1"]
    assert owner.coord.connectors.status(c.connector_id).blocks == 1


def test_events_in_utc_are_compared_as_instants(owner: Owner) -> None:
    # The same instant written in Berlin time blocks the UTC slot.
    s = soon(6, 12).astimezone(BERLIN)
    owner.add(vevent("tz-1", s, s + timedelta(minutes=30)))
    c = owner.connect()
    [b] = owner.coord.connectors.blocks(c.connector_id)
    assert b.start == soon(6, 12) and b.start.tzinfo is not None
    assert b.end.astimezone(UTC) == soon(6, 12, 30)
