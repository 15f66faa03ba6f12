"""The embedded AgentDraft coordinator: exactly one agent wins each contested slot.

Quickstart::

    from coordinator import Coordinator, Conflict
    coord = Coordinator.embedded()
    owner = coord.owners.create(timezone="Europe/Berlin")
    bot = coord.agents.create(owner.user_id, name="sales-bot", priority=1)
    client = coord.client(bot.api_key)
    booking = client.bookings.commit(start=start, end=end, idempotency_key="ik_1")
"""

from .availability import AvailabilityList
from .coordinator import Coordinator
from .errors import (
    AgentDraftError,
    ApprovalTimeout,
    AuthError,
    CalendarUnsynced,
    Conflict,
    ConsentRequired,
    DuplicateResponse,
    Gone,
    IdempotencyMismatch,
    InvalidState,
    NotFound,
    RateLimited,
    ResolutionFailed,
    ResolutionInProgress,
    RuleViolation,
    StaleAvailability,
    StoreUnavailable,
    ValidationError,
)
from .models import (
    Agent,
    AgentCreated,
    AgentIdentity,
    AuditEntry,
    AuditVerification,
    Booking,
    Displacement,
    Owner,
    Slot,
)
from .proposals import Proposal, ProposalSlot, Resolution
from .ruleset import OwnerRules, RuleSet
from .settings import Settings

__version__ = "0.1.0"

__all__ = [
    "Agent",
    "AgentCreated",
    "AgentDraftError",
    "AgentIdentity",
    "ApprovalTimeout",
    "AuditEntry",
    "AuditVerification",
    "AuthError",
    "AvailabilityList",
    "Booking",
    "CalendarUnsynced",
    "Conflict",
    "ConsentRequired",
    "Coordinator",
    "Displacement",
    "DuplicateResponse",
    "Gone",
    "IdempotencyMismatch",
    "InvalidState",
    "NotFound",
    "Owner",
    "OwnerRules",
    "Proposal",
    "ProposalSlot",
    "RateLimited",
    "Resolution",
    "ResolutionFailed",
    "ResolutionInProgress",
    "RuleSet",
    "RuleViolation",
    "Settings",
    "Slot",
    "StaleAvailability",
    "StoreUnavailable",
    "ValidationError",
]
