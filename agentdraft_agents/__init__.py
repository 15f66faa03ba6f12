"""Agent-framework tools for the AgentDraft coordinator.

Hand these to an agent and it books without colliding with its siblings; after a
lost race it is told who won, at what priority, and offered the nearest open
slots of the same length::

    from agentdraft_agents import get_tools            # LangChain / LangGraph
    tools = get_tools()                                 # embedded default, or from env

Each framework lives in its own module and is imported only when one of its names
is first used, so ``import agentdraft_agents`` imports no agent framework and a
LangChain user never imports CrewAI or AutoGen. Install the extra you need:
``pip install 'agentdraft-agents[langchain]'`` (or ``crewai``, ``autogen``, ``mcp``,
``openai-agents``, ``pydantic-ai``, ``agent-framework``, ``llamaindex``, ``google-adk``).

* :mod:`agentdraft_agents.core`: the framework-free :class:`BookingService`.
* :mod:`agentdraft_agents.langchain_tools`: the names below (``get_tools`` included).
* :mod:`agentdraft_agents.crewai_tools`, :mod:`agentdraft_agents.autogen_tools`,
  :mod:`agentdraft_agents.openai_agents_tools`, :mod:`agentdraft_agents.pydantic_ai_tools`,
  :mod:`agentdraft_agents.agent_framework_tools`, :mod:`agentdraft_agents.llamaindex_tools`,
  :mod:`agentdraft_agents.google_adk_tools`: the same tools for each framework.
* :mod:`agentdraft_agents.mcp_server`: the ``agentdraft-mcp-local`` stdio server;
  :mod:`agentdraft_agents.mcp_http`: the same over Streamable HTTP (``/mcp`` on the server).
* :mod:`agentdraft_agents.http_proposals`: ``client.proposals`` over HTTP, for the graphs.
* :mod:`agentdraft_agents.negotiation`: LangGraph graphs that book or negotiate a slot
  and pause for a person's approval (the graph names below are its main entry points).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import counter_specs  # noqa: F401 - importing it registers the counter-offer tools
from ._lazy import lazy_getattr
from .core import BookingService, TimeInputError, find_alternatives, parse_time
from .environment import resolve_client
from .results import Availability, Booked, Cancelled, Failed, Identity, Lost, Released, Slot

if TYPE_CHECKING:  # pragma: no cover - for type checkers only; runtime uses __getattr__
    from .langchain_tools import (
        AvailabilityTool,
        BookingTool,
        CancelBookingTool,
        CheckApprovalTool,
        ConflictAwareBookingTool,
        GetBookingTool,
        HoldTool,
        ListMyBookingsTool,
        OutrankedToolException,
        ReleaseHoldTool,
        WhoAmITool,
        get_agentdraft_tools,
        get_tools,
    )
    from .negotiation import (
        ChatModelPolicy,
        Constraints,
        NearestPolicy,
        NegotiationContext,
        build_book_or_negotiate_graph,
        build_consent_graph,
        compile_book_or_negotiate,
        compile_consent_graph,
        negotiation_input,
    )

_NEGOTIATION = (
    "ChatModelPolicy",
    "Constraints",
    "NearestPolicy",
    "NegotiationContext",
    "build_book_or_negotiate_graph",
    "build_consent_graph",
    "compile_book_or_negotiate",
    "compile_consent_graph",
    "negotiation_input",
)

_LAZY = {
    name: "langchain_tools"
    for name in (
        "AvailabilityTool",
        "BookingTool",
        "CancelBookingTool",
        "CheckApprovalTool",
        "ConflictAwareBookingTool",
        "GetBookingTool",
        "HoldTool",
        "ListMyBookingsTool",
        "OutrankedToolException",
        "ReleaseHoldTool",
        "WhoAmITool",
        "get_agentdraft_tools",
        "get_tools",
    )
} | dict.fromkeys(_NEGOTIATION, "negotiation")


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "Availability",
    "AvailabilityTool",
    "Booked",
    "BookingService",
    "BookingTool",
    "CancelBookingTool",
    "Cancelled",
    "ChatModelPolicy",
    "CheckApprovalTool",
    "ConflictAwareBookingTool",
    "Constraints",
    "Failed",
    "GetBookingTool",
    "HoldTool",
    "Identity",
    "ListMyBookingsTool",
    "Lost",
    "NearestPolicy",
    "NegotiationContext",
    "OutrankedToolException",
    "ReleaseHoldTool",
    "Released",
    "Slot",
    "TimeInputError",
    "WhoAmITool",
    "build_book_or_negotiate_graph",
    "build_consent_graph",
    "compile_book_or_negotiate",
    "compile_consent_graph",
    "find_alternatives",
    "get_agentdraft_tools",
    "get_tools",
    "negotiation_input",
    "parse_time",
    "resolve_client",
]
