"""The tool set, described once: names, descriptions, argument models, and the call.

Each framework adapter (LangChain, CrewAI, AutoGen) turns these specs into its own
tool type, so a model sees the same tool names, wording and arguments whichever
framework runs it. Names follow ``agentdraft-langchain`` (``agentdraft_…``); the
MCP server keeps ``agentdraft-mcp``'s shorter names instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field

from .core import BookingService
from .results import Result

TIME_FORMAT = (
    "ISO 8601 with Z or a UTC offset, e.g. 2026-06-01T14:00:00Z or 2026-06-01T16:00:00+02:00. "
    "A time without an offset is refused."
)


class AvailabilityInput(BaseModel):
    start: str = Field(description=f"Start of the search window, {TIME_FORMAT}")
    end: str = Field(description="End of the search window, same format")
    duration_minutes: int = Field(default=30, description="Length of the meeting to fit")
    granularity_minutes: int = Field(default=15, description="Step between candidate starts")


class BookingInput(BaseModel):
    start: str = Field(description=f"Meeting start, {TIME_FORMAT}")
    end: str = Field(description="Meeting end, same format")
    title: str | None = Field(default=None, description="Short human-readable title")
    idempotency_key: str | None = Field(
        default=None,
        description="Optional stable key so a retried call returns the original booking "
        "instead of creating a duplicate",
    )


class HoldIdInput(BaseModel):
    hold_id: str = Field(description="The hold's id (hld_…) from agentdraft_create_hold")


class BookingIdInput(BaseModel):
    booking_id: str = Field(description="The id (bkg_… or hld_…) of one of your own bookings")


class NoInput(BaseModel):
    pass


@dataclass(frozen=True)
class ToolSpec:
    """One tool: what the model is told, what it may pass, what the service does."""

    name: str
    description: str
    args: type[BaseModel]
    call: Callable[[BookingService, Any], Result]
    #: A lost race is an error for this tool (the plain booking tool) instead of a result.
    lost_is_error: bool = False

    def run(self, service: BookingService, arguments: dict[str, Any]) -> Result:
        """Validate the model's arguments against ``args`` and make the call."""
        return self.call(service, self.args(**arguments))

    async def arun(self, service: BookingService, arguments: dict[str, Any]) -> Result:
        return await asyncio.to_thread(self.run, service, arguments)


def _write(kind: str) -> Callable[[BookingService, Any], Result]:
    def call(svc: BookingService, a: BookingInput) -> Result:
        method = svc.commit if kind == "commit" else svc.hold
        return method(a.start, a.end, title=a.title, idempotency_key=a.idempotency_key)

    return call


WHOAMI = ToolSpec(
    "agentdraft_whoami",
    "Return your agent id, your priority among the calendar owner's agents (1 is highest) "
    "and the owner's timezone, so you can write times with the right offset.",
    NoInput,
    lambda svc, a: svc.identity(),
)
AVAILABILITY = ToolSpec(
    "agentdraft_get_availability",
    "Get the calendar slots open to this agent between two times. Call this before "
    "proposing or committing a meeting. Returns free start/end ranges; an empty result "
    "means propose a different window. Times are ISO 8601 with Z or an offset "
    "(2026-06-01T14:00:00Z).",
    AvailabilityInput,
    lambda svc, a: svc.availability(
        a.start,
        a.end,
        duration_minutes=a.duration_minutes,
        granularity_minutes=a.granularity_minutes,
    ),
)
COMMIT = ToolSpec(
    "agentdraft_commit_booking",
    "Commit a final booking on the calendar through AgentDraft. If a higher-priority agent "
    "already holds the slot, this tool raises an error naming the winner and nearby open "
    "slots. For autonomous agents that should recover from a lost race on their own, prefer "
    "agentdraft_commit_booking_safe instead.",
    BookingInput,
    _write("commit"),
    lost_is_error=True,
)
COMMIT_SAFE = ToolSpec(
    "agentdraft_commit_booking_safe",
    "Commit a final booking on the calendar through AgentDraft. If a higher-priority agent "
    "already holds the slot, this returns an 'OUTRANKED' result instead of an error: it "
    "names the winner and lists the nearest open slots of the same length. Book one of "
    "those (or ask your user) rather than retrying the same slot. Recommended for "
    "autonomous agents.",
    BookingInput,
    _write("commit"),
)
HOLD = ToolSpec(
    "agentdraft_create_hold",
    "Reserve a slot tentatively while you confirm with someone. Holds expire on their own "
    "(30 s by default); commit the same start and end with the booking tool to make it "
    "final, or release it. If another agent has the slot this returns an OUTRANKED result "
    "with nearby open slots.",
    BookingInput,
    _write("hold"),
)
RELEASE = ToolSpec(
    "agentdraft_release_hold",
    "Release one of your holds so other agents can take the slot before it expires.",
    HoldIdInput,
    lambda svc, a: svc.release(a.hold_id),
)
CANCEL = ToolSpec(
    "agentdraft_cancel_booking",
    "Cancel one of your own committed bookings; the slot opens to other agents at once. "
    "You cannot cancel another agent's booking.",
    BookingIdInput,
    lambda svc, a: svc.cancel(a.booking_id),
)


def recommended(*, conflict_aware: bool = True, holds: bool = True) -> list[ToolSpec]:
    """The default tool set, in the order an agent is shown it."""
    specs = [WHOAMI, AVAILABILITY, COMMIT_SAFE if conflict_aware else COMMIT]
    if holds:
        specs += [HOLD, RELEASE]
    return [*specs, CANCEL]


__all__ = [
    "AVAILABILITY",
    "CANCEL",
    "COMMIT",
    "COMMIT_SAFE",
    "HOLD",
    "RELEASE",
    "TIME_FORMAT",
    "WHOAMI",
    "AvailabilityInput",
    "BookingIdInput",
    "BookingInput",
    "HoldIdInput",
    "NoInput",
    "ToolSpec",
    "recommended",
]
