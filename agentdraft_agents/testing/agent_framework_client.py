"""A scripted chat client for the Microsoft Agent Framework: its real agent loop, offline.

The client stacks the framework's own layers (function invocation, chat middleware,
telemetry) over ``BaseChatClient``; a bare ``BaseChatClient`` would never run tools.
Only ``_inner_get_response`` is scripted: it plays :mod:`.script` turns, reading the
last function result the model was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agent_framework import (
    BaseChatClient,
    ChatMiddlewareLayer,
    ChatResponse,
    Content,
    FunctionInvocationLayer,
    Message,
)
from agent_framework.observability import ChatTelemetryLayer

from .script import Call, Script, Step


def last_tool_text(messages: Sequence[Message]) -> str | None:
    """The most recent function result's text (or rejection) in the conversation."""
    for message in reversed(messages):
        for content in reversed(message.contents):
            if content.type == "function_result":
                return str(content.result)
    return None


class ScriptedChatClient(
    FunctionInvocationLayer[Any],
    ChatMiddlewareLayer[Any],
    ChatTelemetryLayer[Any],
    BaseChatClient[Any],
):
    """Answers each model call with the next scripted turn."""

    def __init__(self, steps: Sequence[Step], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = Script(steps)

    async def _inner_get_response(  # type: ignore[override]
        self, *, messages: Sequence[Message], stream: bool, options: Any, **kwargs: Any
    ) -> ChatResponse:
        turn = self.script.next(last_tool_text(messages))
        if isinstance(turn, Call):
            content = Content.from_function_call(turn.id, turn.name, arguments=turn.args)
        else:
            content = Content.from_text(turn)
        return ChatResponse(messages=[Message(role="assistant", contents=[content])])


__all__ = ["ScriptedChatClient", "last_tool_text"]
