"""AutoGen (0.7) tools: the same tool set and wording as the LangChain tools.

Native ``autogen_core.tools.BaseTool`` subclasses over the shared
:class:`~agentdraft_agents.core.BookingService` (``LangChainToolAdapter`` would
leak bound arguments into the schema and bypass our error handling).

* ``run`` returns the typed result; the model reads ``return_value_as_string``,
  i.e. the same sentence (and offered slots) every framework shows.
* A lost race is an ordinary result for ``agentdraft_commit_booking_safe``; input
  the model can fix, and a lost race on the plain ``agentdraft_commit_booking``,
  raise :class:`AgentDraftToolError`, which AutoGen hands to the model as an error
  result (``is_error=True``) carrying the same sentence.
* Give the ``AssistantAgent`` ``max_tool_iterations`` > 1, or it cannot call the
  booking tool again after losing.
"""

from __future__ import annotations

import asyncio
from typing import Any, Unpack

try:
    from autogen_core import CancellationToken
    from autogen_core.tools import BaseTool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' AutoGen tools need autogen-core: "
        "pip install 'agentdraft-agents[autogen]'"
    ) from exc
from pydantic import BaseModel

from . import specs
from .core import BookingService
from .results import Failed, Lost, Result


class AgentDraftToolError(Exception):
    """A result the model must see as an error; ``.result`` keeps the data."""

    def __init__(self, message: str, result: Failed | Lost) -> None:
        super().__init__(message)
        self.result = result


class AgentDraftAutoGenTool(BaseTool[BaseModel, BaseModel]):
    """One :class:`~agentdraft_agents.specs.ToolSpec` as an AutoGen tool."""

    def __init__(self, spec: specs.ToolSpec, service: BookingService) -> None:
        super().__init__(
            args_type=spec.args, return_type=BaseModel, name=spec.name, description=spec.description
        )
        self.spec = spec
        self.service = service

    async def run(self, args: BaseModel, cancellation_token: CancellationToken) -> BaseModel:
        call = asyncio.ensure_future(asyncio.to_thread(self.spec.call, self.service, args))
        cancellation_token.link_future(call)
        result: Result = await call
        if isinstance(result, Failed) or (isinstance(result, Lost) and self.spec.lost_is_error):
            raise AgentDraftToolError(result.text(self.name), result)
        return result

    def return_value_as_string(self, value: Any) -> str:
        if isinstance(value, Lost | Failed):
            return value.text(self.name)
        if hasattr(value, "text"):
            return str(value.text())
        return super().return_value_as_string(value)


def get_tools(
    client: Any = None, **options: Unpack[specs.ToolOptions]
) -> list[AgentDraftAutoGenTool]:
    """The recommended AutoGen tool set, bound to one client (one agent identity).

    Options as :class:`~agentdraft_agents.specs.ToolOptions` says (the same in every
    framework); ``on_result`` receives each typed result.
    """
    return specs.build(AgentDraftAutoGenTool, client, **options)


__all__ = ["AgentDraftAutoGenTool", "AgentDraftToolError", "get_tools"]
