"""A scripted PydanticAI model: its real agent loop, offline, through ``FunctionModel``.

``ScriptedModel(steps)`` is a ``FunctionModel`` whose function plays :mod:`.script`
turns, reading the last ``ToolReturnPart`` (or retry prompt) the model was sent.
Set ``pydantic_ai.models.ALLOW_MODEL_REQUESTS = False`` in tests so a stray real
model fails instead of calling out.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryPromptPart,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from .script import Call, Script, Step


def last_tool_text(messages: Sequence[ModelMessage]) -> str | None:
    """The content of the most recent tool return (or retry prompt) sent to the model."""
    for message in reversed(messages):
        if not isinstance(message, ModelRequest):
            continue
        for part in reversed(message.parts):
            if isinstance(part, ToolReturnPart):
                return part.model_response_str()
            if isinstance(part, RetryPromptPart):
                return part.model_response()
    return None


class ScriptedModel(FunctionModel):
    """A ``FunctionModel`` that answers each request with the next scripted turn."""

    def __init__(self, steps: Sequence[Step]) -> None:
        self.script = Script(steps)
        super().__init__(self._respond, model_name="scripted")

    def _respond(self, messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        turn = self.script.next(last_tool_text(messages))
        if isinstance(turn, Call):
            part = ToolCallPart(turn.name, json.dumps(turn.args), tool_call_id=turn.id)
            return ModelResponse(parts=[part])
        return ModelResponse(parts=[TextPart(turn)])


__all__ = ["ScriptedModel", "last_tool_text"]
