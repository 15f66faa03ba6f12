"""CrewAI tools: the same tool set and wording as the LangChain tools, native to CrewAI.

CrewAI rejects LangChain tools, and its ``Tool.from_langchain`` leaks bound
arguments into the model's schema, so these are ``crewai.tools.BaseTool``
subclasses over the same :class:`~agentdraft_agents.core.BookingService`.

* A lost race is an ordinary answer (``agentdraft_commit_booking_safe``) naming the
  winner and offering the nearest open slots; the plain ``agentdraft_commit_booking``
  returns it as a ``ToolFailure`` (code ``outranked``) instead.
* Input the model can fix comes back as a ``ToolFailure`` carrying the error code,
  so CrewAI records the failed step while the model reads what to change.
* Results are never cached (CrewAI caches tool results by default): a second
  attempt at a slot must reach the coordinator.
* ``on_result`` receives every typed result, for code that wants the data.

Importing this module imports CrewAI, which has side effects at import (it
installs signal handlers and may contact its telemetry host); set
``CREWAI_DISABLE_TELEMETRY=true`` and ``CREWAI_TRACING_ENABLED=false`` first if
you need it offline. This library does not set them for you.
"""

from __future__ import annotations

from typing import Any, Unpack

try:
    from crewai.tools import BaseTool
    from crewai.tools.tool_failure import ToolFailure
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' CrewAI tools need crewai: pip install 'agentdraft-agents[crewai]'"
    ) from exc
from pydantic import SkipValidation

from . import specs
from .core import BookingService
from .results import Failed, Lost, Result


class AgentDraftToolFailure(ToolFailure):
    """A ``ToolFailure`` the model reads as exactly the shared sentence.

    CrewAI appends `` (code: …)`` to a failure's message; ours already starts with
    ``ERROR <code>`` (or ``OUTRANKED``), and every framework must show the same words.
    """

    def as_agent_message(self) -> str:
        return self.message


def _never_cache(*_: Any) -> bool:
    return False


class AgentDraftCrewTool(BaseTool):
    """One :class:`~agentdraft_agents.specs.ToolSpec` as a CrewAI tool."""

    spec: SkipValidation[Any]
    service: SkipValidation[Any]
    cache_function: Any = _never_cache

    def _run(self, **arguments: Any) -> Any:
        return self._deliver(self.spec.run(self.service, arguments))

    async def _arun(self, **arguments: Any) -> Any:
        return self._deliver(await self.spec.arun(self.service, arguments))

    def _deliver(self, result: Result) -> Any:
        if isinstance(result, Failed):
            return AgentDraftToolFailure(
                message=result.text(self.name), code=result.error, details=result.data()
            )
        if isinstance(result, Lost) and self.spec.lost_is_error:
            return AgentDraftToolFailure(
                message=result.text(self.name), code="outranked", details=result.data()
            )
        return result

    def format_output_for_agent(self, raw_result: Any) -> str:
        """What the model reads: the result's sentence (and offers), never a repr."""
        if isinstance(raw_result, ToolFailure):
            return raw_result.message
        if isinstance(raw_result, Lost | Failed):
            return raw_result.text(self.name)
        if hasattr(raw_result, "text"):
            return str(raw_result.text())
        return str(raw_result)


def make_tool(spec: specs.ToolSpec, service: BookingService) -> AgentDraftCrewTool:
    """A CrewAI tool for ``spec`` bound to ``service`` (and so to one agent)."""
    return AgentDraftCrewTool(
        name=spec.name,
        description=spec.description,
        args_schema=spec.args,
        spec=spec,
        service=service,
    )


def get_tools(client: Any = None, **options: Unpack[specs.ToolOptions]) -> list[AgentDraftCrewTool]:
    """The recommended CrewAI tool set, bound to one client (one agent identity).

    Options as :class:`~agentdraft_agents.specs.ToolOptions` says (the same in every
    framework); ``on_result`` receives each typed result.
    """
    return specs.build(make_tool, client, **options)


__all__ = ["AgentDraftCrewTool", "AgentDraftToolFailure", "get_tools", "make_tool"]
