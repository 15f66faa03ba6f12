"""A person in the loop: the owner's approval gate pauses the graph until someone decides.

The graph interrupts with the consent request, its state is checkpointed, a person
approves or denies on the owner's side (``coord.approvals``), and the resumed graph
reads the decision from the coordinator. Resumes use a freshly compiled graph over
the same checkpointer and a fresh context, so the state can only come from the
checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypedDict

import pytest

pytest.importorskip("langgraph", reason="the 'langgraph' extra is not installed")

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command

from agentdraft_agents.negotiation import (
    NegotiationContext,
    compile_book_or_negotiate,
    compile_consent_graph,
    negotiation_input,
)
from agentdraft_agents.results import iso as spell

from .conftest import Calendar, at, iso
from .helpers import context, ours, thread


def gate(cal: Calendar, agent: Any, **rule: Any) -> None:
    """The owner asks a person before ``agent`` commits anything."""
    cal.coord.rules.update(cal.user_id, require_approval={"agent_ids": [agent.agent_id], **rule})


def pause(cal: Calendar, client: Any, saver: InMemorySaver) -> dict[str, Any]:
    """Start the consent graph on 10:00-10:30; it must stop at the interrupt."""
    out = compile_consent_graph(checkpointer=saver).invoke(
        {"slot": {"start": iso(0), "end": iso(30)}, "title": "Intro"},
        thread(),
        context=context(client),
    )
    (interrupt,) = out["__interrupt__"]
    return interrupt.value


def resume(client: Any, saver: InMemorySaver, value: Any = "decided") -> dict[str, Any]:
    return compile_consent_graph(checkpointer=saver).invoke(
        Command(resume=value), thread(), context=context(client)
    )


def test_approval_resumes_the_paused_graph_into_a_committed_booking(local_cal: Calendar) -> None:
    me = local_cal.agent(2)
    gate(local_cal, me)
    saver = InMemorySaver()
    asked = pause(local_cal, me, saver)
    assert asked["kind"] == "consent_required" and asked["title"] == "Intro"
    assert asked["slot"] == {"start": iso(0), "end": iso(30)}
    request, hold = asked["consent_request_id"], asked["hold_id"]
    assert request.startswith("apr_") and hold.startswith("hld_") and asked["expires_at"]
    # Checkpointed: paused before await_consent finished, with the request in state.
    snap = compile_consent_graph(checkpointer=saver).get_state(thread())
    assert snap.next == ("await_consent",)
    assert snap.values["outcome"] == "awaiting_consent"
    assert snap.values["consent"]["consent_request_id"] == request
    assert local_cal.coord.bookings.get(local_cal.user_id, hold).status == "HOLD"

    local_cal.coord.approvals.approve(request)
    out = resume(me, saver)
    assert out["outcome"] == "booked" and out["consent"]["status"] == "approved"
    b = local_cal.coord.bookings.get(local_cal.user_id, out["booking_id"])
    assert (b.status, b.agent_id, b.start, b.title) == ("COMMITTED", me.agent_id, at(0), "Intro")
    assert [a["result"] for a in out["attempts"]] == ["booked"]


def test_denial_ends_denied_and_the_held_slot_is_free_again(local_cal: Calendar) -> None:
    me, other = local_cal.agent(2), local_cal.agent(5)
    gate(local_cal, me)
    saver = InMemorySaver()
    asked = pause(local_cal, me, saver)
    local_cal.coord.approvals.deny(asked["consent_request_id"], note="not this week")
    out = resume(me, saver)
    assert out["outcome"] == "denied" and "not this week" in out["detail"]
    assert out.get("booking_id") is None and ours(local_cal, me) == []
    assert local_cal.coord.bookings.get(local_cal.user_id, asked["hold_id"]).status == "RELEASED"
    assert other.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"


def test_approval_after_a_better_agent_took_the_slot_ends_lost(local_cal: Calendar) -> None:
    better, me = local_cal.agent(1), local_cal.agent(2)
    gate(local_cal, me)
    saver = InMemorySaver()
    asked = pause(local_cal, me, saver)
    winner = better.bookings.commit(start=at(0), end=at(30))  # displaces the parked hold
    decided = local_cal.coord.approvals.approve(asked["consent_request_id"])
    assert decided["outcome"] == "conflict"
    out = resume(me, saver)
    assert out["outcome"] == "lost"
    (lost,) = out["attempts"]
    assert (lost["result"], lost["winning_booking_id"]) == ("lost", winner.booking_id)
    if local_cal.server_url is None:  # only the in-process client can read others' bookings
        assert (lost["winning_agent_id"], lost["winning_agent_priority"]) == (better.agent_id, 1)
    assert local_cal.live() == [(better.agent_id, 1)]


def test_resumed_before_anyone_decided_it_pauses_again(local_cal: Calendar) -> None:
    me = local_cal.agent(2)
    gate(local_cal, me)
    saver = InMemorySaver()
    asked = pause(local_cal, me, saver)
    again = resume(me, saver, value="approved, trust me")
    assert again["__interrupt__"][0].value["consent_request_id"] == asked["consent_request_id"]
    assert again["outcome"] == "awaiting_consent" and ours(local_cal, me)[0].status == "HOLD"
    local_cal.coord.approvals.approve(asked["consent_request_id"])
    assert resume(me, saver)["outcome"] == "booked"


def test_a_request_nobody_decides_ends_expired(make_local_cal: Callable[..., Calendar]) -> None:
    cal = make_local_cal()
    me = cal.agent(2)
    gate(cal, me, ttl_seconds=1)
    saver = InMemorySaver()
    asked = pause(cal, me, saver)
    # The coordinator wakes this wait when the request lapses: no sleeping here.
    assert me.approvals.wait(asked["consent_request_id"], timeout=30)["status"] == "expired"
    out = resume(me, saver)
    assert out["outcome"] == "expired" and ours(cal, me) == []


def test_book_or_negotiate_pauses_for_consent_and_negotiates_on_after_losing_meanwhile(
    local_cal: Calendar,
) -> None:
    better, me = local_cal.agent(1), local_cal.agent(2)
    gate(local_cal, me)
    saver, cfg = InMemorySaver(), thread("negotiation")

    def step(state_or_command: Any) -> dict[str, Any]:
        graph = compile_book_or_negotiate(checkpointer=saver)
        return graph.invoke(state_or_command, cfg, context=context(me))

    first = step(negotiation_input(iso(0), iso(30)))["__interrupt__"][0].value
    assert first["slot"] == {"start": spell(at(0)), "end": spell(at(30))}
    winner = better.bookings.commit(start=at(0), end=at(30))
    local_cal.coord.approvals.approve(first["consent_request_id"])
    # Approved but lost: it counter-proposes 09:30, which the gate parks again.
    second = step(Command(resume="decided"))["__interrupt__"][0].value
    assert second["slot"] == {"start": spell(at(-30)), "end": spell(at(0))}
    local_cal.coord.approvals.approve(second["consent_request_id"])
    out = step(Command(resume="decided"))
    assert out["outcome"] == "booked"
    lost, booked = out["attempts"]
    assert (lost["result"], lost["winning_booking_id"]) == ("lost", winner.booking_id)
    assert (booked["result"], booked["chosen_by"]) == ("booked", "nearest")
    b = local_cal.coord.bookings.get(local_cal.user_id, out["booking_id"])
    assert (b.status, b.start) == ("COMMITTED", at(-30))


class Trip(TypedDict, total=False):
    """A user's own graph state, sharing only the keys it cares about."""

    wanted: dict[str, str]
    title: str
    outcome: str
    booking_id: str
    note: str


def confirm(state: Trip) -> dict[str, Any]:
    done = state.get("outcome") == "booked"
    return {"note": f"confirmed {state['booking_id']}" if done else "no booking"}


def test_inside_a_parent_graph_the_interrupt_surfaces_at_the_parent(
    local_cal: Calendar,
) -> None:
    me = local_cal.agent(2)
    gate(local_cal, me)
    parent = StateGraph(Trip, context_schema=NegotiationContext)
    parent.add_node("book", compile_book_or_negotiate())
    parent.add_node("confirm", confirm)
    parent.add_edge(START, "book")
    parent.add_edge("book", "confirm")
    parent.add_edge("confirm", END)
    app = parent.compile(checkpointer=InMemorySaver())
    cfg = thread("trip")

    paused = app.invoke(
        {"wanted": {"start": iso(0), "end": iso(30)}, "title": "Intro"}, cfg, context=context(me)
    )
    asked = paused["__interrupt__"][0].value
    assert asked["kind"] == "consent_required" and "note" not in paused
    assert app.get_state(cfg).next == ("book",)

    local_cal.coord.approvals.approve(asked["consent_request_id"])
    out = app.invoke(Command(resume="decided"), cfg, context=context(me))
    assert out["outcome"] == "booked" and out["note"] == f"confirmed {out['booking_id']}"
    b = local_cal.coord.bookings.get(local_cal.user_id, out["booking_id"])
    assert (b.status, b.agent_id, b.title) == ("COMMITTED", me.agent_id, "Intro")
