"""A scripted Google ADK model: a real ``LlmAgent`` + ``Runner`` loop, offline, no API key.

``ScriptedLlm`` is a ``BaseLlm`` (a pydantic model) whose
``generate_content_async`` plays :mod:`.script` turns, reading the last function
response in the request; pass the instance as ``LlmAgent(model=…)``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

from google.adk.models import BaseLlm, LlmRequest, LlmResponse
from google.genai import types
from pydantic import PrivateAttr

from .script import Call, Script, Step


def last_tool_text(request: LlmRequest) -> str | None:
    """The ``result`` of the most recent function response the model was sent."""
    for content in reversed(request.contents or []):
        for part in reversed(content.parts or []):
            if part.function_response is not None:
                response = part.function_response.response or {}
                return str(response.get("result", response))
    return None


class ScriptedLlm(BaseLlm):
    """Answers each model call with the next scripted turn."""

    model: str = "scripted"
    _script: Script = PrivateAttr()

    def __init__(self, steps: Sequence[Step], **data: Any) -> None:
        super().__init__(**data)
        self._script = Script(steps)

    @property
    def script(self) -> Script:
        return self._script

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        turn = self._script.next(last_tool_text(llm_request))
        if isinstance(turn, Call):
            call = types.FunctionCall(id=turn.id, name=turn.name, args=turn.args)
            part = types.Part(function_call=call)
        else:
            part = types.Part(text=turn)
        yield LlmResponse(content=types.Content(role="model", parts=[part]))


__all__ = ["ScriptedLlm", "last_tool_text"]
