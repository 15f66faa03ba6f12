"""Multi-slot proposals through the MCP tools: a real MCP client session on a real coordinator.

Organizer and participant are each their own MCP session bound to their own agent;
the coordinator decides, and the calendar shows the outcome. Over ``/mcp`` on a
running ``coordinator serve`` too, each request as the agent whose key it carries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")

from mcp import ClientSession

from agentdraft_agents.environment import resolve_client
from coordinator.proposals.timers import ProposalTimers

from .conftest import Calendar, at, iso
from .test_mcp_http import key_of, remote
from .test_mcp_server import TOOLS, session_run

PROPOSAL_TOOLS = set(TOOLS[TOOLS.index("create_proposal") : TOOLS.index("cancel_proposal") + 1])


def call(name: str, **args: Any) -> Callable[[ClientSession], Awaitable[Any]]:
    async def body(s: ClientSession) -> Any:
        return await s.call_tool(name, args)

    return body


def two_slots(participants: list[str]) -> dict[str, Any]:
    return {
        "participant_agent_ids": participants,
        "title": "Kickoff",
        "slots": [
            {"start_time": iso(0), "end_time": iso(30)},
            {"start_time": iso(60), "end_time": iso(90), "weight": 0.5},
        ],
    }


@pytest.fixture
def cal(make_local_cal: Callable[..., Calendar]) -> Iterator[Calendar]:
    """A calendar on the embedded engine. Afterwards its pending proposals are cancelled
    (a coordinator opened later on the engine would otherwise start a timer for their
    deadlines) and its proposal timer stops while the engine still runs."""
    cal = make_local_cal()
    yield cal
    for p in cal.coord.proposals.list(cal.user_id, status="pending"):
        cal.coord.proposals.cancel(p.id)
    ProposalTimers.stop_for(cal.coord.store.redis)


def test_the_proposal_tools_are_listed_with_hints_and_output_schemas(cal: Calendar) -> None:
    async def body(s: ClientSession) -> Any:
        return {t.name: t for t in (await s.list_tools()).tools}

    tools = session_run(cal.agent(1), body)
    assert PROPOSAL_TOOLS <= set(tools)
    for name in PROPOSAL_TOOLS:
        t = tools[name]
        assert t.title and t.outputSchema and t.outputSchema["type"] == "object"
        assert t.annotations.readOnlyHint is (name in ("get_proposal", "list_proposals"))
    slot = tools["create_proposal"].inputSchema["$defs"]["SlotOffer"]["properties"]
    assert "ISO 8601" in slot["start_time"]["description"]


def test_a_participants_accept_books_the_slot_it_chose(cal: Calendar) -> None:
    organizer, participant = cal.agent(2), cal.agent(3)
    created = session_run(organizer, call("create_proposal", **two_slots([participant.agent_id])))
    assert created.isError is False
    p = created.structuredContent
    assert p["status"] == "pending" and p["organizer_agent_id"] == organizer.agent_id
    second = p["slots"][1]["id"]

    async def answer(s: ClientSession) -> tuple[Any, Any]:
        waiting = await s.call_tool("list_proposals", {"status": "pending"})
        done = await s.call_tool(
            "respond_to_proposal",
            {"proposal_id": p["id"], "response": "accept", "selected_slot_id": second},
        )
        return waiting, done

    waiting, done = session_run(participant, answer)
    assert [x["id"] for x in waiting.structuredContent["proposals"]] == [p["id"]]
    d = done.structuredContent
    assert d["status"] == "confirmed" and d["resolved_slot"]["id"] == second
    booking = cal.coord.bookings.get(cal.user_id, d["created_event_id"])
    assert (booking.start, booking.end, booking.agent_id) == (at(60), at(90), organizer.agent_id)
    read = session_run(organizer, call("get_proposal", proposal_id=p["id"]))
    assert read.structuredContent["responses"][0]["agent_id"] == participant.agent_id


def test_resolving_onto_a_better_siblings_slot_is_an_error_naming_it_and_books_nothing(
    cal: Calendar,
) -> None:
    winner, organizer, participant = cal.agent(1), cal.agent(2), cal.agent(3)
    winner.bookings.commit(start=at(0), end=at(30))
    only_ten = {
        "participant_agent_ids": [participant.agent_id],
        "slots": [{"start_time": iso(0), "end_time": iso(30)}],
    }

    async def propose_then_resolve(s: ClientSession) -> tuple[Any, Any, Any]:
        created = await s.call_tool("create_proposal", only_ten)
        pid = created.structuredContent["id"]
        resolved = await s.call_tool("resolve_proposal", {"proposal_id": pid})
        return created, resolved, await s.call_tool("get_proposal", {"proposal_id": pid})

    _, resolved, after = session_run(organizer, propose_then_resolve)
    assert resolved.isError is True and resolved.structuredContent["error"] == "resolution_failed"
    assert resolved.structuredContent["detail"]["status"] == 409
    (failure,) = after.structuredContent["failed_slots"]
    assert failure["winning_agent_id"] == winner.agent_id
    assert after.structuredContent["status"] == "pending"
    assert cal.live() == [(winner.agent_id, 1)]


def test_a_naive_slot_time_is_refused_naming_the_field_and_nothing_is_created(
    cal: Calendar,
) -> None:
    organizer, participant = cal.agent(1), cal.agent(2)
    bad = two_slots([participant.agent_id])
    bad["slots"][1]["end_time"] = "2031-03-03T11:30:00"

    async def body(s: ClientSession) -> tuple[Any, Any, Any]:
        refused = await s.call_tool("create_proposal", bad)
        missing = await s.call_tool("create_proposal", {"slots": bad["slots"]})
        return refused, missing, await s.call_tool("list_proposals", {})

    refused, missing, listed = session_run(organizer, body)
    assert refused.isError is True and refused.structuredContent["detail"]["field"] == (
        "slots[1].end_time"
    )
    assert missing.isError is True
    assert missing.structuredContent["error"] == "invalid_arguments"
    assert missing.structuredContent["detail"]["field"] == "participant_agent_ids"
    assert listed.structuredContent == {"proposals": []}


def test_a_cancelled_proposal_can_no_longer_be_answered(cal: Calendar) -> None:
    organizer, participant = cal.agent(1), cal.agent(2)
    p = session_run(
        organizer, call("create_proposal", **two_slots([participant.agent_id]))
    ).structuredContent
    cancelled = session_run(organizer, call("cancel_proposal", proposal_id=p["id"]))
    late = session_run(
        participant, call("respond_to_proposal", proposal_id=p["id"], response="decline")
    )
    assert cancelled.structuredContent["status"] == "cancelled"
    assert cancelled.structuredContent["reason"] == "organizer_cancelled"
    assert late.isError is True and late.structuredContent["detail"]["status"] == 409
    assert cal.coord.proposals.get(p["id"]).responses == []


def test_a_negotiation_over_remote_mcp_books_with_the_organizers_key(
    cal: Calendar, local_http_server: str
) -> None:
    (organizer, key1), (participant, key2) = key_of(cal, 1), key_of(cal, 2)
    _, created = remote(
        local_http_server, key1, call("create_proposal", **two_slots([participant]))
    )
    p = created.structuredContent
    _, done = remote(
        local_http_server,
        key2,
        call(
            "respond_to_proposal",
            proposal_id=p["id"],
            response="accept",
            selected_slot_id=p["slots"][0]["id"],
        ),
    )
    assert done.isError is False and done.structuredContent["status"] == "confirmed"
    assert cal.live() == [(organizer, 1)]


def test_a_client_without_proposals_answers_unsupported(local_cal: Calendar) -> None:
    client = local_cal.agent(1)
    out = session_run(client, call("list_proposals"))
    if local_cal.server_url is None:
        assert out.isError is False and out.structuredContent == {"proposals": []}
    else:  # the official SDK has no proposals
        assert out.isError is True and out.structuredContent["error"] == "unsupported"


def test_a_server_named_by_url_and_key_gets_proposals_over_http(
    cal: Calendar, local_http_server: str
) -> None:
    pytest.importorskip("agentdraft", reason="the official SDK is in the dev extra")
    (organizer, key1), (participant, _) = key_of(cal, 1), key_of(cal, 2)

    client = resolve_client(base_url=local_http_server, api_key=key1)
    created = session_run(client, call("create_proposal", **two_slots([participant])))
    assert created.isError is False
    assert created.structuredContent["organizer_agent_id"] == organizer
    assert cal.coord.proposals.get(created.structuredContent["id"]).status == "pending"
