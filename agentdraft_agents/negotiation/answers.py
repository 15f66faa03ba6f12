"""How a participant answers a proposal: deterministic rules, or a chat model, checked.

A policy sees the proposal (its slots with ids and weights, who else answered) and
answers with an :class:`Answer`: ``accept`` one slot, ``decline``, or ``counter``
with slots of its own. Every answer goes through :func:`check_answer` before it is
sent, so neither a custom policy nor a model can accept a slot the proposal does
not have. Framework-free except :class:`ChatModelAnswerPolicy`, which imports
LangChain when it is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from coordinator.proposals import Proposal, ProposalSlot

Kind = Literal["accept", "decline", "counter"]


@dataclass(frozen=True)
class Window:
    """A stretch of time a participant can make; a slot fits if it lies inside."""

    start: datetime
    end: datetime

    def fits(self, start: datetime, end: datetime) -> bool:
        return self.start <= start and end <= self.end


@dataclass(frozen=True)
class Answer:
    """What a participant says. ``counter_slots`` are ``(start, end)`` pairs."""

    response: Kind
    selected_slot_id: str | None = None
    counter_slots: tuple[tuple[datetime, datetime], ...] = ()
    message: str | None = None
    #: Who decided: the policy's name (``windows``, ``chat-model``...), for the record.
    decided_by: str = ""


class AnswerError(ValueError):
    """A policy produced an answer the proposal cannot take (nothing was sent)."""


@runtime_checkable
class AnswerPolicy(Protocol):
    """Decides one participant's answer to one proposal."""

    def answer(self, proposal: Proposal, agent_id: str) -> Answer: ...


def check_answer(proposal: Proposal, answer: Answer) -> Answer:
    """The answer if the proposal can take it, else :class:`AnswerError`."""
    ids = [s.id for s in proposal.slots]
    if answer.response not in ("accept", "decline", "counter"):
        raise AnswerError(f"response must be accept, decline or counter, not {answer.response!r}")
    if answer.response == "accept" and answer.selected_slot_id is None:
        raise AnswerError("an accept must name one of the slots " + ", ".join(ids))
    if answer.selected_slot_id is not None and answer.selected_slot_id not in ids:
        raise AnswerError(
            f"{answer.selected_slot_id!r} is not a slot of this proposal "
            f"(its slots: {', '.join(ids)})"
        )
    if answer.response != "counter" and answer.counter_slots:
        raise AnswerError("only a counter carries counter slots")
    if len(answer.counter_slots) > 20:
        raise AnswerError("at most 20 counter slots")
    for s, e in answer.counter_slots:
        if e <= s:
            raise AnswerError(f"counter slot ends before it starts: {s} to {e}")
    return answer


def _best(slots: Sequence[ProposalSlot]) -> ProposalSlot:
    """The organizer's favourite: highest weight, then earliest (the resolver's tie rule)."""
    return min(slots, key=lambda s: (-s.weight, s.start_time))


@dataclass(frozen=True)
class WindowPolicy:
    """Accept the organizer's favourite slot inside one of ``windows``; otherwise
    counter with ``suggest`` (if any) or decline. Deterministic, so runs replay."""

    windows: tuple[Window, ...]
    suggest: tuple[tuple[datetime, datetime], ...] = ()
    name: str = "windows"

    def answer(self, proposal: Proposal, agent_id: str) -> Answer:
        fits = [
            s for s in proposal.slots if any(w.fits(s.start_time, s.end_time) for w in self.windows)
        ]
        if fits:
            best = _best(fits)
            return Answer("accept", best.id, message="fits my window", decided_by=self.name)
        if self.suggest:
            return Answer(
                "counter",
                counter_slots=self.suggest,
                message="none of these fit; these would",
                decided_by=self.name,
            )
        return Answer("decline", message="none of these fit", decided_by=self.name)


@dataclass(frozen=True)
class AcceptBestPolicy:
    """Always accept the organizer's favourite slot (a participant with no constraints)."""

    name: str = "accept-best"

    def answer(self, proposal: Proposal, agent_id: str) -> Answer:
        return Answer("accept", _best(proposal.slots).id, decided_by=self.name)


SYSTEM = (
    "You answer a meeting proposal for your user. Each offered slot has an id. Call "
    "accept_slot with the id of the one slot that suits your user best, or decline if "
    "none can work, or counter with up to 20 alternative times (ISO 8601 with offset) "
    "and a short message. Only the listed slot ids can be accepted."
)


def render_proposal(proposal: Proposal, agent_id: str, notes: str = "") -> str:
    """The user turn a model reads: the proposal's slots with ids, weights and answers."""
    lines = [
        f"Proposal {proposal.id}: {proposal.title or '(untitled)'}",
        f"You answer as agent {agent_id}.",
    ]
    if notes:
        lines.append(f"About your user: {notes}")
    lines.append("Slots (id, start, end, organizer's weight):")
    lines += [
        f"- {s.id}: {s.start_time.isoformat()} to {s.end_time.isoformat()} (weight {s.weight:g})"
        for s in proposal.slots
    ]
    for r in proposal.responses:
        lines.append(
            f"Agent {r.agent_id} answered {r.response}"
            + (f" {r.selected_slot_id}" if r.selected_slot_id else "")
        )
    return "\n".join(lines)


@dataclass
class ChatModelAnswerPolicy:
    """A chat model answers through one of three tools; a wrong answer is sent back once
    for correction, then ``fallback`` decides (or :class:`AnswerError` is raised).

    ``model`` is any LangChain ``BaseChatModel`` with ``bind_tools``: the repo's scripted
    model offline, ``init_chat_model("openai:gpt-4o-mini")`` with a key.
    """

    model: Any
    notes: str = ""
    retries: int = 1
    fallback: AnswerPolicy | None = None
    name: str = "chat-model"
    #: The model's tool calls, oldest first (what it was asked is rebuilt from them).
    transcript: list[dict[str, Any]] = field(default_factory=list)

    def answer(self, proposal: Proposal, agent_id: str) -> Answer:
        from langchain_core.messages import HumanMessage, SystemMessage, ToolMessage
        from pydantic import BaseModel, ConfigDict, Field

        class AcceptSlot(BaseModel):
            """Accept one of the proposal's slots, by id."""

            model_config = ConfigDict(title="accept_slot")
            slot_id: str = Field(description="The id of the slot, e.g. slt_…")
            reason: str = ""

        class Decline(BaseModel):
            """None of the slots can work."""

            model_config = ConfigDict(title="decline")
            reason: str = ""

        class Counter(BaseModel):
            """None of the slots work; suggest others (informational for the organizer)."""

            model_config = ConfigDict(title="counter")
            slots: list[dict[str, str]] = Field(
                default_factory=list, description="[{start, end}] ISO 8601 with offset"
            )
            message: str = ""

        bound = self.model.bind_tools([AcceptSlot, Decline, Counter])
        messages: list[Any] = [
            SystemMessage(SYSTEM),
            HumanMessage(render_proposal(proposal, agent_id, self.notes)),
        ]
        problem = "the model answered without calling a tool"
        for _ in range(self.retries + 1):
            reply = bound.invoke(messages)
            messages.append(reply)
            calls = getattr(reply, "tool_calls", None) or []
            if not calls:
                problem = "the model answered in text instead of calling a tool"
                messages.append(HumanMessage("Call exactly one of the tools."))
                continue
            call = calls[0]
            self.transcript.append({"name": call["name"], "args": call["args"]})
            try:
                return check_answer(proposal, _from_call(call))
            except (AnswerError, ValueError, KeyError, TypeError) as exc:
                problem = str(exc)
                messages.append(
                    ToolMessage(
                        f"Error: {exc}. Try again.", tool_call_id=call["id"], status="error"
                    )
                )
        if self.fallback is not None:
            return self.fallback.answer(proposal, agent_id)
        raise AnswerError(f"no usable answer from the model: {problem}")


def _from_call(call: dict[str, Any]) -> Answer:
    from coordinator.buckets import parse_time

    name, args = call["name"], call.get("args") or {}
    if name == "accept_slot":
        return Answer(
            "accept",
            str(args["slot_id"]),
            message=args.get("reason") or None,
            decided_by="chat-model",
        )
    if name == "decline":
        return Answer("decline", message=args.get("reason") or None, decided_by="chat-model")
    if name == "counter":
        slots = tuple(
            (parse_time(s["start"], "start"), parse_time(s["end"], "end"))
            for s in args.get("slots") or []
        )
        return Answer(
            "counter",
            counter_slots=slots,
            message=args.get("message") or None,
            decided_by="chat-model",
        )
    raise AnswerError(f"unknown tool {name!r}")
