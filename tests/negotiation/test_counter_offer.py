"""The counter-offer graph: a 409 becomes a counter-offer, the winner's side answers, and
the loser ends up booked (or says why not).

The winner's side runs on its own thread and acts when the graph announces its counter
(``on_offer`` sets an event): no sleep stands in for synchronisation; the graph's own
bounded polling is what is under test.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

pytest.importorskip("langgraph", reason="the 'langgraph' extra is not installed")

from agentdraft_agents.core import BookingService
from agentdraft_agents.counter_specs import LIST_COUNTERS, CounterCalls
from agentdraft_agents.negotiation import CounterContext, compile_counter_offer
from agentdraft_agents.results import CounterState

from .conftest import Calendar, at, iso


def _winner_answers(winner: Any, decide: str) -> tuple[CounterContext, threading.Thread, dict]:
    """A context whose on_offer wakes a thread acting as the winner's agent."""
    offered: list[CounterState] = []
    ready = threading.Event()
    done: dict[str, Any] = {}

    def answer() -> None:
        assert ready.wait(30)
        c = offered[0]
        calls = CounterCalls(BookingService(winner))  # in process, or the SDK over HTTP
        done["answer"] = calls.answer(c.booking_id, c.counter_id, decide, 0)

    def on_offer(c: CounterState) -> None:
        offered.append(c)
        ready.set()

    side = threading.Thread(target=answer)
    side.start()
    return on_offer, side, done  # type: ignore[return-value]


def test_a_lost_slot_becomes_a_counter_the_winner_accepts_and_the_loser_is_booked(
    local_cal: Calendar,
) -> None:
    winner, loser = local_cal.agent(1), local_cal.agent(2)
    won = winner.bookings.commit(start=at(0), end=at(30))
    on_offer, side, done = _winner_answers(winner, "accept")
    ctx = CounterContext.for_client(loser, poll_seconds=0.05, max_polls=400, on_offer=on_offer)
    out = compile_counter_offer().invoke(
        {"wanted": {"start": iso(0), "end": iso(30)}, "note": "I need 10:00", "title": "Intro"},
        context=ctx,
    )
    side.join(30)
    assert out["outcome"] == "booked", out["detail"]
    assert out["winning_booking_id"] == won.booking_id and out["counter_status"] == "accepted"
    assert len(out["offer"]) >= 1  # the lost race's open slots were offered
    read = local_cal.coord.bookings.get
    mine = read(local_cal.user_id, out["booking_id"])
    assert (mine.status, mine.agent_id, mine.start, mine.title) == (
        "COMMITTED",
        loser.agent_id,
        at(0),
        "Intro",
    )
    moved = read(local_cal.user_id, done["answer"].new_booking_id)
    assert moved.status == "COMMITTED" and moved.start.isoformat() == out["offer"][0]["start"]
    assert read(local_cal.user_id, won.booking_id).status == "MOVED"


def test_a_rejected_counter_ends_the_graph_and_books_nothing(local_cal: Calendar) -> None:
    winner, loser = local_cal.agent(1), local_cal.agent(2)
    won = winner.bookings.commit(start=at(600), end=at(630))
    on_offer, side, _ = _winner_answers(winner, "reject")
    ctx = CounterContext.for_client(loser, poll_seconds=0.05, max_polls=400, on_offer=on_offer)
    offer = [{"start": iso(700), "end": iso(730)}]
    out = compile_counter_offer().invoke(
        {"wanted": {"start": iso(600), "end": iso(630)}, "offer": offer}, context=ctx
    )
    side.join(30)
    assert (out["outcome"], out["counter_status"]) == ("counter_rejected", "rejected")
    assert "booking_id" not in out
    assert local_cal.coord.bookings.get(local_cal.user_id, won.booking_id).status == "COMMITTED"


def test_an_unanswered_counter_ends_awaiting_after_the_poll_bound(local_cal: Calendar) -> None:
    winner, loser = local_cal.agent(1), local_cal.agent(2)
    won = winner.bookings.commit(start=at(900), end=at(930))
    ctx = CounterContext.for_client(loser, poll_seconds=0.01, max_polls=3)
    out = compile_counter_offer().invoke(
        {"wanted": {"start": iso(900), "end": iso(930)}}, context=ctx
    )
    assert (out["outcome"], out["polls"]) == ("awaiting_answer", 3)
    listed = LIST_COUNTERS.invoke(BookingService(winner), {"booking_id": won.booking_id})
    assert [(c.counter_id, c.status) for c in listed.counters] == [  # type: ignore[union-attr]
        (out["counter_id"], "pending")
    ]
