"""Two MCP clients, each talking to its own ``agentdraft-mcp-local`` server over stdio.

Run:  python examples/mcp_session.py        (offline, ~2 s)

This is how an MCP host (Claude Desktop, Cursor, …) runs the server: one subprocess
per agent, its identity fixed by ``AGENTDRAFT_API_KEY`` (here keys of the embedded
coordinator in a temp folder, passed with ``--data-dir``). Both agents call
``commit_booking`` for the same slot at once. The recruiter (priority 2) gets the
structured outranked payload: who won, at what priority, and ``alternatives``.
It commits the first alternative, which is what a model reading that payload
would do. A host config for the same server::

    {"mcpServers": {"agentdraft": {"command": "agentdraft-mcp-local",
                                   "env": {"AGENTDRAFT_AGENT_NAME": "recruiter"}}}}
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from _demo import END, START, Demo, demo_calendar
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

ROOT = Path(__file__).resolve().parent.parent


def server(demo: Demo, name: str) -> StdioServerParameters:
    env = {
        **os.environ,
        "AGENTDRAFT_API_KEY": demo.keys[name],
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    env.pop("AGENTDRAFT_BASE_URL", None)
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "agentdraft_agents.mcp_server", "--data-dir", demo.folder],
        env=env,
    )


def show(who: str, call: str, args: dict[str, Any], result: Any) -> None:
    print(f"\n[{who}] {call}({json.dumps(args)})")
    print(json.dumps(result.structuredContent, indent=2))


async def agent(demo: Demo, name: str, ready: asyncio.Barrier) -> None:
    async with (
        stdio_client(server(demo, name)) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        await ready.wait()  # both servers up: now book at the same moment
        args = {"start": START, "end": END, "title": "Intro call"}
        first = await session.call_tool("commit_booking", args)
        show(name, "commit_booking", args, first)
        if first.structuredContent.get("error") == "outranked":
            offer = first.structuredContent["alternatives"][0]
            again = await session.call_tool("commit_booking", {**offer, "title": "Intro call"})
            show(name, "commit_booking", offer, again)


async def main() -> None:
    with demo_calendar() as demo:
        ready = asyncio.Barrier(2)
        await asyncio.gather(agent(demo, "recruiter", ready), agent(demo, "sales-bot", ready))
        demo.print_calendar()


if __name__ == "__main__":
    asyncio.run(main())
