"""Human in the loop: a commit the owner's approval gate parked waits for a person.

When the owner's ``require_approval`` rule applies, a commit answers
``consent_required``: the slot is parked as a hold and a person approves or denies
the request on the owner's side (``coord.approvals.approve(id)`` / ``deny(id)``, or
the dashboard). :func:`await_consent` pauses the graph with :func:`interrupt`
(payload: ``consent_request_id``, ``hold_id``, ``expires_at``, ``slot``), which
needs a checkpointer. Resume with ``Command(resume=...)`` once a person acted; the
value is not trusted: the node reads the decision from the coordinator
(``client.approvals.get``) and ends ``booked`` (approved and committed), ``lost``
(approved, but a better booking took the slot meanwhile), ``denied`` (the hold was
released) or ``expired``. Resumed while still pending, it pauses again.

The same node pauses book-or-negotiate (:mod:`.book_or_negotiate`), which reuses it;
the standalone graph here commits one slot and waits.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Checkpointer, interrupt

from .commit import commit_slot, route_booking_step
from .context import NegotiationContext
from .state import Attempt, BookingSteps, ConsentRequest, ConsentState, to_slot

#: How the router's labels map to nodes in the standalone graph: it never negotiates.
CONSENT_PATHS: dict[Hashable, str] = {"consent": "await_consent", "retry": END, "done": END}


def consent_payload(consent: ConsentRequest, state: BookingSteps) -> dict[str, Any]:
    """What an interrupt hands the person's side: enough to find and decide the request."""
    return {
        "kind": "consent_required",
        "consent_request_id": consent["consent_request_id"],
        "hold_id": consent["hold_id"],
        "expires_at": consent["expires_at"],
        "slot": consent["slot"],
        "title": state.get("title"),
        "message": (
            f"A person must approve booking {consent['slot']['start']} to "
            f"{consent['slot']['end']} (request {consent['consent_request_id']}); the slot "
            "is held until then. Approve or deny it on the owner's side, then resume "
            "this graph with Command(resume=...)."
        ),
    }


def request_commit(state: ConsentState, runtime: Runtime[NegotiationContext]) -> dict[str, Any]:
    """Commit ``state['slot']`` once; a gated commit goes on to :func:`await_consent`."""
    slot = state.get("slot")
    if slot is None:
        raise ValueError("state['slot'] is required: {'start': ISO text, 'end': ISO text}")
    to_slot(slot, "slot")
    return commit_slot(runtime.context, slot, state)


def await_consent(state: BookingSteps, runtime: Runtime[NegotiationContext]) -> dict[str, Any]:
    """Pause until resumed, then record what the person decided, as the coordinator says."""
    consent = state.get("consent")
    if not consent:
        raise ValueError(
            "await_consent runs after a commit answered consent_required; state['consent'] is empty"
        )
    interrupt(consent_payload(consent, state))
    return settle_consent(runtime.context, consent, state)


def settle_consent(
    ctx: NegotiationContext, consent: ConsentRequest, state: BookingSteps
) -> dict[str, Any]:
    """The state update for the request's status as the coordinator reports it now."""
    client = ctx.service.client
    a = client.approvals.get(consent["consent_request_id"])
    status = a.get("status")
    if status == "pending":
        return {
            "consent": {**consent, "status": "pending"},
            "outcome": "awaiting_consent",
            "detail": f"{consent['consent_request_id']} is still pending",
        }
    attempt: Attempt = {
        "round": len(state.get("attempts") or []) + 1,
        "slot": consent["slot"],
        "chosen_by": state.get("chosen_by") or "requested",
        "choice_reason": state.get("choice_reason") or "",
        "consent_request_id": consent["consent_request_id"],
    }
    settled: ConsentRequest = {**consent, "status": status}  # type: ignore[typeddict-item]
    update: dict[str, Any] = {"consent": settled}
    if status == "approved" and a.get("outcome") == "committed":
        booking_id = a.get("booking_id")
        attempt.update(
            {
                "result": "booked",
                "booking_id": booking_id,
                "reason": None,
                "detail": "approved by a person and committed",
            }
        )
        return {
            **update,
            "attempts": [attempt],
            "outcome": "booked",
            "booking_id": booking_id,
            "booked": consent["slot"],
            "detail": f"approved and booked {consent['slot']['start']} as {booking_id}",
        }
    if status == "approved" and a.get("outcome") == "conflict":
        attempt.update(
            {
                "result": "lost",
                "reason": "outranked",
                "winning_booking_id": a.get("winning_booking_id"),
                "detail": "approved, but a better booking took the slot meanwhile",
            }
        )
        attempt.update(_winner(client, a.get("winning_booking_id")))
        return {**update, "attempts": [attempt], "outcome": "lost", "detail": attempt["detail"]}
    if status in ("denied", "expired"):
        note = f": {a['note']}" if a.get("note") else ""
        detail = (
            f"a person denied {consent['consent_request_id']}{note}"
            if status == "denied"
            else f"nobody decided {consent['consent_request_id']} in time"
        )
        attempt.update({"result": status, "reason": status, "detail": detail})
        return {
            **update,
            "attempts": [attempt],
            "outcome": status,
            "detail": detail + "; the parked hold was released",
        }
    attempt.update(
        {
            "result": "failed",
            "reason": str(status),
            "detail": f"unexpected approval state {status!r} / {a.get('outcome')!r}",
        }
    )
    return {**update, "attempts": [attempt], "outcome": "failed", "detail": attempt["detail"]}


def _winner(client: Any, booking_id: str | None) -> Attempt:
    """Who holds the slot, where the client can read bookings (the official SDK cannot)."""
    get = getattr(getattr(client, "bookings", None), "get", None)
    if not booking_id or get is None:
        return {}
    try:
        b = get(booking_id)
    except Exception as exc:  # a missing scope or a deleted booking: the id is still known
        if not isinstance(getattr(exc, "status", None), int):
            raise
        return {}
    return {
        "winning_agent_id": getattr(b, "agent_id", None),
        "winning_agent_priority": getattr(b, "priority", None),
    }


def build_consent_graph() -> StateGraph[
    ConsentState, NegotiationContext, ConsentState, ConsentState
]:
    """Commit one slot; if a person must approve, pause until they did. Uncompiled.

    Nodes: ``request_commit`` → ``await_consent`` (looped while still pending).
    """
    g = StateGraph(ConsentState, context_schema=NegotiationContext)
    g.add_node("request_commit", request_commit)
    g.add_node("await_consent", await_consent)
    g.add_edge(START, "request_commit")
    g.add_conditional_edges("request_commit", route_booking_step, CONSENT_PATHS)
    g.add_conditional_edges("await_consent", route_booking_step, CONSENT_PATHS)
    return g


def compile_consent_graph(
    *, checkpointer: Checkpointer = None, name: str = "book_with_consent", **options: Any
) -> CompiledStateGraph[ConsentState, NegotiationContext, ConsentState, ConsentState]:
    """The consent graph compiled; resuming after the pause needs a checkpointer, here or
    in a parent graph (without one the run stops with outcome ``awaiting_consent``)."""
    return build_consent_graph().compile(checkpointer=checkpointer, name=name, **options)


__all__ = [
    "CONSENT_PATHS",
    "await_consent",
    "build_consent_graph",
    "compile_consent_graph",
    "consent_payload",
    "request_commit",
    "settle_consent",
]
