"""Multi-slot proposals (the Chronary-style proposal flow) for agents: ``/v1/scheduling/proposals``.

Times are taken as ISO 8601 text and checked by the same validation as the Python
surface, so a bad slot is refused with the field that is wrong (``slots[1].end_time``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Path, Query
from pydantic import Field

from ...proposals import Proposal, Resolution
from ..auth import Agent
from ..responses import error_responses
from ..schemas import ClosedIn

router = APIRouter(prefix="/v1/scheduling", tags=["proposals"])

ID = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
_ERRORS = error_responses(401, 403, 404, 409, 422, 429, 503)
Text = Annotated[str, Field(max_length=64)]


class SlotIn(ClosedIn):
    start_time: str = Field(max_length=64)
    end_time: str = Field(max_length=64)
    weight: float | None = None
    calendar_id: Text | None = None


class CounterSlotIn(ClosedIn):
    start_time: str = Field(max_length=64)
    end_time: str = Field(max_length=64)


class ProposalIn(ClosedIn):
    title: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    organizer_agent_id: Text | None = None
    participant_agent_ids: list[Text] = Field(min_length=1, max_length=50)
    calendar_id: Text | None = None
    slots: list[SlotIn] = Field(min_length=1, max_length=20)
    expires_at: str | None = Field(default=None, max_length=64)


class RespondIn(ClosedIn):
    agent_id: Text | None = None
    response: Literal["accept", "decline", "counter"]
    selected_slot_id: Text | None = None
    counter_slots: list[CounterSlotIn] | None = Field(default=None, max_length=20)
    message: str | None = Field(default=None, max_length=2000)


@router.post("/proposals", status_code=201, response_model=Proposal, responses=_ERRORS)
def create_proposal(
    body: ProposalIn,
    client: Agent,
    idempotency_key: Annotated[str | None, Header(max_length=255)] = None,
) -> Proposal:
    """Open a proposal organised by the calling agent; fires ``proposal.created``."""
    return client.proposals.create(
        participant_agent_ids=body.participant_agent_ids,
        slots=[s.model_dump(exclude_none=True) for s in body.slots],
        expires_at=body.expires_at,
        title=body.title,
        description=body.description,
        organizer_agent_id=body.organizer_agent_id,
        calendar_id=body.calendar_id,
        idempotency_key=idempotency_key,
    )


@router.get("/proposals", response_model=list[Proposal], responses=_ERRORS)
def list_proposals(
    client: Agent,
    status: Annotated[
        Literal["pending", "confirmed", "cancelled", "expired"] | None, Query()
    ] = None,
) -> list[Proposal]:
    """Proposals the calling agent organises or is invited to, oldest first."""
    return client.proposals.list(status=status)


@router.get("/proposals/{proposal_id}", response_model=Proposal, responses=_ERRORS)
def get_proposal(proposal_id: ID, client: Agent) -> Proposal:
    """The proposal with its server-assigned slot ids and every answer so far."""
    return client.proposals.get(proposal_id)


@router.post("/proposals/{proposal_id}/respond", response_model=Proposal, responses=_ERRORS)
def respond(proposal_id: ID, body: RespondIn, client: Agent) -> Proposal:
    """Answer once. The last participant's answer resolves the proposal."""
    return client.proposals.respond(
        proposal_id,
        agent_id=body.agent_id,
        response=body.response,
        selected_slot_id=body.selected_slot_id,
        counter_slots=[c.model_dump() for c in body.counter_slots] if body.counter_slots else None,
        message=body.message,
    )


@router.post("/proposals/{proposal_id}/resolve", response_model=Resolution, responses=_ERRORS)
def resolve(proposal_id: ID, client: Agent) -> Resolution:
    """Organizer only: pick the best slot now and book it with the organizer's priority.

    409 ``resolution_failed`` when that booking lost (the winner is named); the
    proposal stays pending and the next resolve tries the next-best slot.
    """
    return client.proposals.resolve(proposal_id)


@router.post("/proposals/{proposal_id}/cancel", response_model=Proposal, responses=_ERRORS)
def cancel(proposal_id: ID, client: Agent) -> Proposal:
    """Organizer only: withdraw a pending proposal; fires ``proposal.cancelled``."""
    return client.proposals.cancel(proposal_id)
