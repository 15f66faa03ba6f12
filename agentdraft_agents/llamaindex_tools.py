"""LlamaIndex tools: the shared tool set as ``FunctionTool``s for a ``FunctionAgent``.

Each tool's ``fn_schema`` is the spec's argument model, with sync and async
callables over the same :class:`~agentdraft_agents.specs.ToolSpec`; the tool
output the model reads is the sentence every framework shows. Pass ``on_result``
to receive each typed result in code. Always give ``FunctionAgent`` an ``llm=``:
LlamaIndex's default is OpenAI.
"""

from __future__ import annotations

from typing import Any, Unpack

try:
    from llama_index.core.tools import FunctionTool
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "agentdraft_agents' LlamaIndex tools need llama-index-core: "
        "pip install 'agentdraft-agents[llamaindex]'"
    ) from exc

from . import specs
from .core import BookingService


def make_tool(spec: specs.ToolSpec, service: BookingService) -> FunctionTool:
    """A LlamaIndex ``FunctionTool`` for ``spec``, bound to ``service`` (one agent)."""

    def call(**arguments: Any) -> str:
        return spec.text(spec.invoke(service, arguments))

    async def acall(**arguments: Any) -> str:
        return spec.text(await spec.ainvoke(service, arguments))

    return FunctionTool.from_defaults(
        fn=call,
        async_fn=acall,
        name=spec.name,
        description=spec.description,
        fn_schema=spec.args,
    )


def get_tools(client: Any = None, **options: Unpack[specs.ToolOptions]) -> list[FunctionTool]:
    """The recommended tool set for a ``FunctionAgent``, bound to one client (one agent)."""
    return specs.build(make_tool, client, **options)


__all__ = ["get_tools", "make_tool"]
