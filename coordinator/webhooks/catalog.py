"""The webhook event catalog: every event type an endpoint can subscribe to, what it
means, and an example of its ``data`` as delivered (see dispatcher.envelope)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .registry import EVENT_TYPES


class EventType(BaseModel):
    type: str
    description: str
    example: dict[str, Any]


_BOOKING = {
    "id": "evt_usr_example_1767225600000-0",
    "user_id": "usr_example",
    "audit_event_id": "1767225600000-0",
    "booking_id": "bkg_example",
    "agent_id": "agt_example",
    "priority": 1,
    "mode": "commit",
    "start": "2027-01-05T15:00:00Z",
    "end": "2027-01-05T15:30:00Z",
    "title": "Intro call",
}
_PROPOSAL = {
    "id": "evt_usr_example_1767225600000-0",
    "user_id": "usr_example",
    "audit_event_id": "1767225600000-0",
    "proposal_id": "spr_example",
    "calendar_id": "usr_example",
    "organizer_agent_id": "agt_example",
    "title": "Team sync",
}
_COUNTER = {
    "id": "evt_usr_example_1767225600000-0",
    "user_id": "usr_example",
    "audit_event_id": "1767225600000-0",
    "counter_id": "cnt_example",
    "booking_id": "bkg_example",
    "agent_id": "agt_loser",
    "winner_agent_id": "agt_example",
    "note": "Could we do Thursday instead?",
    "slots": [{"start_time": "2027-01-07T15:00:00Z", "end_time": "2027-01-07T15:30:00Z"}],
}
_DISPLACED = {
    "ended_by_booking_id": "bkg_winner",
    "ended_by_agent_id": "agt_winner",
    "ended_by_priority": 1,
}

#: type -> (one line on when it fires, its example ``data``). Kept in step with
#: EVENT_TYPES by a test: a new event type needs its line here.
_CATALOG: dict[str, tuple[str, dict[str, Any]]] = {
    "booking.committed": (
        "A commit won its slot and settled (after any arbitration window).",
        {**_BOOKING, "status": "COMMITTED"},
    ),
    "booking.evicted": (
        "A committed booking was displaced by a better-ranked agent or an external event.",
        {**_BOOKING, **_DISPLACED, "priority": 2, "status": "EVICTED"},
    ),
    "booking.external_conflict": (
        "An event on the owner's own calendar overlaps a live booking and the owner's "
        "connector policy is 'keep': the booking stands; a person decides.",
        {
            **{k: v for k, v in _BOOKING.items() if k not in ("priority", "mode", "title")},
            "connector_id": "cx_example",
            "event_uid": "team-offsite@example.com",
        },
    ),
    "hold.invalidated": (
        "A hold was displaced by a better-ranked agent's write before it was committed.",
        {**_BOOKING, **_DISPLACED, "priority": 2, "mode": "hold", "status": "INVALIDATED"},
    ),
    "booking.cancelled": (
        "The booking's agent cancelled a committed booking.",
        {**_BOOKING, "status": "CANCELLED"},
    ),
    "proposal.created": (
        "An agent offered slots to participant agents.",
        {
            **_PROPOSAL,
            "status": "pending",
            "description": None,
            "participant_agent_ids": ["agt_participant"],
            "slots": [
                {"id": "slot_1", "start": "2027-01-05T15:00:00Z", "end": "2027-01-05T15:30:00Z"}
            ],
            "expires_at": "2027-01-04T15:00:00Z",
        },
    ),
    "proposal.responded": (
        "A participant accepted, declined or countered a proposal's slots.",
        {
            **_PROPOSAL,
            "status": "pending",
            "agent_id": "agt_participant",
            "response": "accept",
            "selected_slot_id": "slot_1",
        },
    ),
    "proposal.confirmed": (
        "A proposal resolved to one slot and its booking was made.",
        {**_PROPOSAL, "status": "confirmed"},
    ),
    "proposal.cancelled": (
        "The organizer (or owner) cancelled a pending proposal.",
        {**_PROPOSAL, "status": "cancelled", "reason": "organizer_cancelled"},
    ),
    "proposal.expired": (
        "A pending proposal reached its expiry without resolving.",
        {**_PROPOSAL, "status": "expired"},
    ),
    "booking.moved": (
        "The booking's agent accepted a counter-offer: the booking left its slot, and "
        "ended_by_booking_id is the booking at the accepted slot.",
        {
            **_BOOKING,
            "status": "MOVED",
            "reason": "counter_accepted",
            "ended_by_booking_id": "bkg_moved",
        },
    ),
    "counter.created": (
        "An agent offered a booking's agent alternative slots (a counter-offer).",
        {**_COUNTER, "status": "pending"},
    ),
    "counter.accepted": (
        "The booking's agent accepted a counter-offer: its booking moved to slot_index.",
        {**_COUNTER, "status": "accepted", "slot_index": 0, "new_booking_id": "bkg_moved"},
    ),
    "counter.rejected": (
        "The booking's agent declined a counter-offer; the booking stays.",
        {**_COUNTER, "status": "rejected"},
    ),
}


def event_catalog() -> list[EventType]:
    """Every subscribable event type, in EVENT_TYPES order."""
    return [
        EventType(type=t, description=_CATALOG[t][0], example=_CATALOG[t][1]) for t in EVENT_TYPES
    ]
