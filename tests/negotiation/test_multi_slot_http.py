"""The multi-slot negotiation graph against a remote ``coordinator serve``, over HTTP only.

Organizer and participants are the official SDK's client with ``.proposals`` over
HTTP (:mod:`agentdraft_agents.http_proposals`); the graph is unchanged.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("agentdraft", reason="the official SDK is in the dev extra")

from agentdraft_agents.http_proposals import error_from, http_client
from agentdraft_agents.negotiation import (
    MultiSlotContext,
    compile_multi_slot_graph,
    multi_slot_input,
)
from coordinator.errors import InvalidState, NotFound, ResolutionFailed

from .conftest import Calendar, at


def remote_agent(cal: Calendar, url: str, priority: int, name: str) -> Any:
    a = cal.coord.agents.create(cal.user_id, name=name, priority=priority)
    client = http_client(url, a.api_key)
    client.agent_id = a.agent_id
    return client


def test_everyone_accepts_over_http_and_the_organizer_books_the_slot(
    make_local_cal: Any, local_http_server: str
) -> None:
    cal = make_local_cal()
    organizer = remote_agent(cal, local_http_server, 2, "organizer")
    people = [remote_agent(cal, local_http_server, 3 + i, f"p{i}") for i in range(2)]
    ctx = MultiSlotContext(organizer=organizer, participants={p.agent_id: p for p in people})
    out = compile_multi_slot_graph().invoke(
        multi_slot_input(
            title="design review",
            duration_minutes=60,
            earliest=at(0),
            latest=at(8 * 60),
            participant_agent_ids=[p.agent_id for p in people],
        ),
        context=ctx,
    )
    assert out["outcome"] == "confirmed" and out["round"] == 1
    booking = cal.coord.bookings.get(cal.user_id, out["booking_id"])
    assert booking.status == "COMMITTED" and booking.agent_id == organizer.agent_id
    [p] = cal.coord.proposals.list(cal.user_id)
    assert p.status == "confirmed" and len(p.responses) == 2
    # The HTTP client's reads match the coordinator's record.
    assert organizer.proposals.get(p.id).status == "confirmed"
    with pytest.raises(InvalidState) as second:
        people[0].proposals.respond(p.id, response="decline")
    assert second.value.error in ("proposal_not_pending", "duplicate_response")
    with pytest.raises(NotFound):
        organizer.proposals.get("spr_nosuchproposal")


def test_http_errors_become_the_in_process_clients_typed_errors() -> None:
    failed = error_from(
        409,
        {
            "error": "resolution_failed",
            "detail": "lost",
            "proposal_id": "prp_1",
            "slot_id": "s1",
            "cause": "outranked",
            "remaining_slot_ids": ["s2"],
            "winning_agent_id": "agt_x",
        },
    )
    assert isinstance(failed, ResolutionFailed) and failed.remaining_slot_ids == ["s2"]
    assert failed.winning_agent_id == "agt_x"
    gone = error_from(409, {"error": "proposal_not_pending", "detail": "expired"})
    assert isinstance(gone, InvalidState) and gone.error == "proposal_not_pending"
    bad = error_from(
        422, {"error": "invalid_request", "detail": "slots[0]: x", "field": "slots[0]"}
    )
    assert (bad.field, str(bad), bad.status) == ("slots[0]", "slots[0]: x", 422)
