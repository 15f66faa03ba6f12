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

from typing import Any, ClassVar, Literal, Unpack

try:
    from langchain_core.tools import BaseTool, ToolException
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' LangChain tools need langchain-core: "
        "pip install 'agentdraft-agents[langchain]'"
    ) from exc
from pydantic import Field, SkipValidation, model_validator

from . import counter_specs, specs
from .core import BookingService
from .environment import resolve_client
from .results import Failed, Lost, Result


class AgentDraftToolException(ToolException):
    """A ``ToolException`` that keeps the typed result for code that catches it."""

    def __init__(self, message: str, result: Failed | Lost) -> None:
        super().__init__(message)
        self.result = result


class OutrankedToolException(AgentDraftToolException):
    """Raised by :class:`BookingTool` on a lost race; ``.result`` is the :class:`Lost`."""


class _AgentDraftTool(BaseTool):
    """One :class:`~agentdraft_agents.specs.ToolSpec` over a bound :class:`BookingService`."""

    spec: ClassVar[specs.ToolSpec]
    client: SkipValidation[Any] = None
    service: SkipValidation[Any] = Field(default=None, exclude=True)
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"
    handle_tool_error: Any = True

    @model_validator(mode="before")
    @classmethod
    def _from_spec(cls, data: Any) -> Any:
        """Name, description and argument schema come from the class's spec, once."""
        if isinstance(data, dict):
            data = {
                "name": cls.spec.name,
                "description": cls.spec.description,
                "args_schema": cls.spec.args,
                **data,
            }
        return data

    @model_validator(mode="after")
    def _bind(self) -> _AgentDraftTool:
        if self.service is None:
            self.service = BookingService(resolve_client(self.client))
        if self.client is None:
            self.client = self.service.client
        return self

    def _run(self, run_manager: Any = None, **arguments: Any) -> tuple[str, Any]:
        return self._deliver(self.spec.run(self.service, arguments))

    async def _arun(self, run_manager: Any = None, **arguments: Any) -> tuple[str, Any]:
        return self._deliver(await self.spec.arun(self.service, arguments))

    def _deliver(self, result: Result) -> tuple[str, Any]:
        if isinstance(result, Failed):
            raise AgentDraftToolException(result.text(self.name), result)
        if isinstance(result, Lost):
            text = result.text(self.name)
            if self.spec.lost_is_error:
                raise OutrankedToolException(text, result)
            return text, result.data()
        return result.text(), result.data()


class AvailabilityTool(_AgentDraftTool):
    """List the calendar slots currently open to the calling agent."""

    spec = specs.AVAILABILITY


class BookingTool(_AgentDraftTool):
    """Commit a booking; a lost race raises :class:`OutrankedToolException`.

    With ``handle_tool_error`` on (the default) the agent loop turns it into an error
    message naming the winner and the alternatives; set it to ``False`` to let the
    exception reach your code.
    """

    spec = specs.COMMIT


class ConflictAwareBookingTool(_AgentDraftTool):
    """Commit a booking; a lost race is a normal result with a counter-proposal.

    The recommended booking tool for autonomous agents: losing to a better-ranked
    sibling is the coordinator working, not a failure. The result says who won, at
    what priority, and lists the nearest open slots of the same length; the artifact
    carries the same as data (``outcome`` is ``booked`` or ``lost``).
    """

    spec = specs.COMMIT_SAFE


class HoldTool(_AgentDraftTool):
    """Hold a slot tentatively; commit the same start and end to make it final."""

    spec = specs.HOLD


class ReleaseHoldTool(_AgentDraftTool):
    """Give a hold back before it expires."""

    spec = specs.RELEASE


class CancelBookingTool(_AgentDraftTool):
    """Cancel one of the agent's own bookings."""

    spec = specs.CANCEL


class WhoAmITool(_AgentDraftTool):
    """Who the tools act as, at what priority, and the owner's timezone."""

    spec = specs.WHOAMI


class GetBookingTool(_AgentDraftTool):
    """Read one booking as it stands: live, displaceable until when, or ended by whom."""

    spec = specs.GET_BOOKING


class ListMyBookingsTool(_AgentDraftTool):
    """List the agent's own bookings in a window: live ones, and ended ones with who ended them."""

    spec = specs.LIST_MY_BOOKINGS


class CheckApprovalTool(_AgentDraftTool):
    """Read a person's decision on a booking the owner's approval gate parked."""

    spec = specs.CHECK_APPROVAL


class CounterOfferTool(_AgentDraftTool):
    """After a lost race, offer the winning booking's agent other times."""

    spec = counter_specs.COUNTER_OFFER


class ListCountersTool(_AgentDraftTool):
    """The counter-offers on one of the agent's bookings, or the answer to its own."""

    spec = counter_specs.LIST_COUNTERS


class AnswerCounterTool(_AgentDraftTool):
    """Accept (the booking moves) or reject a counter-offer on the agent's booking."""

    spec = counter_specs.ANSWER_COUNTER


_CLASSES: dict[str, Any] = {
    cls.spec.name: cls
    for cls in (
        AvailabilityTool,
        BookingTool,
        ConflictAwareBookingTool,
        HoldTool,
        ReleaseHoldTool,
        CancelBookingTool,
        WhoAmITool,
        GetBookingTool,
        ListMyBookingsTool,
        CheckApprovalTool,
        CounterOfferTool,
        ListCountersTool,
        AnswerCounterTool,
    )
}
#: The mailbox tools need no behaviour of their own: one class per spec, built here.
_CLASSES.update(
    {
        spec.name: type(
            f"{spec.name.title().replace('_', '')}Tool", (_AgentDraftTool,), {"spec": spec}
        )
        for spec in specs.MAILBOX
    }
)


def get_tools(client: Any = None, **options: Unpack[specs.ToolOptions]) -> list[BaseTool]:
    """The recommended tool set, all bound to one client (one agent identity).

    ``client`` defaults to what :func:`agentdraft_agents.environment.resolve_client`
    picks from the environment (``AGENTDRAFT_BASE_URL``/``AGENTDRAFT_API_KEY``, else the
    embedded default agent); ``api_key``, ``base_url``, ``data_dir`` and ``agent_name`` go to it.
    ``conflict_aware`` picks :class:`ConflictAwareBookingTool` (default) over
    :class:`BookingTool`; ``holds`` adds the hold and release tools; ``alternatives`` is
    how many slots a lost race offers (0 turns the search off).
    """
    return specs.build(
        lambda spec, service: _CLASSES[spec.name](client=service.client, service=service),
        client,
        **options,
    )


#: The name ``agentdraft-langchain`` uses, for drop-in replacement.
get_agentdraft_tools = get_tools

__all__ = [
    "AgentDraftToolException",
    "AnswerCounterTool",
    "AvailabilityTool",
    "BookingTool",
    "CancelBookingTool",
    "CheckApprovalTool",
    "ConflictAwareBookingTool",
    "CounterOfferTool",
    "GetBookingTool",
    "HoldTool",
    "ListCountersTool",
    "ListMyBookingsTool",
    "OutrankedToolException",
    "ReleaseHoldTool",
    "WhoAmITool",
    "get_agentdraft_tools",
    "get_tools",
]
