"""A scripted CrewAI LLM: drives a real Crew through native tool calls, offline.

Each step is what ``BaseLLM.call`` returns: a list of OpenAI-style tool calls
(see :func:`tool_calls`) or the final answer text, or a function of the
conversation so far returning one of those.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from crewai.llms.base_llm import BaseLLM
from pydantic import Field, PrivateAttr

_ids = itertools.count(1)


def tool_call(name: str, **args: Any) -> list[dict[str, Any]]:
    """A turn that calls one tool, in the OpenAI shape CrewAI's executor reads."""
    return [
        {
            "id": f"call_{next(_ids)}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(args)},
        }
    ]


def last_tool_result(messages: Sequence[dict[str, Any]] | str) -> str:
    """The text of the most recent tool result the model was shown."""
    for m in reversed(list(messages) if not isinstance(messages, str) else []):
        if isinstance(m, dict) and m.get("role") == "tool":
            return str(m.get("content", ""))
    raise LookupError("no tool result yet")


class ScriptedLLM(BaseLLM):
    """Replays ``steps`` one per model call; raises if the agent asks for more."""

    model: str = "scripted"
    steps: list[Any] = Field(default_factory=list)
    _cursor: int = PrivateAttr(default=0)

    def __init__(self, **data: Any) -> None:
        data.setdefault("model", "scripted")  # CrewAI refuses an LLM without a model name
        super().__init__(**data)

    def call(
        self,
        messages: Any,
        tools: Any = None,
        callbacks: Any = None,
        available_functions: Any = None,
        from_task: Any = None,
        from_agent: Any = None,
        response_model: Any = None,
    ) -> Any:
        if self._cursor >= len(self.steps):
            raise RuntimeError(f"script exhausted after {len(self.steps)} model calls")
        step = self.steps[self._cursor]
        self._cursor += 1
        return step(messages) if callable(step) else step

    def get_input_tokens_count(
        self, messages: Any, tools: Any = None, response_model: Any = None
    ) -> int:
        """A rough count, without the base class's warning about it being rough."""
        return len(str(messages)) // 4

    def supports_function_calling(self) -> bool:
        return True

    def get_context_window_size(self) -> int:
        return 128_000


__all__ = ["ScriptedLLM", "last_tool_result", "tool_call"]
