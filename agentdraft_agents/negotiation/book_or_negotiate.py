"""Book the wanted slot; if another agent or an owner rule says no, counter-propose, bounded.

::

    START → prepare → try_commit ─┬─ booked / failed ─────────────────→ END
                        ▲         ├─ consent required → await_consent ┐ (pauses)
                        │         └─ lost / refused ─→ counter_propose ┤
                        └──────────── next slot chosen ◄───────────────┘
                                      exhausted / no alternatives ─────→ END

``try_commit`` commits through the agent's ``BookingService``. A lost race (409,
with the winner) or an owner-rule refusal (422) goes to ``counter_propose``,
which searches open slots (availability is already filtered by the owner's rules)
inside the requester's :class:`~.constraints.Constraints`, asks the context's
policy to pick one, checks the pick was offered, and loops. After ``max_rounds``
commits it stops with ``exhausted``; with nothing to offer, ``no_alternatives``.
A commit the owner's approval gate parks pauses in ``await_consent`` (see
:mod:`.consent`; needs a checkpointer); approved-but-lost negotiates on, denied
and expired end there. Every commit that came to an end is in ``attempts``,
with who beat it.

Use :func:`compile_book_or_negotiate` directly, or add
:func:`build_book_or_negotiate_graph` compiled as a node of your own graph (its
interrupts surface at your graph). Pass the dependencies as context::

    graph = compile_book_or_negotiate(checkpointer=InMemorySaver())
    out = graph.invoke(negotiation_input("2031-03-03T10:00:00Z", "2031-03-03T10:30:00Z"),
                       {"configurable": {"thread_id": "t1"}},
                       context=NegotiationContext.for_client(client))
    out["outcome"], out["booking_id"], out["attempts"]

One negotiation per thread: ``attempts`` accumulates through its reducer.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer

from ..core import parse_time
from ..results import Failed
from .candidates import open_slots_near
from .commit import commit_slot, route_booking_step
from .consent import await_consent
from .constraints import Constraints
from .context import NegotiationContext
from .policies import ChoiceRequest, policy_name, validate_choice
from .state import Attempt, NegotiationState, slot_text, to_slot, winner_of

DEFAULT_MAX_ROUNDS = 3
#: A hard ceiling, so a typo cannot make an agent hammer the calendar.
MAX_ROUNDS_LIMIT = 20
#: How the commit router's labels map to nodes here: negotiate on a loss or refusal.
NEGOTIATION_PATHS: dict[Hashable, str] = {
    "consent": "await_consent",
    "retry": "counter_propose",
    "done": END,
}


AFTER_COUNTER_PATHS: dict[Hashable, str] = {"commit": "try_commit", "done": END}


def prepare(state: NegotiationState) -> dict[str, Any]:
    """Check the input and start round 1 on the wanted slot; bad input raises ValueError."""
    wanted = state.get("wanted")
    if wanted is None:
        raise ValueError("state['wanted'] is required: {'start': ISO text, 'end': ISO text}")
    to_slot(wanted, "wanted")
    rounds = state.get("max_rounds", DEFAULT_MAX_ROUNDS)
    if (
        isinstance(rounds, bool)
        or not isinstance(rounds, int)
        or not 1 <= rounds <= MAX_ROUNDS_LIMIT
    ):
        raise ValueError(
            f"max_rounds must be a whole number from 1 to {MAX_ROUNDS_LIMIT}, got {rounds!r}"
        )
    constraints = Constraints.model_validate(state.get("constraints") or {})
    return {
        "current": wanted,
        "max_rounds": rounds,
        "constraints": constraints.to_state(),
        "chosen_by": "requested",
        "choice_reason": "",
        "offers": [],
        "consent": None,
        "outcome": None,
        "detail": "",
    }


def try_commit(state: NegotiationState, runtime: Runtime[NegotiationContext]) -> dict[str, Any]:
    """Commit the current slot; the outcome says whether to stop, wait or counter-propose."""
    return commit_slot(
        runtime.context,
        state["current"],
        state,
        chosen_by=state.get("chosen_by") or "requested",
        choice_reason=state.get("choice_reason") or "",
    )


def counter_propose(
    state: NegotiationState, runtime: Runtime[NegotiationContext]
) -> dict[str, Any]:
    """Pick the next slot with the context's policy, or stop (exhausted / no alternatives)."""
    ctx = runtime.context
    attempts = state.get("attempts") or []
    if len(attempts) >= state.get("max_rounds", DEFAULT_MAX_ROUNDS):
        return {"outcome": "exhausted", "detail": exhausted_detail(attempts)}
    wanted = to_slot(state["wanted"], "wanted")
    constraints = Constraints.model_validate(state.get("constraints") or {})
    tried = {parse_time(a["slot"]["start"], "slot.start") for a in attempts if "slot" in a}
    offers = open_slots_near(
        ctx.service,
        wanted,
        constraints,
        exclude=tried,
        horizon=ctx.horizon,
        granularity_minutes=ctx.granularity_minutes,
        limit=ctx.max_offers,
    )
    if isinstance(offers, Failed):
        return {"outcome": "failed", "detail": f"availability: {offers.error}: {offers.message}"}
    offered = [slot_text(o) for o in offers]
    if not offers:
        return {
            "outcome": "no_alternatives",
            "offers": [],
            "detail": "no open slot within the owner's rules and the constraints "
            f"after {len(attempts)} attempt(s)",
        }
    request = ChoiceRequest(
        wanted=wanted,
        offers=tuple(offers),
        constraints=constraints,
        history=tuple(attempts),
        title=state.get("title"),
    )
    choice = ctx.policy.choose(request)
    name = policy_name(ctx.policy)
    if choice.slot is None:
        return {
            "outcome": "no_alternatives",
            "offers": offered,
            "detail": f"policy {name} took none of {len(offers)} offers: {choice.reason}",
        }
    chosen = validate_choice(request, choice.slot.start, choice.slot.end)
    return {
        "current": slot_text(chosen),
        "chosen_by": name,
        "choice_reason": choice.reason,
        "offers": offered,
        "outcome": None,
        "detail": "",
    }


def route_after_counter(state: NegotiationState) -> Literal["commit", "done"]:
    """Commit the slot the policy chose, unless the negotiation just ended."""
    return "done" if state.get("outcome") else "commit"


def exhausted_detail(attempts: list[Attempt]) -> str:
    """One sentence naming every attempt and who beat it."""
    parts = []
    for a in attempts:
        slot = a.get("slot") or {"start": "?", "end": "?"}
        why = a.get("result", "?")
        if a.get("winning_agent_id"):
            why += f" to {winner_of(a)}"
        elif a.get("reason"):
            why += f" ({a['reason']})"
        parts.append(f"{slot['start']} {why}")
    return f"no booking after {len(attempts)} round(s): " + "; ".join(parts)


def build_book_or_negotiate_graph() -> StateGraph[
    NegotiationState, NegotiationContext, NegotiationState, NegotiationState
]:
    """The book-or-negotiate graph, uncompiled (add nodes, or compile it as a subgraph)."""
    g = StateGraph(NegotiationState, context_schema=NegotiationContext)
    g.add_node("prepare", prepare)
    g.add_node("try_commit", try_commit)
    g.add_node("await_consent", await_consent)
    g.add_node("counter_propose", counter_propose)
    g.add_edge(START, "prepare")
    g.add_edge("prepare", "try_commit")
    g.add_conditional_edges("try_commit", route_booking_step, NEGOTIATION_PATHS)
    g.add_conditional_edges("await_consent", route_booking_step, NEGOTIATION_PATHS)
    g.add_conditional_edges("counter_propose", route_after_counter, AFTER_COUNTER_PATHS)
    return g


def compile_book_or_negotiate(
    *, checkpointer: Checkpointer = None, name: str = "book_or_negotiate", **options: Any
) -> CompiledStateGraph[NegotiationState, NegotiationContext, NegotiationState, NegotiationState]:
    """The graph compiled. Without a checkpointer (here or in a parent graph) a consent
    pause still stops the run (outcome ``awaiting_consent``) but it cannot be resumed."""
    return build_book_or_negotiate_graph().compile(checkpointer=checkpointer, name=name, **options)


__all__ = [
    "DEFAULT_MAX_ROUNDS",
    "MAX_ROUNDS_LIMIT",
    "NEGOTIATION_PATHS",
    "build_book_or_negotiate_graph",
    "compile_book_or_negotiate",
    "counter_propose",
    "exhausted_detail",
    "prepare",
    "route_after_counter",
    "try_commit",
]
