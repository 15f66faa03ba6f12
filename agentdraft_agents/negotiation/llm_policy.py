"""A policy that lets a chat model pick the next slot, and never trusts its answer blindly.

The model is shown the wanted slot, why it could not be booked, the requester's
constraints and the numbered offers, and must call one of two tools:
``choose_slot(start, end, reason)`` or ``decline_all(reason)``. An answer that is
not one of the offers (a slot it made up, a typo, plain text instead of a tool
call) is sent back once as a tool error so the model can correct itself; if it
still misses, the ``fallback`` policy decides, or :class:`~.policies.InvalidChoice`
is raised. Nothing is booked from an unchecked answer.

Works with any LangChain ``BaseChatModel`` that implements ``bind_tools``: the
repo's scripted model offline, ``init_chat_model("openai:gpt-4o-mini")`` for real.
"""

from __future__ import annotations

from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from pydantic import BaseModel, ConfigDict, Field

from ..results import iso
from .policies import Choice, ChoiceRequest, InvalidChoice, SlotPolicy, validate_choice
from .state import winner_of

SYSTEM = (
    "You schedule a meeting for your user on a shared calendar where other agents also "
    "book. The slot your user wanted could not be booked. Pick the best of the offered "
    "slots for your user by calling choose_slot with its start and end copied exactly, "
    "or call decline_all if none is acceptable. Only offered slots can be booked."
)


class ChooseSlot(BaseModel):
    """Book this one of the offered slots (start and end copied exactly from the offer)."""

    model_config = ConfigDict(title="choose_slot")

    start: str = Field(description="The offer's start, ISO 8601 with offset, as listed.")
    end: str = Field(description="The offer's end, ISO 8601 with offset, as listed.")
    reason: str = Field(default="", description="One sentence: why this slot.")


class DeclineAll(BaseModel):
    """None of the offered slots is acceptable; stop negotiating."""

    model_config = ConfigDict(title="decline_all")

    reason: str = Field(description="One sentence: why none fits.")


def render_request(request: ChoiceRequest) -> str:
    """The user turn a model reads: the wanted slot, what happened, limits, numbered offers.

    Offers are listed as ``N. start=… end=…`` lines, as the booking tools list them.
    """
    w = request.wanted
    lines = [
        f"Wanted: {iso(w.start)} to {iso(w.end)}"
        + (f" ({request.title})" if request.title else "")
        + "."
    ]
    for a in request.history:
        slot = a.get("slot") or {"start": "?", "end": "?"}
        who = ""
        if a.get("winning_agent_id"):
            who = f" to {winner_of(a)}"
        lines.append(
            f"Round {a.get('round')}: {slot.get('start')} to {slot.get('end')} -> "
            f"{a.get('result')}{who}" + (f" [{a['reason']}]" if a.get("reason") else "")
        )
    limits = request.constraints.describe()
    if limits:
        lines.append("The user's limits: " + "; ".join(limits) + ".")
    lines.append("Offered slots (all open and allowed):")
    lines += [f"{i}. {o.text()}" for i, o in enumerate(request.offers, 1)]
    return "\n".join(lines)


class ChatModelPolicy:
    """A :class:`~.policies.SlotPolicy` that asks ``model`` and checks the answer.

    ``retries`` is how many times a wrong answer is sent back for correction;
    ``fallback`` decides when the model still gets it wrong (None raises
    :class:`InvalidChoice`). ``tool_choice`` is passed to ``bind_tools`` ("any" makes
    most providers call a tool; None leaves it to the model).
    """

    name = "chat_model"

    def __init__(
        self,
        model: BaseChatModel,
        *,
        instructions: str = SYSTEM,
        retries: int = 1,
        fallback: SlotPolicy | None = None,
        tool_choice: str | None = "any",
    ) -> None:
        self.model = model
        self.instructions = instructions
        self.retries = retries
        self.fallback = fallback
        self.tool_choice = tool_choice

    def choose(self, request: ChoiceRequest) -> Choice:
        kw: dict[str, Any] = {} if self.tool_choice is None else {"tool_choice": self.tool_choice}
        bound = self.model.bind_tools([ChooseSlot, DeclineAll], **kw)
        messages: list[BaseMessage] = [
            SystemMessage(self.instructions),
            HumanMessage(render_request(request)),
        ]
        error: InvalidChoice | None = None
        for _ in range(self.retries + 1):
            answer = bound.invoke(messages)
            if not isinstance(answer, AIMessage):  # pragma: no cover - models return AIMessage
                answer = AIMessage(content=str(getattr(answer, "content", answer)))
            try:
                return self._read(answer, request)
            except InvalidChoice as exc:
                error = exc
                messages += [answer, *_correction(answer, exc)]
        assert error is not None
        if self.fallback is not None:
            chosen = self.fallback.choose(request)
            return Choice(
                chosen.slot, f"model answer rejected ({error}); fallback: {chosen.reason}"
            )
        raise error

    @staticmethod
    def _read(answer: AIMessage, request: ChoiceRequest) -> Choice:
        for call in answer.tool_calls:
            args = call.get("args") or {}
            if call["name"] == "decline_all":
                return Choice(None, str(args.get("reason") or "the model declined every offer"))
            if call["name"] == "choose_slot":
                slot = validate_choice(request, args.get("start", ""), args.get("end", ""))
                return Choice(slot, str(args.get("reason") or "chosen by the model"))
        text = answer.content if isinstance(answer.content, str) else str(answer.content)
        raise InvalidChoice(
            "the model did not call choose_slot or decline_all"
            + (f" (it said: {text[:200]!r})" if text else ""),
            answer=text,
            offers=request.offers,
        )


def _correction(answer: AIMessage, error: InvalidChoice) -> list[BaseMessage]:
    """Tell the model what was wrong, answering every tool call it made."""
    text = f"ERROR: {error} Call choose_slot with one offered slot, or decline_all."
    if answer.tool_calls:
        return [
            ToolMessage(content=text, tool_call_id=c["id"] or "", status="error")
            for c in answer.tool_calls
        ]
    return [HumanMessage(text)]


__all__ = ["SYSTEM", "ChatModelPolicy", "ChooseSlot", "DeclineAll", "render_request"]
