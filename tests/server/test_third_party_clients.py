"""``agentdraft-langchain`` (0.1.0) and ``agentdraft-mcp`` (0.1.1) work against this server.

Both are built on the official SDK and are what users already run; pointed at
this server with ``AGENTDRAFT_BASE_URL`` they must book, lose with the winner
named, and read availability, unchanged.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

agentdraft = pytest.importorskip("agentdraft")

DAY = datetime(2031, 6, 3, tzinfo=UTC)


def iso(h: int, m: int = 0) -> str:
    return DAY.replace(hour=h, minute=m).isoformat().replace("+00:00", "Z")


def test_agentdraft_langchain_tools_book_lose_and_list_availability(sdk) -> None:
    tools_mod = pytest.importorskip("agentdraft_langchain")
    winner, loser = sdk(1), sdk(2)
    safe_w = tools_mod.get_agentdraft_tools(winner)
    avail, safe = tools_mod.get_agentdraft_tools(loser)
    assert safe.name == "agentdraft_commit_booking_safe"

    booked = safe_w[1].invoke({"start": iso(10), "end": iso(10, 30), "title": "Demo"})
    assert booked.startswith("Committed booking bkg_")
    lost = safe.invoke({"start": iso(10), "end": iso(10, 30)})
    assert "OUTRANKED" in lost.upper() and winner.agent_id in lost

    listed = avail.invoke({"start": iso(10), "end": iso(12), "duration_minutes": 30})
    assert "open slot(s)" in listed
    assert iso(10) not in listed.replace("+00:00", "Z")  # the taken slot is not offered

    plain = tools_mod.BookingTool(client=loser, handle_tool_error=True)
    assert "OUTRANKED" in plain.invoke({"start": iso(10), "end": iso(10, 30)}).upper()


def test_agentdraft_mcp_server_books_and_returns_a_structured_outranked_payload(
    sdk, http_server, monkeypatch
) -> None:
    server_mod = pytest.importorskip("agentdraft_mcp.server")
    from mcp.shared.memory import create_connected_server_and_client_session

    winner, loser = sdk(1), sdk(2)
    winner.bookings.commit(start=DAY.replace(hour=14), end=DAY.replace(hour=14, minute=30))
    monkeypatch.setenv("AGENTDRAFT_API_KEY", loser._api_key)
    monkeypatch.setenv("AGENTDRAFT_BASE_URL", http_server.url)

    async def session() -> tuple:
        server = server_mod.build_server()
        async with create_connected_server_and_client_session(server._mcp_server) as s:
            me = await s.call_tool("whoami", {})
            lost = await s.call_tool("commit_booking", {"start": iso(14), "end": iso(14, 30)})
            slots = await s.call_tool("get_availability", {"start": iso(14), "end": iso(16)})
            ok = await s.call_tool("commit_booking", {"start": iso(15), "end": iso(15, 30)})
            return me, lost, slots, ok

    me, lost, slots, ok = asyncio.run(session())
    assert me.structuredContent["agent_id"] == loser.agent_id
    payload = lost.structuredContent
    assert payload["error"] == "outranked"
    assert payload["winning_agent_id"] == winner.agent_id
    assert payload["winning_agent_priority"] == 1
    starts = [s["start"] for s in slots.structuredContent["slots"]]
    assert starts and DAY.replace(hour=14).isoformat() not in starts
    assert ok.structuredContent["status"] == "COMMITTED"
