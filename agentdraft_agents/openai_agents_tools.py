"""OpenAI Agents SDK tools: the shared tool set as ``agents.FunctionTool``s.

Each tool's JSON schema is the spec's argument model; the SDK hands the model's
raw JSON to :meth:`~agentdraft_agents.specs.ToolSpec.ainvoke`, so arguments that
do not fit come back to the model as an ``ERROR invalid_arguments`` sentence
naming the field, and every outcome (a lost race included) is the same sentence
every framework shows. The SDK's tool output is text only; pass ``on_result`` to
receive each typed result in code.

Run the agent with ``Runner.run`` (async) or ``Runner.run_sync``; the tools are
async and run the booking call in a worker thread.
"""

from __future__ import annotations

import json
from typing import Any, Unpack

try:
    from agents import FunctionTool
    from agents.tool_context import ToolContext
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' OpenAI Agents SDK tools need openai-agents: "
        "pip install 'agentdraft-agents[openai-agents]'"
    ) from exc

from . import specs
from .core import BookingService


def make_tool(spec: specs.ToolSpec, service: BookingService) -> FunctionTool:
    """An SDK ``FunctionTool`` for ``spec``, bound to ``service`` (one agent)."""

    async def invoke(ctx: ToolContext[Any], arguments: str) -> str:
        try:
            parsed = json.loads(arguments or "{}")
        except json.JSONDecodeError:
            parsed = {"": arguments}  # fails validation with a field-named error below
        result = await spec.ainvoke(service, parsed if isinstance(parsed, dict) else {})
        return spec.text(result)

    return FunctionTool(
        name=spec.name,
        description=spec.description,
        params_json_schema=spec.args.model_json_schema(),
        on_invoke_tool=invoke,
        # Optional arguments with defaults are not expressible in strict mode.
        strict_json_schema=False,
    )


def get_tools(client: Any = None, **options: Unpack[specs.ToolOptions]) -> list[FunctionTool]:
    """The recommended tool set for an ``agents.Agent``, bound to one client (one agent).

    Options as :class:`~agentdraft_agents.specs.ToolOptions` says (the same in every
    framework); ``on_result`` receives each typed result.
    """
    return specs.build(make_tool, client, **options)


__all__ = ["get_tools", "make_tool"]
