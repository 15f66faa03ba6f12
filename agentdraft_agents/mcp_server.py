"""An MCP server with ``agentdraft-mcp``'s tools, on the embedded coordinator or a server.

Run it over stdio (what Claude Desktop, Cursor or any MCP client launches)::

    agentdraft-mcp-local                        # embedded default agent (see environment.py)
    AGENTDRAFT_AGENT_NAME=recruiter agentdraft-mcp-local
    AGENTDRAFT_BASE_URL=https://… AGENTDRAFT_API_KEY=avs_live_… agentdraft-mcp-local

Tools (same names and arguments as ``agentdraft-mcp``): ``whoami``,
``get_availability``, ``create_hold``, ``release_hold``, ``commit_booking``,
``cancel_booking``. Every answer carries ``structuredContent`` and the same JSON as
text. A lost race is a normal result with agentdraft-mcp's outranked payload
(``error: "outranked"``, ``winning_agent_id``, ``winning_agent_priority``,
``your_priority``, ``message``) plus ``reason``, ``audit_event_id``, ``requested``
and ``alternatives``: the nearest open slots of the same length. Input the model
must fix (a time without an offset, a broken owner rule) is an error result
(``isError``) with ``{error, message, detail}``.

The server's agent identity is fixed when it starts; no tool takes an agent id.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

try:
    from mcp.server.fastmcp import FastMCP
    from mcp.types import CallToolResult, TextContent
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the MCP server needs the mcp package: pip install 'agentdraft-agents[mcp]'"
    ) from exc

from .core import BookingService
from .environment import resolve_client
from .results import Availability, Booked, Cancelled, Failed, Identity, Lost, Released, Result

INSTRUCTIONS = (
    "AgentDraft coordinates several AI agents booking one person's calendar. Call "
    "get_availability before proposing a slot, create_hold to reserve it tentatively, "
    "commit_booking to make it final. Times are ISO 8601 with Z or an offset; times "
    "without one are refused. A losing booking returns a structured outranked payload: "
    "it names the winner and its priority and lists the nearest open alternatives of the "
    "same length; book one of those or ask your user, never retry the same slot."
)


def payload(result: Result) -> dict[str, Any]:
    """agentdraft-mcp's JSON for a result (plus our additions)."""
    if isinstance(result, Lost):
        return result.mcp_payload()
    if isinstance(result, Failed):
        return {
            "error": result.error,
            "message": result.text("commit_booking"),
            "detail": {
                "field": result.field,
                "status": result.status,
                "alternatives": result.data()["alternatives"],
            },
        }
    data = result.data()
    data.pop("outcome", None)
    if isinstance(result, Booked):
        data.pop("mode")
        return {k: v for k, v in data.items() if v is not None}
    if isinstance(result, Released):
        return {"released": True, "hold_id": result.hold_id}
    if isinstance(result, Cancelled):
        return {"cancelled": True, "booking_id": result.booking_id}
    if isinstance(result, Availability):
        return {"slots": data["slots"]}
    return data


def to_mcp(result: Result) -> CallToolResult:
    body = payload(result)
    return CallToolResult(
        content=[TextContent(type="text", text=json.dumps(body))],
        structuredContent=body,
        isError=isinstance(result, Failed),
    )


def _options(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v not in (None, False)}


def build_server(client: Any = None, *, name: str = "agentdraft", **environment: Any) -> FastMCP:
    """A FastMCP server whose tools act as one agent, bound now.

    ``client`` defaults to :func:`~agentdraft_agents.environment.resolve_client`'s
    choice; ``environment`` passes ``data_dir``/``agent_name``/``alternatives`` on.
    """
    alternatives = environment.pop("alternatives", 3)
    service = BookingService(resolve_client(client, **environment), alternatives=alternatives)
    mcp = FastMCP(name, instructions=INSTRUCTIONS, log_level="WARNING")

    @mcp.tool()
    async def whoami() -> CallToolResult:
        """Return the calling agent's identity, priority (1 is highest), scopes, and the
        owner's timezone (so times can be written with the right offset)."""
        me: Identity = await service.aidentity()
        return to_mcp(me)

    @mcp.tool()
    async def get_availability(
        start: str,
        end: str,
        duration_minutes: int = 30,
        granularity_minutes: int = 15,
        include_holds: bool = True,
    ) -> CallToolResult:
        """List slots open to the calling agent within [start, end).

        Times are ISO 8601 with Z or an offset (`2026-06-01T14:00:00Z`). The result is
        filtered through the owner's rules and live holds of sibling agents."""
        return to_mcp(
            await service.aavailability(
                start,
                end,
                duration_minutes=duration_minutes,
                granularity_minutes=granularity_minutes,
                include_holds=include_holds,
            )
        )

    @mcp.tool()
    async def create_hold(
        start: str,
        end: str,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
    ) -> CallToolResult:
        """Reserve a slot tentatively. Holds expire automatically (30 s by default); a
        commit_booking of the same start and end makes it final. Returns an outranked
        payload with nearby alternatives if another agent has the slot."""
        return to_mcp(
            await service.ahold(
                start,
                end,
                **_options(
                    idempotency_key=idempotency_key, metadata=metadata, title=title, invitee=invitee
                ),
            )
        )

    @mcp.tool()
    async def release_hold(hold_id: str) -> CallToolResult:
        """Release one of your holds so other agents can take the slot before it expires."""
        return to_mcp(await service.arelease(hold_id))

    @mcp.tool()
    async def commit_booking(
        start: str,
        end: str,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        with_conferencing: bool = False,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
    ) -> CallToolResult:
        """Finalize a booking: exactly one agent wins each contested slot, decided by the
        owner's ranking. On a lost race returns an outranked payload naming the winner
        and listing the nearest open slots of the same length; book one of those."""
        return to_mcp(
            await service.acommit(
                start,
                end,
                **_options(
                    idempotency_key=idempotency_key,
                    metadata=metadata,
                    title=title,
                    invitee=invitee,
                    with_conferencing=with_conferencing,
                ),
            )
        )

    @mcp.tool()
    async def cancel_booking(booking_id: str) -> CallToolResult:
        """Cancel one of your own bookings; the slot opens to other agents at once."""
        return to_mcp(await service.acancel(booking_id))

    return mcp


def main(argv: list[str] | None = None) -> None:
    """Console entry point ``agentdraft-mcp-local``: serve over stdio."""
    parser = argparse.ArgumentParser(
        prog="agentdraft-mcp-local",
        description="MCP server for AgentDraft (embedded coordinator by default).",
    )
    parser.add_argument(
        "--data-dir",
        help="embedded engine folder (default $AGENTDRAFT_DATA_DIR or ~/.agentdraft/data)",
    )
    parser.add_argument(
        "--agent-name",
        help="local agent to act as when no key is set "
        "(default $AGENTDRAFT_AGENT_NAME or local-agent)",
    )
    args = parser.parse_args(argv)
    build_server(data_dir=args.data_dir, agent_name=args.agent_name).run("stdio")


if __name__ == "__main__":
    main()


__all__ = ["INSTRUCTIONS", "build_server", "main", "payload", "to_mcp"]
