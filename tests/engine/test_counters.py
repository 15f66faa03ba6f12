"""Counter-offers on a booking: offer, list, accept (the booking moves, atomically), reject.

Every test runs on the embedded engine, a Redis server and a Redis Cluster. The races
use real threads on one Redis; each asserts exact outcomes from Redis state and checks
the audit replay (``audit verify``) agrees with what the scripts stored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from coordinator import AuthError, Conflict, InvalidState, NotFound, ValidationError
from coordinator.counters import MAX_PENDING
from tests.support.race import at_once

from .conftest import Calendar, at
from .snapshot import calendar_dump, changed_keys


def slot(minutes: float, length: float = 30) -> dict[str, str]:
    return {"start": at(minutes).isoformat(), "end": at(minutes + length).isoformat()}


def _state(cal: Calendar) -> dict[str, bytes]:
    """The calendar's keys, less the token buckets every keyed call spends from."""
    return calendar_dump(cal.coord, cal.user_id, buckets=False)


def _verified(cal: Calendar) -> None:
    v = cal.coord.audit.verify(cal.user_id)
    assert v.ok, v.problems


def _won(cal: Calendar) -> tuple[Any, Any, Any]:
    """p1 holds 10:00-10:30; p2 lost it. Returns (winner, loser, winning booking)."""
    winner, loser = cal.agent(1), cal.agent(2)
    won = winner.bookings.commit(start=at(0), end=at(30), title="Intro")
    with pytest.raises(Conflict):
        loser.bookings.commit(start=at(0), end=at(30))
    return winner, loser, won


def test_a_loser_counters_and_the_winner_moves_to_the_chosen_slot(cal: Calendar) -> None:
    winner, loser, won = _won(cal)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(60), slot(120)], note="Later?")
    assert (c.booking_id, c.status, c.note, len(c.proposed)) == (
        won.booking_id,
        "pending",
        "Later?",
        2,
    )
    assert [x.counter_id for x in winner.bookings.counters(won.booking_id)] == [c.counter_id]

    done = winner.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=1)
    assert done.status == "accepted" and done.slot_index == 1
    assert done.booking is not None and done.booking.booking_id == done.new_booking_id
    assert (done.booking.start, done.booking.end) == (at(120), at(150))
    assert done.booking.status == "COMMITTED" and done.booking.title == "Intro"
    old = winner.bookings.get(won.booking_id)
    assert old.status == "MOVED" and old.ended_by_booking_id == done.new_booking_id
    assert old.end_reason == "counter_accepted"
    # The freed slot is open again: the loser books it now.
    assert loser.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"
    assert loser.bookings.get_counter(won.booking_id, c.counter_id).status == "accepted"
    types = cal.audit_types()
    assert [t for t in types if t.startswith("counter.") or t == "booking.moved"] == [
        "counter.created",
        "booking.moved",
        "counter.accepted",
    ]
    _verified(cal)


def test_the_timeline_ends_the_moved_booking_and_starts_the_new_one(cal: Calendar) -> None:
    from coordinator.timeline import build_timeline

    winner, loser, won = _won(cal)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(15)])
    done = winner.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=0)
    timeline = build_timeline(cal.coord.audit.range(cal.user_id))
    moved = next(s for s in timeline.spans if s.booking_id == won.booking_id)
    assert moved.end_type == "booking.moved" and not moved.is_open
    assert set(timeline.occupants().values()) == {done.new_booking_id}


def test_a_move_overlapping_the_old_slot_is_not_blocked_by_the_booking_itself(
    cal: Calendar,
) -> None:
    winner, loser, won = _won(cal)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(15)])
    done = winner.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=0)
    assert done.booking is not None and done.booking.start == at(15)
    assert winner.bookings.get(won.booking_id).status == "MOVED"
    with pytest.raises(Conflict) as lost:
        loser.bookings.commit(start=at(15), end=at(45))
    assert lost.value.winning_booking_id == done.new_booking_id
    _verified(cal)


def test_rejecting_keeps_the_booking_and_a_second_decision_is_409(cal: Calendar) -> None:
    winner, loser, won = _won(cal)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(60)])
    assert winner.bookings.reject_counter(won.booking_id, c.counter_id).status == "rejected"
    assert winner.bookings.get(won.booking_id).status == "COMMITTED"
    for decide in (
        lambda: winner.bookings.reject_counter(won.booking_id, c.counter_id),
        lambda: winner.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=0),
    ):
        with pytest.raises(InvalidState) as twice:
            decide()
        assert (twice.value.status, twice.value.error) == (409, "counter_decided")
    _verified(cal)


def test_only_the_winning_bookings_agent_may_list_accept_or_reject(cal: Calendar) -> None:
    winner, loser, won = _won(cal)
    third = cal.agent(3)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(60)])
    before = _state(cal)
    for who in (loser, third):
        for call in (
            lambda who=who: who.bookings.counters(won.booking_id),
            lambda who=who: who.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=0),
            lambda who=who: who.bookings.reject_counter(won.booking_id, c.counter_id),
        ):
            with pytest.raises(AuthError) as no:
                call()
            assert (no.value.status, no.value.error) == (403, "forbidden")
    with pytest.raises(AuthError):
        third.bookings.get_counter(won.booking_id, c.counter_id)  # not its author
    assert changed_keys(before, _state(cal)) == []
    assert winner.bookings.get(won.booking_id).status == "COMMITTED"


def test_accepting_a_slot_someone_took_meanwhile_is_409_naming_them_and_keeps_the_booking(
    cal: Calendar,
) -> None:
    winner, loser, won = _won(cal)
    third = cal.agent(3)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(60)])
    took = third.bookings.commit(start=at(60), end=at(90), bump_window_seconds=0)
    with pytest.raises(Conflict) as lost:
        winner.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=0)
    assert lost.value.status == 409 and lost.value.reason == "frozen"
    assert (lost.value.winning_agent_id, lost.value.winning_booking_id) == (
        third.agent_id,
        took.booking_id,
    )
    assert winner.bookings.get(won.booking_id).status == "COMMITTED"
    assert winner.bookings.get_counter(won.booking_id, c.counter_id).status == "pending"
    _verified(cal)


def test_accept_after_the_original_was_cancelled_or_evicted_is_409_and_moves_nothing(
    make_calendar: Callable[..., Calendar],
) -> None:
    cal = make_calendar()
    winner, loser = cal.agent(2), cal.agent(3)
    won = winner.bookings.commit(start=at(0), end=at(30))
    c = loser.bookings.counter(won.booking_id, proposed=[slot(60)])
    winner.bookings.cancel(won.booking_id)
    with pytest.raises(InvalidState) as gone:
        winner.bookings.accept_counter(won.booking_id, c.counter_id, slot_index=0)
    assert (gone.value.error, gone.value.context["booking_status"]) == (
        "booking_not_live",
        "CANCELLED",
    )

    won2 = winner.bookings.commit(start=at(200), end=at(230))
    c2 = loser.bookings.counter(won2.booking_id, proposed=[slot(300)])
    cal.agent(1).bookings.commit(start=at(200), end=at(230))  # evicts it (bump window)
    before = _state(cal)
    with pytest.raises(InvalidState) as evicted:
        winner.bookings.accept_counter(won2.booking_id, c2.counter_id, slot_index=0)
    assert evicted.value.context["booking_status"] == "EVICTED"
    assert changed_keys(before, _state(cal)) == []
    with pytest.raises(InvalidState):  # nothing left to counter either
        loser.bookings.counter(won2.booking_id, proposed=[slot(300)])
    _verified(cal)


def test_bad_input_is_a_typed_error_and_changes_nothing(cal: Calendar) -> None:
    winner, loser, won = _won(cal)
    c = loser.bookings.counter(won.booking_id, proposed=[slot(60)])
    bid, cid = won.booking_id, c.counter_id
    before = _state(cal)
    bad: list[tuple[str, Callable[[], Any]]] = [
        ("proposed", lambda: loser.bookings.counter(bid, proposed=[])),
        (
            "proposed",
            lambda: loser.bookings.counter(bid, proposed=[slot(i * 60) for i in range(6)]),
        ),
        ("proposed", lambda: loser.bookings.counter(bid, proposed="soon")),  # type: ignore[arg-type]
        ("proposed[0]", lambda: loser.bookings.counter(bid, proposed=[{"start": at(0)}])),
        (
            "proposed[0].start",
            lambda: loser.bookings.counter(
                bid, proposed=[{"start": "2031-03-03T10:00:00", "end": at(30).isoformat()}]
            ),
        ),
        ("proposed[1].end", lambda: loser.bookings.counter(bid, proposed=[slot(60), slot(90, 0)])),
        ("note", lambda: loser.bookings.counter(bid, proposed=[slot(60)], note="x" * 501)),
        ("note", lambda: loser.bookings.counter(bid, proposed=[slot(60)], note="a\x00b")),
        ("booking_id", lambda: loser.bookings.counter("bkg bad", proposed=[slot(60)])),
        ("booking_id", lambda: winner.bookings.counter(bid, proposed=[slot(60)])),
        ("slot_index", lambda: winner.bookings.accept_counter(bid, cid, slot_index=-1)),
        ("slot_index", lambda: winner.bookings.accept_counter(bid, cid, slot_index=True)),
        ("slot_index", lambda: winner.bookings.accept_counter(bid, cid, slot_index=1)),
        ("counter_id", lambda: winner.bookings.accept_counter(bid, "cnt/x", slot_index=0)),
    ]
    for field, call in bad:
        with pytest.raises(ValidationError) as refused:
            call()
        assert refused.value.status == 422 and refused.value.field == field, field
    with pytest.raises(NotFound):
        winner.bookings.accept_counter(bid, "cnt_0000000000000000", slot_index=0)
    with pytest.raises(NotFound):
        loser.bookings.counter("bkg_0000000000000000", proposed=[slot(60)])
    assert changed_keys(before, _state(cal)) == []


def test_one_pending_counter_per_agent_and_a_cap_per_booking(cal: Calendar) -> None:
    winner, loser, won = _won(cal)
    first = loser.bookings.counter(won.booking_id, proposed=[slot(60)])
    with pytest.raises(InvalidState) as again:
        loser.bookings.counter(won.booking_id, proposed=[slot(120)])
    assert again.value.context["counter_id"] == first.counter_id
    others = [cal.agent(10 + i) for i in range(MAX_PENDING - 1)]
    for o in others:
        o.bookings.counter(won.booking_id, proposed=[slot(60)])
    with pytest.raises(InvalidState) as full:
        cal.agent(99).bookings.counter(won.booking_id, proposed=[slot(60)])
    assert full.value.error == "too_many_counters"
    # Accepting one supersedes the rest.
    winner.bookings.accept_counter(won.booking_id, first.counter_id, slot_index=0)
    statuses = [c.status for c in winner.bookings.counters(won.booking_id)]
    assert statuses.count("accepted") == 1 and statuses.count("superseded") == MAX_PENDING - 1


def test_two_losers_countering_at_once_both_land_and_one_agent_twice_lands_once(
    cal: Calendar,
) -> None:
    winner, loser, _ = _won(cal)
    other = cal.agent(3)
    for r in range(10):
        bkg = winner.bookings.commit(start=at(1000 + r * 60), end=at(1030 + r * 60)).booking_id
        got = at_once(
            [
                lambda bkg=bkg: loser.bookings.counter(bkg, proposed=[slot(60)]),
                lambda bkg=bkg: other.bookings.counter(bkg, proposed=[slot(90)]),
                lambda bkg=bkg: other.bookings.counter(bkg, proposed=[slot(120)]),
            ]
        )
        assert not isinstance(got[0], Exception)
        landed = [g for g in got[1:] if not isinstance(g, Exception)]
        refused = [g for g in got[1:] if isinstance(g, Exception)]
        assert len(landed) == 1 and isinstance(refused[0], InvalidState)
        listed = winner.bookings.counters(bkg)
        assert sorted(c.agent_id for c in listed) == sorted([loser.agent_id, other.agent_id])
    _verified(cal)


def test_accept_racing_a_third_agent_for_the_slot_leaves_exactly_one_holder(
    cal: Calendar,
) -> None:
    winner, loser, _ = _won(cal)
    third = cal.agent(3)
    outcomes = {"moved": 0, "taken": 0}
    for r in range(12):
        base = 2000 + r * 240
        bkg = winner.bookings.commit(start=at(base), end=at(base + 30)).booking_id
        c = loser.bookings.counter(bkg, proposed=[slot(base + 120)])
        got = at_once(
            [
                lambda bkg=bkg, c=c: winner.bookings.accept_counter(
                    bkg, c.counter_id, slot_index=0
                ),
                lambda base=base: third.bookings.commit(
                    start=at(base + 120), end=at(base + 150), bump_window_seconds=0
                ),
            ]
        )
        accepted, grabbed = got
        if isinstance(accepted, Conflict):
            outcomes["taken"] += 1
            assert accepted.winning_agent_id == third.agent_id
            assert accepted.winning_booking_id == grabbed.booking_id
            assert winner.bookings.get(bkg).status == "COMMITTED"
            assert winner.bookings.get_counter(bkg, c.counter_id).status == "pending"
        else:
            outcomes["moved"] += 1
            assert isinstance(grabbed, Conflict)
            assert grabbed.winning_booking_id == accepted.new_booking_id
            assert winner.bookings.get(bkg).status == "MOVED"
    assert sum(outcomes.values()) == 12
    _verified(cal)


def test_audit_replay_checks_the_order_of_counter_steps() -> None:
    from coordinator.audit.replay import Replay

    made = {"type": "booking.committed", "booking_id": "bkg_a", "cover": "0-6", "agent_id": "a"}
    replay = Replay()
    replay.feed(
        [
            ("1-0", made),
            ("2-0", {"type": "counter.created", "counter_id": "cnt_1", "booking_id": "bkg_a"}),
            ("3-0", {"type": "counter.rejected", "counter_id": "cnt_1", "booking_id": "bkg_a"}),
            ("4-0", {"type": "counter.rejected", "counter_id": "cnt_1", "booking_id": "bkg_a"}),
            ("5-0", {"type": "counter.accepted", "counter_id": "cnt_9", "booking_id": "bkg_a"}),
            ("6-0", {"type": "counter.created", "counter_id": "cnt_2", "booking_id": "bkg_z"}),
            (
                "7-0",
                {
                    "type": "counter.accepted",
                    "counter_id": "cnt_2",
                    "booking_id": "bkg_a",
                    "new_booking_id": "bkg_b",
                },
            ),
        ]
    )
    assert [p.entry_id for p in replay.problems] == ["4-0", "5-0", "6-0", "7-0"]
    assert {p.problem for p in replay.problems} == {"replay_inconsistent"}
