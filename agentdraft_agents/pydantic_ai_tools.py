"""PydanticAI tools: the shared tool set as ``pydantic_ai.Tool``s with the service as ``deps``.

PydanticAI's idiom is dependency injection: the tools are built once, without a
client, and each run passes the agent's :class:`~agentdraft_agents.core.BookingService`
as ``deps`` (``agent.run(task, deps=deps(client))``); the tools reach it through
``RunContext.deps``. So one ``Agent`` can serve many agent identities, one per run,
and the model still never names an agent.

Each tool's argument schema is the spec's model; arguments are validated by
:meth:`~agentdraft_agents.specs.ToolSpec.ainvoke`, so one that does not fit comes
back as the ``ERROR invalid_arguments`` sentence every framework shows. Every
result is a ``ToolReturn``: the sentence for the model, the typed result's JSON in
``metadata`` for code (``ToolReturnPart.metadata`` in the run's messages).
"""

from __future__ import annotations

from typing import Any, Unpack

try:
    from pydantic_ai import RunContext, Tool
    from pydantic_ai.messages import ToolReturn
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' PydanticAI tools need pydantic-ai-slim: "
        "pip install 'agentdraft-agents[pydantic-ai]'"
    ) from exc

from . import specs
from .core import BookingService


def make_tool(spec: specs.ToolSpec) -> Tool[BookingService]:
    """A PydanticAI tool for ``spec``; the booking service comes from the run's ``deps``."""

    async def call(ctx: RunContext[BookingService], **arguments: Any) -> ToolReturn:
        result = await spec.ainvoke(ctx.deps, arguments)
        return ToolReturn(return_value=spec.text(result), metadata=result.data())

    return Tool.from_schema(
        call,
        name=spec.name,
        description=spec.description,
        json_schema=spec.args.model_json_schema(),
        takes_ctx=True,
    )


def get_tools(
    *, conflict_aware: bool = True, holds: bool = True, mailbox: bool = False
) -> list[Tool[BookingService]]:
    """The recommended tool set for ``Agent(model, deps_type=BookingService, tools=…)``."""
    chosen = specs.recommended(conflict_aware=conflict_aware, holds=holds, mailbox=mailbox)
    return [make_tool(s) for s in chosen]


def deps(client: Any = None, **options: Unpack[specs.ToolOptions]) -> BookingService:
    """The ``deps`` for one run: one agent's service (``on_result``, ``alternatives``, …)."""
    return specs.bind(client, **options)[0]


__all__ = ["deps", "get_tools", "make_tool"]
