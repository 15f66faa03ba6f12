"""The embedded AgentDraft coordinator: exactly one agent wins each contested slot.

Quickstart::

    from coordinator import Coordinator, Conflict
    coord = Coordinator.embedded()
    owner = coord.owners.create(timezone="Europe/Berlin")
    bot = coord.agents.create(owner.user_id, name="sales-bot", priority=1)
    client = coord.client(bot.api_key)
    booking = client.bookings.commit(start=start, end=end, idempotency_key="ik_1")

Where things are. Every change to a calendar is one transition: a Python method
validates the input, makes **one** call to a Lua script in ``lua/`` (which reads,
decides, then writes the change, its audit entry and its outbox event), and maps
the reply to a result or a typed error (``replies.py``, ``errors.py``). To follow a
transition, open its Python module, then the Lua file of the same name:

=====================================  ==========================  =========================
transition                             Python                      Lua
=====================================  ==========================  =========================
hold, commit (claim, window, eviction) ``bookings.py`` (write)     ``hold``, ``commit``,
                                                                   ``_claim``, ``_gate``
release a hold, cancel a booking       ``bookings.py``             ``release``, ``cancel``
read a booking                         ``bookings.py`` (get)       ``read_booking``
open slots                             ``availability.py``,        ``read_availability``
                                       ``slots.py`` (algorithm)
key, scope, rate limit (plain reads)   ``access.py``               ``authorize``, ``_access``
owners, timezone                       ``owners.py``               ``create_owner``
owner rules                            ``rules.py`` (shape:        ``update_rules``
                                       ``ruleset.py``)
agents: create, rotate, revoke, rank   ``agents.py``               ``create_agent``,
                                                                   ``agent_update``, ``rerank``
approvals: request, read, decide       ``approvals.py``            ``approval_*``
proposals: create … expire             ``proposals/service.py``    ``proposal_*``
audit: query, verify, archive          ``audit/``                  (reads the stream)
mail: send, receive, deliver, policy   ``mail/mailbox.py``         ``mail_*``, ``_mail``
=====================================  ==========================  =========================

Around them: ``coordinator.py`` wires the registries over one ``store.handle.Store``
(the Redis client, ``store/keys.py``'s key layout, ``store/scripts.py``'s scripts);
``client.py`` is the SDK-shaped client an agent holds; ``server/`` is the HTTP
server; ``cli/`` the command line; ``webhooks/``, ``connectors/`` and ``mail/`` the
workers that read the outboxes (they never decide a winner).
"""

from .availability import AvailabilityList
from .coordinator import Coordinator
from .errors import (
    AgentDraftError,
    ApprovalTimeout,
    AuthError,
    BookingRequired,
    CalendarUnsynced,
    Conflict,
    ConsentRequired,
    DuplicateResponse,
    Gone,
    IdempotencyMismatch,
    InvalidState,
    NotFound,
    RateLimited,
    RecipientSuppressed,
    ResolutionFailed,
    ResolutionInProgress,
    RuleViolation,
    SendCapReached,
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
    "BookingRequired",
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
    "RecipientSuppressed",
    "Resolution",
    "ResolutionFailed",
    "ResolutionInProgress",
    "RuleSet",
    "RuleViolation",
    "SendCapReached",
    "Settings",
    "Slot",
    "StaleAvailability",
    "StoreUnavailable",
    "ValidationError",
]
