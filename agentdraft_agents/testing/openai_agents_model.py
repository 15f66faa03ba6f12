"""A scripted ``agents.Model`` for the OpenAI Agents SDK: its real ``Runner`` loop, offline.

Pass the instance as ``Agent(model=ScriptedModel([...]))`` (a model *name* would
mean OpenAI) and run with ``RunConfig(tracing_disabled=True)``: tracing is on by
default and would try to export. Steps are :mod:`.script` turns.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

from agents import Model, ModelResponse, Usage
from openai.types.responses import (
    ResponseFunctionToolCall,
    ResponseOutputMessage,
    ResponseOutputText,
)

from .script import Call, Script, Step


def last_tool_text(items: str | list[Any]) -> str | None:
    """The output of the most recent ``function_call_output`` input item, if any."""
    if isinstance(items, str):
        return None
    for item in reversed(items):
        data = item if isinstance(item, dict) else getattr(item, "__dict__", {})
        if data.get("type") == "function_call_output":
            out = data.get("output")
            return out if isinstance(out, str) else json.dumps(out)
    return None


class ScriptedModel(Model):
    """Answers each ``get_response`` with the next scripted turn."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.script = Script(steps)

    async def get_response(
        self, system_instructions: Any, input: Any, *args: Any, **kwargs: Any
    ) -> ModelResponse:
        turn = self.script.next(last_tool_text(input))
        if isinstance(turn, Call):
            out: Any = ResponseFunctionToolCall(
                type="function_call",
                call_id=turn.id,
                name=turn.name,
                arguments=json.dumps(turn.args),
            )
        else:
            out = ResponseOutputMessage(
                id="msg_scripted",
                type="message",
                role="assistant",
                status="completed",
                content=[ResponseOutputText(type="output_text", text=turn, annotations=[])],
            )
        return ModelResponse(output=[out], usage=Usage(), response_id=None)

    def stream_response(self, *args: Any, **kwargs: Any) -> AsyncIterator[Any]:
        raise NotImplementedError("the scripted model answers Runner.run, not streaming")


__all__ = ["ScriptedModel", "last_tool_text"]
