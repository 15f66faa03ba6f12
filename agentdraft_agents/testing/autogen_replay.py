"""AutoGen's replay model client, made able to react to the last tool result.

``ReplayChatCompletionClient`` replays a fixed list; here an entry may also be a
function of the conversation so far, so a scripted agent can, for example, book
the slot a lost race offered. Tool-call turns are built with :func:`tool_call`.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from typing import Any

from autogen_core import FunctionCall
from autogen_core.models import (
    CreateResult,
    FunctionExecutionResultMessage,
    LLMMessage,
    ModelFamily,
    ModelInfo,
    RequestUsage,
)
from autogen_ext.models.replay import ReplayChatCompletionClient

#: The replay client's default says ``function_calling=False`` and tools are refused.
TOOL_CALLING = ModelInfo(
    vision=False,
    function_calling=True,
    json_output=False,
    family=ModelFamily.UNKNOWN,
    structured_output=False,
)
_ids = itertools.count(1)


def tool_call(name: str, **args: Any) -> CreateResult:
    """A model turn that calls one tool."""
    return CreateResult(
        finish_reason="function_calls",
        content=[FunctionCall(id=f"call_{next(_ids)}", name=name, arguments=json.dumps(args))],
        usage=RequestUsage(prompt_tokens=0, completion_tokens=0),
        cached=False,
    )


def last_tool_result(messages: Sequence[LLMMessage]) -> tuple[str, bool]:
    """``(text, is_error)`` of the most recent tool result the model was shown."""
    for m in reversed(messages):
        if isinstance(m, FunctionExecutionResultMessage):
            r = m.content[-1]
            return r.content, bool(r.is_error)
    raise LookupError("no tool result yet")


class ReactiveReplayClient(ReplayChatCompletionClient):
    """A replay client whose entries may be functions of the messages so far."""

    def __init__(self, chat_completions: Sequence[Any], model_info: ModelInfo = TOOL_CALLING):
        super().__init__(chat_completions, model_info=model_info)

    async def create(self, messages: Sequence[LLMMessage], **kwargs: Any) -> CreateResult:
        i = self._current_index
        step: Any = self.chat_completions[i] if i < len(self.chat_completions) else None
        if callable(step):
            self.chat_completions[i] = step(list(messages))
        return await super().create(messages, **kwargs)

    def _tokenize(self, messages: Any) -> tuple[list[str], int]:
        """Count tool calls and results as their text (the base class logs a warning each)."""
        if isinstance(messages, str):
            tokens = messages.split()
        elif hasattr(messages, "content"):
            tokens = str(messages.content).split()
        else:
            tokens = [t for m in messages for t in self._tokenize(m)[0]]
        return tokens, len(tokens)


__all__ = ["TOOL_CALLING", "ReactiveReplayClient", "last_tool_result", "tool_call"]
