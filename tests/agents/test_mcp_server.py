"""The MCP server, called through a real MCP client session (in memory and over stdio)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.shared.memory import create_connected_server_and_client_session

from agentdraft_agents.mcp_server import build_server
from coordinator import Coordinator

from .conftest import Calendar, at, iso

ROOT = Path(__file__).resolve().parents[2]
TOOLS = [
    "whoami",
    "get_availability",
    "create_hold",
    "release_hold",
    "commit_booking",
    "cancel_booking",
    "get_booking",
    "list_my_bookings",
    "check_approval",
    "create_proposal",
    "get_proposal",
    "list_proposals",
    "respond_to_proposal",
    "resolve_proposal",
    "cancel_proposal",
    "list_mail",
    "read_mail",
    "send_mail",
    "reply_mail",
    "check_suppression",
    "counter_offer",
    "list_counters",
    "answer_counter",
]


def session_run(client: Any, body: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Run ``body`` against a server bound to ``client``, through an MCP client session."""

    async def main() -> Any:
        async with create_connected_server_and_client_session(build_server(client)) as s:
            return await body(s)

    return asyncio.run(main())


def test_the_tools_have_agentdraft_mcps_names(local_cal: Calendar) -> None:
    async def body(s: ClientSession) -> list[str]:
        return [t.name for t in (await s.list_tools()).tools]

    assert session_run(local_cal.agent(1), body) == TOOLS


def test_whoami_is_the_agent_bound_at_start(local_cal: Calendar) -> None:
    client = local_cal.agent(3)

    async def body(s: ClientSession) -> Any:
        return await s.call_tool("whoami", {})

    out = session_run(client, body)
    assert out.isError is False
    assert out.structuredContent["agent_id"] == client.agent_id
    assert out.structuredContent["priority"] == 3


def test_a_commit_on_a_free_slot_returns_the_booking(local_cal: Calendar) -> None:
    async def body(s: ClientSession) -> Any:
        return await s.call_tool(
            "commit_booking", {"start": iso(0), "end": iso(30), "title": "Intro"}
        )

    out = session_run(local_cal.agent(1), body)
    assert out.isError is False
    assert out.structuredContent["status"] == "COMMITTED"
    assert out.structuredContent["title"] == "Intro"
    assert out.structuredContent["booking_id"].startswith("bkg_")


def test_a_lost_race_is_a_structured_outranked_payload_not_an_error(local_cal: Calendar) -> None:
    winner = local_cal.agent(1)
    winner.bookings.commit(start=at(0), end=at(30))

    async def body(s: ClientSession) -> Any:
        return await s.call_tool("commit_booking", {"start": iso(0), "end": iso(30)})

    out = session_run(local_cal.agent(2), body)
    assert out.isError is False
    p = out.structuredContent
    assert (p["error"], p["reason"]) == ("outranked", "outranked")
    assert (p["winning_agent_id"], p["winning_agent_priority"], p["your_priority"]) == (
        winner.agent_id,
        1,
        2,
    )
    assert p["audit_event_id"] and "OUTRANKED" in p["message"]


def test_a_naive_time_is_an_error_result_that_spells_the_fix(local_cal: Calendar) -> None:
    async def body(s: ClientSession) -> Any:
        return await s.call_tool(
            "create_hold", {"start": "2031-03-03T10:00:00", "end": "2031-03-03T10:30:00Z"}
        )

    out = session_run(local_cal.agent(1), body)
    assert out.isError is True
    assert out.structuredContent["error"] == "naive_time"
    assert "2031-03-03T10:00:00Z" in out.structuredContent["message"]


def test_a_hold_can_be_released_and_a_siblings_booking_not_cancelled(
    local_cal: Calendar,
) -> None:
    sibling = local_cal.agent(1)
    theirs = sibling.bookings.commit(start=at(60), end=at(90))

    async def body(s: ClientSession) -> tuple[Any, Any, Any]:
        held = await s.call_tool("create_hold", {"start": iso(0), "end": iso(30)})
        released = await s.call_tool(
            "release_hold", {"hold_id": held.structuredContent["booking_id"]}
        )
        refused = await s.call_tool("cancel_booking", {"booking_id": theirs.booking_id})
        return held, released, refused

    held, released, refused = session_run(local_cal.agent(2), body)
    assert held.structuredContent["status"] == "HOLD"
    assert released.structuredContent == {
        "released": True,
        "hold_id": held.structuredContent["booking_id"],
    }
    assert refused.isError is True and refused.structuredContent["error"] == "forbidden"
    assert local_cal.live() == [(sibling.agent_id, 1)]


def test_the_console_server_speaks_mcp_over_stdio(embedded_dir: Path) -> None:
    # Given an agent on the embedded engine, and the server started as a subprocess
    coord = Coordinator.embedded(embedded_dir, arbitration_window_ms=0)
    owner = coord.owners.create()
    agent = coord.agents.create(owner.user_id, name="stdio-bot", priority=1)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AGENTDRAFT_API_KEY": agent.api_key}
    env.pop("AGENTDRAFT_BASE_URL", None)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentdraft_agents.mcp_server", "--data-dir", str(embedded_dir)],
        env=env,
    )

    async def main() -> tuple[Any, Any]:
        async with stdio_client(params) as (read, write), ClientSession(read, write) as s:
            await s.initialize()
            me = await s.call_tool("whoami", {})
            booked = await s.call_tool("commit_booking", {"start": iso(0), "end": iso(30)})
            return me, booked

    # When a client calls it, Then it acts as that agent and really books
    with coord:
        me, booked = asyncio.run(main())
        assert me.structuredContent["agent_id"] == agent.agent_id
        assert booked.structuredContent["status"] == "COMMITTED"
        booking_id = booked.structuredContent["booking_id"]
        assert coord.bookings.get(owner.user_id, booking_id).start == at(0)


def test_an_mcp_client_that_lost_books_the_first_alternative_offered(local_cal: Calendar) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))
    me = local_cal.agent(2)

    async def body(s: ClientSession) -> tuple[Any, Any]:
        lost = await s.call_tool("commit_booking", {"start": iso(0), "end": iso(30)})
        offer = lost.structuredContent["alternatives"][0]
        return lost, await s.call_tool("commit_booking", offer)

    lost, booked = session_run(me, body)
    assert len(lost.structuredContent["alternatives"]) == 3
    assert lost.structuredContent["requested"]["start"] == "2031-03-03T10:00:00Z"
    assert booked.isError is False and booked.structuredContent["status"] == "COMMITTED"
    assert booked.structuredContent["start"] == lost.structuredContent["alternatives"][0]["start"]
    assert [p for _, p in local_cal.live()] == [2, 1]


def test_availability_lists_open_slots_as_structured_data(local_cal: Calendar) -> None:
    local_cal.agent(1).bookings.commit(start=at(0), end=at(30))

    async def body(s: ClientSession) -> Any:
        return await s.call_tool("get_availability", {"start": iso(0), "end": iso(60)})

    out = session_run(local_cal.agent(2), body)
    assert out.structuredContent == {
        "slots": [{"start": "2031-03-03T10:30:00Z", "end": "2031-03-03T11:00:00Z"}]
    }
