"""Multi-slot proposals (the Chronary-style flow): an organizer agent offers candidate
slots, the participants answer once each, and the best slot is booked through the normal
commit path. See ``lua/_proposals.lua`` for the state machine."""

from .api import ClientProposals, Proposals
from .models import (
    CounterSlot,
    Proposal,
    ProposalResponse,
    ProposalSlot,
    Resolution,
    SlotFailure,
)
from .service import ProposalService
from .timers import ProposalTimers

__all__ = [
    "ClientProposals",
    "CounterSlot",
    "Proposal",
    "ProposalResponse",
    "ProposalService",
    "ProposalSlot",
    "ProposalTimers",
    "Proposals",
    "Resolution",
    "SlotFailure",
]
