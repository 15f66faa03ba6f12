"""Turn a 409 into a counter-offer and wait for the answer (LangGraph).

The agent commits the slot it wants (``commit_wanted``). If another agent holds it,
the 409 names the winning booking; ``offer_counter`` offers that booking's agent up to
five other times (the caller's ``offer``, else the open slots of the same length the
lost race came with) and a note. ``await_answer`` then polls the counter through the
client, at most ``max_polls`` times ``poll_seconds`` apart (the coordinator has no push
to agents; a webhook receiver could wake it instead). If the winner's agent accepts,
its booking moves and the wanted slot is free: ``commit_freed`` books it (it can still
lose to a third agent that was faster, and says so). Ends in ``booked``,
``counter_rejected``, ``awaiting_answer`` (still pending after the bound; the state
keeps ``counter_id`` to read later), ``lost_after_accept``, ``no_alternatives`` or
``failed``.

State is plain JSON (checkpointable); the client and the bounds come in the runtime
context (:class:`CounterContext`), never in state.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from ..core import BookingService
from ..counter_specs import MAX_PROPOSED, CounterCalls
from ..results import Booked, CounterState, Failed, Lost
from .state import SlotText

CounterOutcome = Literal[
    "booked",
    "counter_rejected",
    "awaiting_answer",
    "lost_after_accept",
    "no_alternatives",
    "failed",
]


class CounterOfferState(TypedDict, total=False):
    """Caller sets ``wanted`` (and optionally ``offer``, ``note``, ``title``); the graph
    writes the rest."""

    wanted: SlotText
    #: Times to offer the winner's agent (1-5); default: the lost race's open slots.
    offer: list[SlotText]
    note: str
    title: str
    outcome: CounterOutcome
    detail: str
    booking_id: str
    winning_booking_id: str
    winning_agent_id: str
    counter_id: str
    #: The counter's status as last read (pending, accepted, rejected, superseded).
    counter_status: str
    polls: int


@dataclass(frozen=True)
class CounterContext:
    """The agent's service and the polling bound; ``on_offer`` sees each counter sent
    (for code that wants to wake the other side, or log it)."""

    service: BookingService
    poll_seconds: float = 1.0
    max_polls: int = 60
    on_offer: Callable[[CounterState], None] | None = field(default=None, compare=False)

    @classmethod
    def for_client(cls, client: Any, **options: Any) -> CounterContext:
        return cls(service=BookingService(client, alternatives=MAX_PROPOSED), **options)


def _commit(ctx: CounterContext, state: CounterOfferState) -> Booked | Lost | Failed:
    wanted = state["wanted"]
    options = {"title": state["title"]} if state.get("title") else {}
    return ctx.service.commit(wanted["start"], wanted["end"], **options)


def commit_wanted(state: CounterOfferState, runtime: Runtime[CounterContext]) -> dict[str, Any]:
    """Commit the wanted slot; a lost race keeps who won and what is open nearby."""
    if not state.get("wanted"):
        raise ValueError("state['wanted'] is required: {'start': ISO text, 'end': ISO text}")
    result = _commit(runtime.context, state)
    if isinstance(result, Booked):
        return {"outcome": "booked", "booking_id": result.booking_id, "detail": result.text()}
    if isinstance(result, Failed) or not result.winning_booking_id:
        return {"outcome": "failed", "detail": result.text()}
    offer = state.get("offer") or [
        {"start": s.start.isoformat(), "end": s.end.isoformat()}
        for s in result.alternatives[:MAX_PROPOSED]
    ]
    return {
        "winning_booking_id": result.winning_booking_id,
        "winning_agent_id": result.winning_agent_id or "",
        "offer": offer,
        "detail": result.text(),
    }


def offer_counter(state: CounterOfferState, runtime: Runtime[CounterContext]) -> dict[str, Any]:
    """Offer the winner's agent the other times (nothing is booked for us by this)."""
    offer = state.get("offer") or []
    if not offer:
        return {"outcome": "no_alternatives", "detail": "no other time to offer"}
    ctx = runtime.context
    sent = CounterCalls(ctx.service).offer(
        state["winning_booking_id"], list(offer), state.get("note")
    )
    if isinstance(sent, Failed):
        return {"outcome": "failed", "detail": sent.text()}
    if ctx.on_offer is not None:
        ctx.on_offer(sent)
    return {"counter_id": sent.counter_id, "counter_status": sent.status, "detail": sent.text()}


def await_answer(state: CounterOfferState, runtime: Runtime[CounterContext]) -> dict[str, Any]:
    """Read the counter until it is answered, at most ``max_polls`` times."""
    ctx = runtime.context
    calls = CounterCalls(ctx.service)
    polls = state.get("polls", 0)
    read: CounterState | Any = None
    for n in range(ctx.max_polls):
        read = calls.list(state["winning_booking_id"], state["counter_id"])
        polls += 1
        if not isinstance(read, CounterState) or read.status != "pending":
            break
        if n + 1 < ctx.max_polls:
            time.sleep(ctx.poll_seconds)  # polling the coordinator, bounded by max_polls
    if not isinstance(read, CounterState):
        detail = read.text() if read is not None else "max_polls is 0: the counter was not read"
        return {"outcome": "failed" if read is not None else "awaiting_answer", "detail": detail}
    update: dict[str, Any] = {"counter_status": read.status, "polls": polls, "detail": read.text()}
    if read.status == "pending":
        return {**update, "outcome": "awaiting_answer"}
    if read.status != "accepted":
        return {**update, "outcome": "counter_rejected"}
    return update


def commit_freed(state: CounterOfferState, runtime: Runtime[CounterContext]) -> dict[str, Any]:
    """The winner moved: book the slot we wanted before someone else does."""
    result = _commit(runtime.context, state)
    if isinstance(result, Booked):
        return {"outcome": "booked", "booking_id": result.booking_id, "detail": result.text()}
    if isinstance(result, Lost):
        return {"outcome": "lost_after_accept", "detail": result.text()}
    return {"outcome": "failed", "detail": result.text()}


def route_counter_step(state: CounterOfferState) -> Literal["next", "done"]:
    """Go on while no outcome is set; stop at the first one."""
    return "done" if state.get("outcome") else "next"


def build_counter_offer_graph() -> StateGraph[
    CounterOfferState, CounterContext, CounterOfferState, CounterOfferState
]:
    """Nodes: ``commit_wanted`` → ``offer_counter`` → ``await_answer`` → ``commit_freed``,
    each ending the run as soon as it sets an outcome. Uncompiled."""
    g = StateGraph(CounterOfferState, context_schema=CounterContext)
    g.add_node("commit_wanted", commit_wanted)
    g.add_node("offer_counter", offer_counter)
    g.add_node("await_answer", await_answer)
    g.add_node("commit_freed", commit_freed)
    g.add_edge(START, "commit_wanted")
    for node, after in (
        ("commit_wanted", "offer_counter"),
        ("offer_counter", "await_answer"),
        ("await_answer", "commit_freed"),
    ):
        g.add_conditional_edges(node, route_counter_step, {"next": after, "done": END})
    g.add_edge("commit_freed", END)
    return g


def compile_counter_offer(
    *, checkpointer: Checkpointer = None, name: str = "counter_offer", **options: Any
) -> CompiledStateGraph[CounterOfferState, CounterContext, CounterOfferState, CounterOfferState]:
    """The counter-offer graph compiled (works as a subgraph too)."""
    return build_counter_offer_graph().compile(checkpointer=checkpointer, name=name, **options)


__all__ = [
    "CounterContext",
    "CounterOfferState",
    "CounterOutcome",
    "await_answer",
    "build_counter_offer_graph",
    "commit_freed",
    "commit_wanted",
    "compile_counter_offer",
    "offer_counter",
    "route_counter_step",
]
