"""MCP over Streamable HTTP at ``/mcp`` on a running ``coordinator serve``, with agent keys.

The ``mcp`` package's own HTTP client talks to a real server process; each request
acts as the agent whose Bearer key it carries.
"""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any

import httpx
import pytest

pytest.importorskip("mcp", reason="the 'mcp' extra is not installed")

from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from .conftest import Calendar, at, iso


def remote(url: str, key: str, body: Any) -> Any:
    """Run ``body(session)`` in an MCP session over HTTP, authenticated as ``key``."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {key}"}
        async with (
            httpx.AsyncClient(headers=headers, timeout=60) as http,
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write, _),
            ClientSession(read, write) as session,
        ):
            info = await session.initialize()
            return info, await body(session)

    return asyncio.run(main())


@pytest.fixture
def served(make_local_cal: Any, local_http_server: str) -> tuple[Calendar, str]:
    return make_local_cal(), local_http_server


def key_of(cal: Calendar, priority: int) -> tuple[str, str]:
    a = cal.coord.agents.create(cal.user_id, name=f"p{priority}", priority=priority)
    return a.agent_id, a.api_key


def test_each_request_acts_as_the_agent_whose_key_it_carries(
    served: tuple[Calendar, str],
) -> None:
    cal, url = served
    (first, key1), (second, key2) = key_of(cal, 1), key_of(cal, 2)

    async def whoami(s: ClientSession) -> Any:
        return (await s.call_tool("whoami", {})).structuredContent["agent_id"]

    info, me1 = remote(url, key1, whoami)
    _, me2 = remote(url, key2, whoami)
    assert (me1, me2) == (first, second)
    assert info.serverInfo.name == "agentdraft" and info.serverInfo.version != "1.30.0"


def test_a_lost_race_over_http_names_the_winner_and_offers_slots(
    served: tuple[Calendar, str],
) -> None:
    cal, url = served
    (winner, key1), (_, key2) = key_of(cal, 1), key_of(cal, 2)

    async def commit(s: ClientSession) -> Any:
        return await s.call_tool("commit_booking", {"start": iso(0), "end": iso(30)})

    remote(url, key1, commit)
    _, lost = remote(url, key2, commit)
    body = json.loads(lost.content[0].text)
    assert not lost.isError and body["error"] == "outranked"
    assert body["winning_agent_id"] == winner and body["alternatives"]
    first = body["alternatives"][0]["start"].replace("Z", "+00:00")
    assert datetime.fromisoformat(first) == at(-30)


@pytest.mark.parametrize("header", [None, "Bearer avs_live_nosuchkey", "Basic abc"])
def test_a_request_without_a_valid_agent_key_is_refused_before_mcp(
    local_http_server: str, header: str | None
) -> None:
    headers = {"Accept": "application/json, text/event-stream"}
    if header:
        headers["Authorization"] = header
    r = httpx.post(
        f"{local_http_server}/mcp",
        headers=headers,
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
    )
    assert r.status_code == 401
    assert r.json()["error"] in ("unauthorized", "invalid_api_key", "auth_error")
