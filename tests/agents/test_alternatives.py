"""The counter-proposal: after a lost race, the nearest open slots of the same length.

Built on ``client.availability.list`` only, so it is the same on every client; runs on
every backend.
"""

from __future__ import annotations

import pytest

from agentdraft_agents import BookingService, Failed, Lost, find_alternatives
from agentdraft_agents.testing import offered_slots

from .conftest import Calendar, at, iso


def starts(slots: list) -> list:
    return [s.start for s in slots]


def test_a_lost_race_offers_the_nearest_free_slots_of_the_same_length(cal: Calendar) -> None:
    cal.agent(1).bookings.commit(start=at(0), end=at(30))
    out = BookingService(cal.agent(2)).commit(iso(0), iso(30))
    assert isinstance(out, Lost)
    # 09:45 would overlap the winner; 09:30 and 10:30 tie and the earlier goes first.
    assert starts(out.alternatives) == [at(-30), at(30), at(-45)]
    assert all(s.end - s.start == at(30) - at(0) for s in out.alternatives)
    assert out.alternatives_note is None


def test_the_offers_in_the_text_are_the_ones_in_the_data(cal: Calendar) -> None:
    cal.agent(1).bookings.commit(start=at(0), end=at(60))
    out = BookingService(cal.agent(2)).commit(iso(0), iso(60))
    assert isinstance(out, Lost)
    assert offered_slots(out.text()) == [
        (s.start.isoformat(), s.end.isoformat()) for s in out.alternatives
    ]
    assert all(s.end - s.start == at(60) - at(0) for s in out.alternatives)


def test_an_offered_slot_books_in_one_call(cal: Calendar) -> None:
    cal.agent(1).bookings.commit(start=at(0), end=at(30))
    svc = BookingService(cal.agent(2))
    lost = svc.commit(iso(0), iso(30))
    assert isinstance(lost, Lost)
    first = lost.alternatives[0]
    assert svc.commit(first.start.isoformat(), first.end.isoformat()).outcome == "booked"


def test_when_the_near_window_is_full_the_search_widens(cal: Calendar) -> None:
    # Given a sibling holding 06:00-14:00, the ±4 h window has a single free half hour
    cal.agent(1).bookings.commit(start=at(-240), end=at(240))
    out = BookingService(cal.agent(2)).commit(iso(0), iso(30))
    assert isinstance(out, Lost)
    assert starts(out.alternatives) == [at(240), at(255), at(-270)]


def test_slots_already_booked_by_others_are_never_offered(cal: Calendar) -> None:
    cal.agent(1).bookings.commit(start=at(0), end=at(30))
    cal.agent(3).bookings.commit(start=at(-30), end=at(0))
    cal.agent(4).bookings.commit(start=at(30), end=at(60))
    out = BookingService(cal.agent(2)).commit(iso(0), iso(30))
    assert isinstance(out, Lost)
    assert starts(out.alternatives) == [at(-60), at(60), at(-75)]


def test_a_booking_outside_working_hours_is_refused_with_slots_inside_them(
    cal: Calendar,
) -> None:
    hours = {d: [("09:00", "17:00")] for d in ("mon", "tue", "wed", "thu", "fri")}
    cal.coord.rules.update(cal.user_id, working_hours=hours)
    out = BookingService(cal.agent(1)).commit(iso(-120), iso(-90))  # 08:00 on a Monday
    assert isinstance(out, Failed) and out.error == "outside_working_hours"
    assert starts(out.alternatives) == [at(-60), at(-45), at(-30)]
    assert "Open slots of the same length nearby" in out.text()


def test_without_the_availability_scope_the_loss_is_still_reported(cal: Calendar) -> None:
    cal.agent(1).bookings.commit(start=at(0), end=at(30))
    a = cal.coord.agents.create(
        cal.user_id, name="writer", priority=2, scopes=["bookings:read", "bookings:write"]
    )
    out = BookingService(cal.coord.client(a.api_key)).commit(iso(0), iso(30))
    assert isinstance(out, Lost) and out.winning_agent_priority == 1
    assert out.alternatives == []
    assert out.alternatives_note == "availability lookup failed: insufficient_scope"
    assert "No alternative slot was found" in out.text()


def test_alternatives_can_be_turned_off(cal: Calendar) -> None:
    cal.agent(1).bookings.commit(start=at(0), end=at(30))
    out = BookingService(cal.agent(2), alternatives=0).commit(iso(0), iso(30))
    assert isinstance(out, Lost) and out.alternatives == []


@pytest.mark.parametrize("count", [1, 5])
def test_the_finder_returns_as_many_as_asked(cal: Calendar, count: int) -> None:
    found = find_alternatives(cal.agent(1), at(0), at(30), count=count)
    # Nothing is booked: the requested slot itself is never offered back.
    assert len(found) == count and at(0) not in starts(found)
