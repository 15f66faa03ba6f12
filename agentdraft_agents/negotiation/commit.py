"""One commit, turned into a state update every booking graph here understands.

Shared by the book-or-negotiate graph's ``try_commit`` and the consent graph's
``request_commit``: the commit goes through :class:`~agentdraft_agents.BookingService`
(so the embedded client and the official SDK behave the same), and its typed
result becomes an :class:`~.state.Attempt` plus an ``outcome`` saying what the
graph may do next: ``booked`` / ``failed`` (stop), ``lost`` / ``refused`` (a
negotiating graph counter-proposes), ``awaiting_consent`` (wait for a person).
"""

from __future__ import annotations

from typing import Any, Literal

from ..core import RULE_ERRORS
from ..results import Booked, Failed, Lost, agent, iso
from .context import NegotiationContext
from .state import Attempt, BookingSteps, ConsentRequest, SlotText


def commit_slot(
    ctx: NegotiationContext,
    slot: SlotText,
    state: BookingSteps,
    *,
    chosen_by: str = "requested",
    choice_reason: str = "",
) -> dict[str, Any]:
    """Commit ``slot`` as the context's agent; the state update that records how it went."""
    options = dict(ctx.commit_options)
    if state.get("title"):
        options["title"] = state["title"]
    if state.get("idempotency_key"):
        options["idempotency_key"] = f"{state['idempotency_key']}:{slot['start']}"
    result = ctx.service.commit(slot["start"], slot["end"], **options)
    attempt: Attempt = {
        "round": len(state.get("attempts") or []) + 1,
        "slot": slot,
        "chosen_by": chosen_by,
        "choice_reason": choice_reason,
    }
    if isinstance(result, Booked):
        booked: SlotText = {"start": iso(result.start), "end": iso(result.end)}
        attempt.update(
            {
                "result": "booked",
                "booking_id": result.booking_id,
                "reason": None,
                "detail": f"committed as {result.booking_id}",
            }
        )
        return {
            "attempts": [attempt],
            "outcome": "booked",
            "booking_id": result.booking_id,
            "booked": booked,
            "consent": None,
            "detail": f"booked {booked['start']} to {booked['end']} "
            f"as {result.booking_id} in round {attempt['round']}",
        }
    if isinstance(result, Lost):
        who = agent(
            result.winning_agent_name, result.winning_agent_id, result.winning_agent_priority
        )
        attempt.update(
            {
                "result": "lost",
                "reason": result.reason,
                "winning_agent_id": result.winning_agent_id,
                "winning_agent_name": result.winning_agent_name,
                "winning_agent_priority": result.winning_agent_priority,
                "winning_booking_id": result.winning_booking_id,
                "detail": f"lost to {who}; ours is priority {result.your_priority}",
            }
        )
        return {"attempts": [attempt], "outcome": "lost", "detail": attempt["detail"]}
    return _failed(result, slot, attempt)


def _failed(result: Failed, slot: SlotText, attempt: Attempt) -> dict[str, Any]:
    if result.error == "consent_required" and result.consent_request_id:
        consent: ConsentRequest = {
            "consent_request_id": result.consent_request_id,
            "hold_id": result.hold_id,
            "expires_at": iso(result.expires_at) if result.expires_at else None,
            "slot": slot,
            "status": "pending",
        }
        return {
            "consent": consent,
            "outcome": "awaiting_consent",
            "detail": f"{slot['start']} awaits a person's approval "
            f"({result.consent_request_id}); parked as hold {result.hold_id}",
        }
    refused = result.error in RULE_ERRORS
    attempt.update(
        {
            "result": "refused" if refused else "failed",
            "reason": result.error,
            "detail": result.message,
        }
    )
    return {
        "attempts": [attempt],
        "outcome": "refused" if refused else "failed",
        "detail": f"{result.error}: {result.message}",
    }


def route_booking_step(state: BookingSteps) -> Literal["consent", "retry", "done"]:
    """After a commit or a person's decision: wait for consent, counter-propose, or stop.

    Returns a label, not a node name, so each graph maps it (``add_conditional_edges``
    with a path map): the consent graph stops on ``retry``, book-or-negotiate
    counter-proposes.
    """
    outcome = state.get("outcome")
    if outcome == "awaiting_consent":
        return "consent"
    if outcome in ("lost", "refused"):
        return "retry"
    return "done"


__all__ = ["commit_slot", "route_booking_step"]
