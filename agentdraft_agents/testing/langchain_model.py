"""A scripted LangChain chat model that drives ``create_agent`` through real tool calls.

None of langchain-core's fake chat models implements ``bind_tools``, which every
agent calls; this one records the tools and replays a script. Each step is an
``AIMessage`` or a function of the conversation so far returning one, so a step
can react to what the previous tool answered.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field, PrivateAttr

Step = AIMessage | Callable[[list[BaseMessage]], AIMessage]
_ids = itertools.count(1)


def tool_call(name: str, **args: Any) -> AIMessage:
    """An assistant turn that calls one tool, as a real model's would look."""
    return AIMessage(
        content="",
        tool_calls=[{"name": name, "args": args, "id": f"call_{next(_ids)}", "type": "tool_call"}],
    )


def reply(text: str) -> AIMessage:
    """A final assistant answer (no tool call): the agent loop stops here."""
    return AIMessage(content=text)


def last_tool_message(messages: Sequence[BaseMessage]) -> ToolMessage:
    """The most recent tool result in the conversation."""
    for m in reversed(messages):
        if isinstance(m, ToolMessage):
            return m
    raise LookupError("no tool result yet")


class ScriptedChatModel(BaseChatModel):
    """Replays ``steps`` one per model call; raises if the agent asks for more."""

    steps: list[Any] = Field(default_factory=list)
    bound_tools: list[str] = Field(default_factory=list)
    _cursor: int = PrivateAttr(default=0)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Sequence[Any], **_: Any) -> ScriptedChatModel:
        """Record the tool names the agent offers; the script already knows what to call."""
        self.bound_tools = [
            str(getattr(t, "name", None) or getattr(t, "__name__", t)) for t in tools
        ]
        return self

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._cursor >= len(self.steps):
            raise RuntimeError(f"script exhausted after {len(self.steps)} model calls")
        step: Step = self.steps[self._cursor]
        self._cursor += 1
        message = step(messages) if callable(step) else step
        return ChatResult(generations=[ChatGeneration(message=message)])


__all__ = ["ScriptedChatModel", "last_tool_message", "reply", "tool_call"]
