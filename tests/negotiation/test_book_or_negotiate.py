"""Book-or-negotiate on real coordinators: win, lose and rebook, respect both sides' limits.

Every flow runs against a real Redis engine; ``local_cal`` runs it through the
in-process client and through the official SDK over HTTP, ``cal`` on every backend.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

pytest.importorskip("langgraph", reason="the 'langgraph' extra is not installed")

from agentdraft_agents.negotiation import (
    Constraints,
    build_book_or_negotiate_graph,
    compile_book_or_negotiate,
    negotiation_input,
)
from agentdraft_agents.results import iso as spell

from .conftest import Calendar, at, iso
from .helpers import RivalTakesEachPick, context, ours


def slot(start_min: float, minutes: float = 30) -> dict[str, str]:
    """A slot as the graph's state spells it (ISO with +00:00)."""
    return {"start": spell(at(start_min)), "end": spell(at(start_min + minutes))}


def negotiate(client: object, *, policy: object = None, **state: object) -> dict:
    ctx = context(client) if policy is None else context(client, policy=policy)
    start, end = state.pop("start", iso(0)), state.pop("end", iso(30))
    return compile_book_or_negotiate().invoke(negotiation_input(start, end, **state), context=ctx)  # type: ignore[arg-type]


def test_a_free_slot_is_committed_in_the_first_round(local_cal: Calendar) -> None:
    me = local_cal.agent(2)
    out = negotiate(me, title="Intro call")
    assert out["outcome"] == "booked"
    assert [a["result"] for a in out["attempts"]] == ["booked"]
    assert out["booked"] == slot(0)
    b = local_cal.coord.bookings.get(local_cal.user_id, out["booking_id"])
    assert (b.status, b.start, b.agent_id, b.title) == (
        "COMMITTED",
        at(0),
        me.agent_id,
        "Intro call",
    )


def test_after_losing_to_a_better_sibling_it_books_the_nearest_slot_and_names_the_winner(
    local_cal: Calendar,
) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    won = sibling.bookings.commit(start=at(0), end=at(30))
    out = negotiate(me)
    assert out["outcome"] == "booked"
    lost, booked = out["attempts"]
    assert (lost["round"], lost["result"], lost["reason"]) == (1, "lost", "outranked")
    assert (
        lost["winning_agent_id"],
        lost["winning_agent_priority"],
        lost["winning_booking_id"],
    ) == (sibling.agent_id, 1, won.booking_id)
    # 09:30 and 10:30 are equally near; the earlier wins the tie.
    assert (booked["round"], booked["chosen_by"], booked["slot"]) == (2, "nearest", slot(-30))
    assert out["offers"][0] == slot(-30) and slot(0) not in out["offers"]
    assert local_cal.live() == [(me.agent_id, 2), (sibling.agent_id, 1)]
    assert local_cal.coord.bookings.get(local_cal.user_id, out["booking_id"]).start == at(-30)


def test_rounds_are_bounded_when_a_better_sibling_takes_every_pick(cal: Calendar) -> None:
    rival, me = cal.agent(1), cal.agent(3)
    rival.bookings.commit(start=at(0), end=at(30))
    out = negotiate(me, policy=RivalTakesEachPick(rival), max_rounds=3)
    assert out["outcome"] == "exhausted"
    assert [a["result"] for a in out["attempts"]] == ["lost", "lost", "lost"]
    assert {a["winning_agent_id"] for a in out["attempts"]} == {rival.agent_id}
    assert [a["slot"] for a in out["attempts"]] == [slot(0), slot(-30), slot(30)]
    assert rival.agent_id in out["detail"] and "3 round(s)" in out["detail"]
    assert ours(cal, me) == []
    assert [who for who, _ in cal.live()] == [rival.agent_id] * 3


def test_an_alternative_outside_the_requesters_window_is_never_booked(
    local_cal: Calendar,
) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    out = negotiate(me, constraints=Constraints(earliest_start=at(15)))
    assert out["outcome"] == "booked" and out["booked"] == slot(30)  # not the nearer 09:30
    assert all(o["start"] >= spell(at(15)) for o in out["offers"])
    assert [b.start for b in ours(local_cal, me)] == [at(30)]


def test_wall_clock_limits_are_read_in_the_requesters_timezone(local_cal: Calendar) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    # 10:00 UTC is 05:00 in New York; the requester only takes 06:00-07:00 there, on Tuesdays.
    limits = Constraints(
        timezone="America/New_York", not_before="06:00", not_after="07:00", weekdays=("tue",)
    )
    out = negotiate(me, constraints=limits)
    tuesday_11_utc = 24 * 60 + 60
    assert out["outcome"] == "booked" and out["booked"] == slot(tuesday_11_utc)
    assert [b.start for b in ours(local_cal, me)] == [at(tuesday_11_utc)]


def test_with_nothing_near_enough_it_stops_with_no_alternatives(local_cal: Calendar) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(-30), end=at(60))
    out = negotiate(me, constraints={"max_distance_minutes": 20})
    assert out["outcome"] == "no_alternatives"
    assert [a["result"] for a in out["attempts"]] == ["lost"]
    assert ours(local_cal, me) == []


def test_it_never_proposes_outside_the_owners_working_hours(local_cal: Calendar) -> None:
    local_cal.coord.rules.update(local_cal.user_id, working_hours={"mon": [("10:00", "11:00")]})
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    out = negotiate(me)
    # Without the rule 09:30 would be nearest (the tie goes to the earlier slot).
    assert out["outcome"] == "booked" and out["booked"] == slot(30)
    assert out["offers"] == [slot(30)]  # the only open half hour inside the hours
    assert local_cal.live() == [(sibling.agent_id, 1), (me.agent_id, 2)]


def test_a_slot_an_owner_rule_refuses_is_countered_inside_the_rules(
    local_cal: Calendar,
) -> None:
    local_cal.coord.rules.update(local_cal.user_id, working_hours={"mon": [("10:00", "11:00")]})
    me = local_cal.agent(2)
    out = negotiate(me, start=iso(-120), end=iso(-90))  # 08:00, before hours
    refused, booked = out["attempts"]
    assert (refused["result"], refused["reason"]) == ("refused", "outside_working_hours")
    assert out["outcome"] == "booked" and booked["slot"] == slot(0)
    assert [b.start for b in ours(local_cal, me)] == [at(0)]


def test_an_idempotency_key_makes_a_rerun_return_the_same_booking(local_cal: Calendar) -> None:
    me = local_cal.agent(2)
    first = negotiate(me, idempotency_key="intro-ada")
    again = negotiate(me, idempotency_key="intro-ada")
    assert again["outcome"] == "booked" and again["booking_id"] == first["booking_id"]
    assert len(ours(local_cal, me)) == 1


@pytest.mark.parametrize(
    ("state", "error"),
    [
        ({"start": "2031-03-03T10:00:00", "end": "2031-03-03T10:30:00"}, "offset"),
        ({"max_rounds": 0}, "max_rounds"),
        ({"constraints": {"earliest_start": "2031-03-03T10:00:00"}}, "timezone"),
    ],
)
def test_bad_input_is_refused_before_anything_is_booked(
    local_cal: Calendar,
    state: dict,
    error: str,
) -> None:
    me = local_cal.agent(2)
    state = dict(state)  # the parameter is shared by both client kinds
    start = state.pop("start", iso(0))
    end = state.pop("end", iso(30))
    wanted = {"wanted": {"start": start, "end": end}, **state}
    with pytest.raises(ValueError, match=error):
        compile_book_or_negotiate().invoke(wanted, context=context(me))
    assert ours(local_cal, me) == []


def test_the_search_stays_inside_the_horizon(local_cal: Calendar) -> None:
    local_cal.coord.rules.update(local_cal.user_id, working_hours={"mon": [("10:00", "10:30")]})
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    # The next Monday is a week away: outside a one-day horizon, so nothing is offered.
    out = compile_book_or_negotiate().invoke(
        negotiation_input(iso(0), iso(30)), context=context(me, horizon=timedelta(days=1))
    )
    assert out["outcome"] == "no_alternatives" and out["offers"] == []


def test_the_async_api_negotiates_the_same_way(local_cal: Calendar) -> None:
    sibling, me = local_cal.agent(1), local_cal.agent(2)
    sibling.bookings.commit(start=at(0), end=at(30))
    out = asyncio.run(
        compile_book_or_negotiate().ainvoke(negotiation_input(iso(0), iso(30)), context=context(me))
    )
    assert out["outcome"] == "booked" and out["booked"] == slot(-30)
    assert local_cal.live() == [(me.agent_id, 2), (sibling.agent_id, 1)]


def test_the_graph_shape_users_compose_against() -> None:
    graph = build_book_or_negotiate_graph().compile().get_graph()
    edges = {(e.source, e.target) for e in graph.edges}
    assert set(graph.nodes) == {
        "__start__",
        "prepare",
        "try_commit",
        "await_consent",
        "counter_propose",
        "__end__",
    }
    assert edges == {
        ("__start__", "prepare"),
        ("prepare", "try_commit"),
        ("try_commit", "await_consent"),
        ("try_commit", "counter_propose"),
        ("try_commit", "__end__"),
        ("await_consent", "await_consent"),
        ("await_consent", "counter_propose"),
        ("await_consent", "__end__"),
        ("counter_propose", "try_commit"),
        ("counter_propose", "__end__"),
    }
