"""A scripted LlamaIndex LLM: a real ``FunctionAgent`` loop, offline.

LlamaIndex ships ``MockFunctionCallingLLM``; its response generator here plays
:mod:`.script` turns, reading the last tool message the model was sent, and
answers tool calls as ``ToolCallBlock``s the agent dispatches itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ToolCallBlock
from llama_index.core.llms.mock import MockFunctionCallingLLM
from pydantic import PrivateAttr

from .script import Call, Script, Step


def last_tool_text(messages: Sequence[ChatMessage]) -> str | None:
    """The content of the most recent tool message, if any."""
    for m in reversed(messages):
        if m.role == MessageRole.TOOL:
            return str(m.content)
    return None


class ScriptedLLM(MockFunctionCallingLLM):
    """Answers each chat call with the next scripted turn."""

    _script: Script = PrivateAttr()

    def __init__(self, steps: Sequence[Step], **kwargs: Any) -> None:
        super().__init__(response_generator=self._respond, is_chat_model=True, **kwargs)
        self._script = Script(steps)

    @property
    def script(self) -> Script:
        return self._script

    def _respond(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatMessage:
        turn = self._script.next(last_tool_text(messages))
        if isinstance(turn, Call):
            block: Any = ToolCallBlock(
                tool_call_id=turn.id, tool_name=turn.name, tool_kwargs=turn.args
            )
        else:
            block = TextBlock(text=turn)
        return ChatMessage(role=MessageRole.ASSISTANT, blocks=[block])


__all__ = ["ScriptedLLM", "last_tool_text"]
