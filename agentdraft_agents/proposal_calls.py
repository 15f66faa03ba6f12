"""An agent's multi-slot proposal calls (``client.proposals``) as answers a tool can return.

A proposal offers a few candidate slots to sibling agents; each answers (accept one,
decline, or counter with slots of its own), and resolving books the best-scored slot
with the organizer's priority. The calls answer the coordinator's own models
(``Proposal``, ``Resolution``), or a :class:`~.results.Failed` the model can act on
(a bad slot, a proposal already decided, a resolution whose slot was lost), exactly
as the booking calls in :class:`~.core.BookingService` do. The descriptions here are
what a model reads for each tool, written like those in :mod:`.specs`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from coordinator.proposals import Proposal, Resolution

from .core import BookingService
from .results import Failed
from .specs import TIME_FORMAT

_T = TypeVar("_T")


class SlotOffer(BaseModel):
    """One candidate slot of a new proposal."""

    model_config = ConfigDict(extra="forbid")

    start_time: str = Field(description=f"Slot start, {TIME_FORMAT}")
    end_time: str = Field(description="Slot end, same format")
    weight: float | None = Field(
        default=None, description="How much you prefer it (default 1.0; answers add to it)"
    )


class CounterSlot(BaseModel):
    """A slot a participant suggests instead (the organizer reads it; it is not a candidate)."""

    model_config = ConfigDict(extra="forbid")

    start_time: str = Field(description=f"Start, {TIME_FORMAT}")
    end_time: str = Field(description="End, same format")


class ProposalList(BaseModel):
    """The proposals this agent organises or is invited to, oldest first."""

    model_config = ConfigDict(extra="forbid")

    proposals: list[Proposal]


Response = Literal["accept", "decline", "counter"]

CREATE = (
    "Propose a meeting to sibling agents as a few candidate slots (1 to 20), instead of "
    "booking one slot outright. Each participant answers with respond_to_proposal; when the "
    "last one has answered, the best-scored slot is booked with your priority (or call "
    "resolve_proposal to decide now). Returns the proposal with its id (spr_…) and each "
    "slot's id (slt_…)."
)
GET = (
    "Read one proposal as it stands: its status (pending, confirmed, cancelled, expired), "
    "the slots, the participants and who answered what, and the booked slot once it is "
    "confirmed."
)
LIST = (
    "List the proposals you organise or are invited to, oldest first; filter by status "
    "(e.g. pending to find the ones waiting for your answer)."
)
RESPOND = (
    "Answer a proposal you are invited to, once: accept (name the slot you take with "
    "selected_slot_id), decline, or counter (suggest counter_slots of your own; naming a "
    "selected_slot_id counts it a little). The last answer resolves the proposal."
)
RESOLVE = (
    "As the organizer, decide a pending proposal now: the best-scored slot is booked with "
    "your priority. If another agent has that slot, the answer says who, the slot is marked "
    "failed and the proposal stays pending; resolve again to try the next one."
)
CANCEL = (
    "As the organizer, cancel a pending proposal; nothing is booked and participants can no "
    "longer answer."
)


class ProposalCalls:
    """``service``'s agent's proposal calls; a client without proposals answers ``unsupported``."""

    def __init__(self, service: BookingService) -> None:
        self.service = service

    def _run(self, call: Callable[[Any], _T]) -> _T | Failed:
        proposals = getattr(self.service.client, "proposals", None)
        if proposals is None:
            return Failed(
                error="unsupported",
                message="this agent's client has no proposals (the official SDK lacks them; "
                "set AGENTDRAFT_BASE_URL and AGENTDRAFT_API_KEY to get them over HTTP); book "
                "with commit_booking instead.",
            )
        try:
            return call(proposals)
        except Exception as exc:
            return self.service._fail_or_raise(exc)

    def create(
        self,
        *,
        participant_agent_ids: list[str],
        slots: list[SlotOffer],
        title: str | None = None,
        description: str | None = None,
        expires_at: str | None = None,
        idempotency_key: str | None = None,
    ) -> Proposal | Failed:
        options = {
            k: v
            for k, v in (
                ("title", title),
                ("description", description),
                ("expires_at", expires_at),
                ("idempotency_key", idempotency_key),
            )
            if v is not None
        }
        offered = [s.model_dump(exclude_none=True) for s in slots]
        return self._run(
            lambda p: p.create(
                participant_agent_ids=participant_agent_ids, slots=offered, **options
            )
        )

    def get(self, proposal_id: str) -> Proposal | Failed:
        return self._run(lambda p: p.get(proposal_id))

    def list(self, status: str | None = None) -> ProposalList | Failed:
        return self._run(lambda p: ProposalList(proposals=p.list(status=status)))

    def respond(
        self,
        proposal_id: str,
        *,
        response: Response,
        selected_slot_id: str | None = None,
        counter_slots: builtins.list[CounterSlot] | None = None,
        message: str | None = None,
    ) -> Proposal | Failed:
        counters = [c.model_dump() for c in counter_slots] if counter_slots else None
        return self._run(
            lambda p: p.respond(
                proposal_id,
                response=response,
                selected_slot_id=selected_slot_id,
                counter_slots=counters,
                message=message,
            )
        )

    def resolve(self, proposal_id: str) -> Resolution | Failed:
        return self._run(lambda p: p.resolve(proposal_id))

    def cancel(self, proposal_id: str) -> Proposal | Failed:
        return self._run(lambda p: p.cancel(proposal_id))


__all__ = [
    "CANCEL",
    "CREATE",
    "GET",
    "LIST",
    "RESOLVE",
    "RESPOND",
    "CounterSlot",
    "ProposalCalls",
    "ProposalList",
    "SlotOffer",
]
