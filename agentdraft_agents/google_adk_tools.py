"""Google ADK tools: the shared tool set as ADK ``BaseTool``s for an ``LlmAgent``.

Each tool declares the spec's argument model as its JSON schema
(``FunctionDeclaration.parameters_json_schema``) and answers ``{"result": text}``,
the sentence every framework shows; pass ``on_result`` to receive each typed
result in code. Arguments are validated by
:meth:`~agentdraft_agents.specs.ToolSpec.ainvoke`, so one that does not fit comes
back as ``ERROR invalid_arguments (field): …``.

google-adk 1.14.1 is the newest ADK whose OpenTelemetry cap fits beside CrewAI;
it downgrades fastapi and starlette, so this project tests it in a venv of its own.
"""

from __future__ import annotations

from typing import Any, Unpack

try:
    from google.adk.tools import BaseTool, ToolContext
    from google.genai import types
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' Google ADK tools need google-adk: "
        "pip install 'agentdraft-agents[google-adk]'"
    ) from exc

from . import specs
from .core import BookingService


class AgentDraftAdkTool(BaseTool):
    """One :class:`~agentdraft_agents.specs.ToolSpec` as an ADK tool, bound to one agent."""

    def __init__(self, spec: specs.ToolSpec, service: BookingService) -> None:
        super().__init__(name=spec.name, description=spec.description)
        self.spec = spec
        self.service = service

    def _get_declaration(self) -> types.FunctionDeclaration:
        return types.FunctionDeclaration(
            name=self.name,
            description=self.description,
            parameters_json_schema=self.spec.args.model_json_schema(),
        )

    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        result = await self.spec.ainvoke(self.service, args)
        return {"result": self.spec.text(result)}


def get_tools(client: Any = None, **options: Unpack[specs.ToolOptions]) -> list[AgentDraftAdkTool]:
    """The recommended tool set for ``LlmAgent(tools=…)``, bound to one client (one agent)."""
    return specs.build(AgentDraftAdkTool, client, **options)


__all__ = ["AgentDraftAdkTool", "get_tools"]
