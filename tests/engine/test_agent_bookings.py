"""An agent reads its own bookings, and every loss names the winner by its agent name.

``client.bookings.list`` is the agent's side of the owner's bookings view: only its own
bookings, ended ones included (with who displaced them), after its key and scope are
checked. A lost write's :class:`Conflict` carries ``winning_agent_name`` beside the
SDK's fields, so a person or a model reads "recruiter", not an ``agt_…`` id.
"""

from __future__ import annotations

import pytest

from coordinator import AuthError, Conflict, ValidationError

from .conftest import Calendar, at


def test_a_loser_hears_the_winners_agent_name(cal: Calendar) -> None:
    cal.agent(1, name="recruiter").bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict) as err:
        cal.agent(2, name="sales").bookings.commit(start=at(0), end=at(30))
    assert err.value.winning_agent_name == "recruiter"
    assert err.value.body["winning_agent_name"] == "recruiter"
    assert err.value.body["winning_agent_priority"] == 1


def test_a_frozen_winner_and_a_replayed_loss_are_named_too(cal: Calendar) -> None:
    low = cal.agent(3, name="low")
    low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=0)
    top = cal.agent(1, name="top")
    for _ in range(2):  # the second call replays the stored conflict
        with pytest.raises(Conflict) as err:
            top.bookings.commit(start=at(0), end=at(30), idempotency_key="same-call")
        assert (err.value.reason, err.value.winning_agent_name) == ("frozen", "low")


def test_a_displaced_booking_names_who_displaced_it(cal: Calendar) -> None:
    mine = cal.agent(2, name="sales").bookings.commit(start=at(0), end=at(30))
    cal.agent(1, name="recruiter").bookings.commit(start=at(0), end=at(30))
    read = cal.clients[2].bookings.get(mine.booking_id)
    assert (read.status, read.ended_by_agent_name) == ("EVICTED", "recruiter")


def test_an_agent_lists_only_its_own_bookings_in_start_order_ended_ones_included(
    cal: Calendar,
) -> None:
    sales = cal.agent(2, name="sales")
    late = sales.bookings.commit(start=at(120), end=at(150))
    early = sales.bookings.commit(start=at(0), end=at(30))
    lost = sales.bookings.commit(start=at(60), end=at(90))
    cal.agent(1, name="recruiter").bookings.commit(start=at(60), end=at(90))
    cal.clients[1].bookings.commit(start=at(200), end=at(230))  # not sales's
    page = sales.bookings.list(start=at(0), end=at(24 * 60))
    assert [b.booking_id for b in page.bookings] == [
        early.booking_id,
        lost.booking_id,
        late.booking_id,
    ]
    assert [b.status for b in page.bookings] == ["COMMITTED", "EVICTED", "COMMITTED"]
    assert page.bookings[1].ended_by_agent_name == "recruiter"
    only_live = sales.bookings.list(start=at(0), end=at(24 * 60), status="COMMITTED")
    assert [b.booking_id for b in only_live.bookings] == [early.booking_id, late.booking_id]


def test_the_list_is_a_window_and_pages_continue_from_their_cursor(cal: Calendar) -> None:
    a = cal.agent(1)
    ids = [a.bookings.commit(start=at(m), end=at(m + 30)).booking_id for m in (0, 60, 120, 180)]
    assert [b.booking_id for b in a.bookings.list(start=at(50), end=at(130)).bookings] == ids[1:3]
    first = a.bookings.list(limit=3)
    assert [b.booking_id for b in first.bookings] == ids[:3] and first.next_cursor
    rest = a.bookings.list(cursor=first.next_cursor, limit=3)
    assert [b.booking_id for b in rest.bookings] == ids[3:] and rest.next_cursor is None


def test_listing_needs_a_live_key_with_the_read_scope_and_names_a_bad_argument(
    cal: Calendar,
) -> None:
    writer = cal.coord.agents.create(cal.user_id, name="w", priority=1, scopes=["bookings:write"])
    with pytest.raises(AuthError) as err:
        cal.coord.client(writer.api_key).bookings.list()
    assert err.value.status == 403
    a = cal.agent(2)
    cal.coord.agents.revoke(a.agent_id)
    with pytest.raises(AuthError):
        a.bookings.list()
    b = cal.agent(3)
    for kwargs, field in (
        ({"start": at(30), "end": at(0)}, "end"),
        ({"status": "DONE"}, "status"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"limit": 0}, "limit"),
    ):
        with pytest.raises(ValidationError) as bad:
            b.bookings.list(**kwargs)
        assert bad.value.field == field
