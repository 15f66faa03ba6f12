"""LangChain tools (usable by LangGraph and ``langchain.agents.create_agent``).

Drop-in compatible with the ``agentdraft-langchain`` package: the same class
names, tool names (``agentdraft_get_availability``, ``agentdraft_commit_booking``,
``agentdraft_commit_booking_safe``), argument shapes and construction
(``ConflictAwareBookingTool(client=client)``), so prompts written for it keep
working. What it adds:

* after a lost race the tool names the winner and its priority *and* offers the
  nearest open slots of the same length, which the model can book in one call;
* every tool answers with text for the model and a JSON artifact for code
  (``response_format="content_and_artifact"``; ``ToolMessage.artifact``);
* hold, release, cancel and who-am-I tools, async, and times without an offset
  refused with the corrected value spelled out (see :mod:`agentdraft_agents.core`).

The agent's identity is the client's, bound when the tool is built; no tool has
an argument naming an agent. Errors the model can fix become ``ToolException``
and, because ``handle_tool_error`` is on, an error ``ToolMessage`` the model reads;
infrastructure errors propagate to the code running the agent.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

try:
    from langchain_core.tools import BaseTool, ToolException
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' LangChain tools need langchain-core: "
        "pip install 'agentdraft-agents[langchain]'"
    ) from exc
from pydantic import BaseModel, Field, SkipValidation, model_validator

from .core import BookingService
from .environment import resolve_client
from .results import Failed, Lost, Result

_TIME = (
    "ISO 8601 with Z or a UTC offset, e.g. 2026-06-01T14:00:00Z or 2026-06-01T16:00:00+02:00. "
    "A time without an offset is refused."
)


class AgentDraftToolException(ToolException):
    """A ``ToolException`` that keeps the typed result for code that catches it."""

    def __init__(self, message: str, result: Failed | Lost) -> None:
        super().__init__(message)
        self.result = result


class OutrankedToolException(AgentDraftToolException):
    """Raised by :class:`BookingTool` on a lost race; ``.result`` is the :class:`Lost`."""


class _AvailabilityInput(BaseModel):
    start: str = Field(description=f"Start of the search window, {_TIME}")
    end: str = Field(description="End of the search window, same format")
    duration_minutes: int = Field(default=30, description="Length of the meeting to fit")
    granularity_minutes: int = Field(default=15, description="Step between candidate starts")


class _BookingInput(BaseModel):
    start: str = Field(description=f"Meeting start, {_TIME}")
    end: str = Field(description="Meeting end, same format")
    title: str | None = Field(default=None, description="Short human-readable title")
    idempotency_key: str | None = Field(
        default=None,
        description="Optional stable key so a retried call returns the original booking "
        "instead of creating a duplicate",
    )


class _HoldIdInput(BaseModel):
    hold_id: str = Field(description="The hold's id (hld_…) from agentdraft_create_hold")


class _BookingIdInput(BaseModel):
    booking_id: str = Field(description="The id (bkg_… or hld_…) of one of your own bookings")


class _NoInput(BaseModel):
    pass


class _AgentDraftTool(BaseTool):
    """Shared plumbing: a :class:`BookingService` over the bound client."""

    client: SkipValidation[Any] = None
    service: SkipValidation[Any] = Field(default=None, exclude=True)
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: Any = True

    @model_validator(mode="after")
    def _bind(self) -> _AgentDraftTool:
        if self.service is None:
            self.service = BookingService(resolve_client(self.client))
        if self.client is None:
            self.client = self.service.client
        return self

    def _deliver(self, result: Result, *, lost_is_error: bool = False) -> tuple[str, Any]:
        if isinstance(result, Failed):
            raise AgentDraftToolException(result.text(self.name), result)
        if isinstance(result, Lost):
            text = result.text(self.name)
            if lost_is_error:
                raise OutrankedToolException(text, result)
            return text, result.data()
        return result.text(), result.data()


class AvailabilityTool(_AgentDraftTool):
    """List the calendar slots currently open to the calling agent."""

    name: str = "agentdraft_get_availability"
    description: str = (
        "Get the calendar slots open to this agent between two times. Call this before "
        "proposing or committing a meeting. Returns free start/end ranges; an empty result "
        "means propose a different window. Times are ISO 8601 with Z or an offset "
        "(2026-06-01T14:00:00Z)."
    )
    args_schema: type[BaseModel] = _AvailabilityInput

    def _run(self, start: str, end: str, duration_minutes: int = 30,
             granularity_minutes: int = 15, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(self.service.availability(
            start, end, duration_minutes=duration_minutes, granularity_minutes=granularity_minutes
        ))

    async def _arun(self, start: str, end: str, duration_minutes: int = 30,
                    granularity_minutes: int = 15, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(await self.service.aavailability(
            start, end, duration_minutes=duration_minutes, granularity_minutes=granularity_minutes
        ))


class BookingTool(_AgentDraftTool):
    """Commit a booking; a lost race raises :class:`OutrankedToolException`.

    With ``handle_tool_error`` on (the default) the agent loop turns it into an error
    message naming the winner and the alternatives; set it to ``False`` to let the
    exception reach your code.
    """

    name: str = "agentdraft_commit_booking"
    description: str = (
        "Commit a final booking on the calendar through AgentDraft. If a higher-priority "
        "agent already holds the slot, this tool raises an error naming the winner and "
        "nearby open slots. For autonomous agents that should recover from a lost race on "
        "their own, prefer agentdraft_commit_booking_safe instead."
    )
    args_schema: type[BaseModel] = _BookingInput
    _lost_is_error: ClassVar[bool] = True

    def _run(self, start: str, end: str, title: str | None = None,
             idempotency_key: str | None = None, run_manager: Any = None) -> tuple[str, Any]:
        result = self.service.commit(start, end, title=title, idempotency_key=idempotency_key)
        return self._deliver(result, lost_is_error=self._lost_is_error)

    async def _arun(self, start: str, end: str, title: str | None = None,
                    idempotency_key: str | None = None,
                    run_manager: Any = None) -> tuple[str, Any]:
        result = await self.service.acommit(start, end, title=title,
                                            idempotency_key=idempotency_key)
        return self._deliver(result, lost_is_error=self._lost_is_error)


class ConflictAwareBookingTool(BookingTool):
    """Commit a booking; a lost race is a normal result with a counter-proposal.

    The recommended booking tool for autonomous agents: losing to a better-ranked
    sibling is the coordinator working, not a failure. The result says who won, at
    what priority, and lists the nearest open slots of the same length; the artifact
    carries the same as data (``outcome`` is ``booked`` or ``lost``).
    """

    name: str = "agentdraft_commit_booking_safe"
    description: str = (
        "Commit a final booking on the calendar through AgentDraft. If a higher-priority "
        "agent already holds the slot, this returns an 'OUTRANKED' result instead of an "
        "error: it names the winner and lists the nearest open slots of the same length. "
        "Book one of those (or ask your user) rather than retrying the same slot. "
        "Recommended for autonomous agents."
    )
    _lost_is_error: ClassVar[bool] = False


class HoldTool(_AgentDraftTool):
    """Hold a slot tentatively; commit the same start and end to make it final."""

    name: str = "agentdraft_create_hold"
    description: str = (
        "Reserve a slot tentatively while you confirm with someone. Holds expire on their "
        "own (30 s by default); commit the same start and end with the booking tool to make "
        "it final, or release it. If another agent has the slot this returns an OUTRANKED "
        "result with nearby open slots."
    )
    args_schema: type[BaseModel] = _BookingInput

    def _run(self, start: str, end: str, title: str | None = None,
             idempotency_key: str | None = None, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(
            self.service.hold(start, end, title=title, idempotency_key=idempotency_key)
        )

    async def _arun(self, start: str, end: str, title: str | None = None,
                    idempotency_key: str | None = None,
                    run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(
            await self.service.ahold(start, end, title=title, idempotency_key=idempotency_key)
        )


class ReleaseHoldTool(_AgentDraftTool):
    """Give a hold back before it expires."""

    name: str = "agentdraft_release_hold"
    description: str = (
        "Release one of your holds so other agents can take the slot before it expires."
    )
    args_schema: type[BaseModel] = _HoldIdInput

    def _run(self, hold_id: str, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(self.service.release(hold_id))

    async def _arun(self, hold_id: str, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(await self.service.arelease(hold_id))


class CancelBookingTool(_AgentDraftTool):
    """Cancel one of the agent's own bookings."""

    name: str = "agentdraft_cancel_booking"
    description: str = (
        "Cancel one of your own committed bookings; the slot opens to other agents at once. "
        "You cannot cancel another agent's booking."
    )
    args_schema: type[BaseModel] = _BookingIdInput

    def _run(self, booking_id: str, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(self.service.cancel(booking_id))

    async def _arun(self, booking_id: str, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(await self.service.acancel(booking_id))


class WhoAmITool(_AgentDraftTool):
    """Who the tools act as, at what priority, and the owner's timezone."""

    name: str = "agentdraft_whoami"
    description: str = (
        "Return your agent id, your priority among the calendar owner's agents (1 is "
        "highest) and the owner's timezone, so you can write times with the right offset."
    )
    args_schema: type[BaseModel] = _NoInput

    def _run(self, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(self.service.identity())

    async def _arun(self, run_manager: Any = None) -> tuple[str, Any]:
        return self._deliver(await self.service.aidentity())


def get_tools(
    client: Any = None,
    *,
    conflict_aware: bool = True,
    holds: bool = True,
    alternatives: int = 3,
    **environment: Any,
) -> list[BaseTool]:
    """The recommended tool set, all bound to one client (one agent identity).

    ``client`` defaults to what :func:`agentdraft_agents.environment.resolve_client`
    picks from the environment (``AGENTDRAFT_BASE_URL``/``AGENTDRAFT_API_KEY``, else the
    embedded default agent); ``environment`` passes ``data_dir``/``agent_name`` to it.
    ``conflict_aware`` picks :class:`ConflictAwareBookingTool` (default) over
    :class:`BookingTool`; ``holds`` adds the hold and release tools; ``alternatives`` is
    how many slots a lost race offers (0 turns the search off).
    """
    service = BookingService(resolve_client(client, **environment), alternatives=alternatives)
    kw: dict[str, Any] = {"client": service.client, "service": service}
    booking: BaseTool = ConflictAwareBookingTool(**kw) if conflict_aware else BookingTool(**kw)
    tools: list[BaseTool] = [WhoAmITool(**kw), AvailabilityTool(**kw), booking]
    if holds:
        tools += [HoldTool(**kw), ReleaseHoldTool(**kw)]
    tools.append(CancelBookingTool(**kw))
    return tools


#: The name ``agentdraft-langchain`` uses, for drop-in replacement.
get_agentdraft_tools = get_tools

__all__ = [
    "AgentDraftToolException",
    "AvailabilityTool",
    "BookingTool",
    "CancelBookingTool",
    "ConflictAwareBookingTool",
    "HoldTool",
    "OutrankedToolException",
    "ReleaseHoldTool",
    "WhoAmITool",
    "get_agentdraft_tools",
    "get_tools",
]
