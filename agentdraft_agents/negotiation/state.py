"""The graphs' state: plain JSON-ready dicts, so any checkpointer can store them.

Every value is text, a number, a list or a dict (times are ISO 8601 text with an
offset), never a client or a pydantic object: a checkpointer serialises state at
every step, and a parent graph that embeds these graphs as subgraphs shares the
keys it declares too. Dependencies (the booking client, the policy, a chat model)
live in the Runtime context instead (:mod:`.context`), which is not checkpointed.

Keys a caller sets: ``wanted`` (or ``slot`` for the consent graph), and optionally
``constraints``, ``max_rounds``, ``title``, ``idempotency_key``. Keys the graph
writes: ``attempts`` (one entry per commit that came to an end, appended through a
reducer), ``outcome``, ``detail``, ``booking_id``, ``booked``, ``consent`` and the
working keys ``current``, ``chosen_by``, ``choice_reason``, ``offers``.
"""

from __future__ import annotations

import operator
from datetime import datetime
from typing import Annotated, Any, Literal, TypedDict

from ..core import parse_time
from ..results import Slot, agent, iso
from .constraints import Constraints

#: Where a graph ended (or, for ``awaiting_consent``, where it is paused).
#: Book-or-negotiate ends in ``booked``, ``exhausted``, ``no_alternatives``,
#: ``denied``, ``expired`` or ``failed``; ``lost`` and ``refused`` are how the last
#: commit ended and are final only in the consent graph, which does not negotiate.
Outcome = Literal[
    "booked",
    "exhausted",
    "no_alternatives",
    "denied",
    "expired",
    "lost",
    "refused",
    "failed",
    "awaiting_consent",
]
#: How one commit ended: won, lost to another agent, refused by an owner rule,
#: refused for another reason, or decided by a person (denied, expired).
AttemptResult = Literal["booked", "lost", "refused", "failed", "denied", "expired"]
ConsentStatus = Literal["pending", "approved", "denied", "expired"]


class SlotText(TypedDict):
    """A half-open range as ISO 8601 text with an offset, e.g. ``2031-03-03T10:00:00Z``."""

    start: str
    end: str


class Attempt(TypedDict, total=False):
    """One commit that came to an end, and who beat it if it lost."""

    round: int
    slot: SlotText
    #: ``requested`` for the wanted slot, else the policy's name.
    chosen_by: str
    choice_reason: str
    result: AttemptResult
    #: ``outranked`` / ``frozen`` for a lost race, the rule code for a refusal, else the
    #: error code.
    reason: str | None
    detail: str
    booking_id: str | None
    winning_agent_id: str | None
    #: The winner's agent name, when the coordinator gave it.
    winning_agent_name: str | None
    winning_agent_priority: int | None
    winning_booking_id: str | None
    consent_request_id: str | None


def winner_of(attempt: Attempt) -> str:
    """Who beat an attempt, as a person reads it: name and priority, then the id."""
    return agent(
        attempt.get("winning_agent_name"),
        attempt.get("winning_agent_id"),
        attempt.get("winning_agent_priority"),
    )


class ConsentRequest(TypedDict):
    """A commit the owner's approval gate parked as a hold until a person decides."""

    consent_request_id: str
    hold_id: str | None
    expires_at: str | None
    slot: SlotText
    status: ConsentStatus


class BookingSteps(TypedDict, total=False):
    """The keys every booking graph here shares: its history and where it ended."""

    title: str | None
    #: Base of the idempotency keys: each commit sends ``"{key}:{slot start}"``, so a
    #: node re-run after a crash returns the booking it made instead of a second one.
    idempotency_key: str | None
    attempts: Annotated[list[Attempt], operator.add]
    consent: ConsentRequest | None
    outcome: Outcome | None
    detail: str
    booking_id: str | None
    booked: SlotText | None
    #: Who picked the slot being committed (``requested`` or a policy) and why.
    chosen_by: str
    choice_reason: str


class ConsentState(BookingSteps, total=False):
    """Input and output of the consent graph: commit ``slot``, wait for a person if asked."""

    slot: SlotText


class NegotiationState(BookingSteps, total=False):
    """Input and output of the book-or-negotiate graph."""

    wanted: SlotText
    #: A :class:`~.constraints.Constraints` as a dict (``Constraints.to_state()``).
    constraints: dict[str, Any]
    #: Commits to try at most, the wanted slot included (default 3).
    max_rounds: int
    #: The slot the next commit tries.
    current: SlotText
    #: What the policy was offered last (open, allowed by the owner's rules and the
    #: requester's constraints, nearest first).
    offers: list[SlotText]


def slot_text(slot: Slot) -> SlotText:
    """A :class:`~agentdraft_agents.results.Slot` as state text."""
    return {"start": iso(slot.start), "end": iso(slot.end)}


def to_slot(value: SlotText | Slot, field: str = "slot") -> Slot:
    """State text as a :class:`Slot`; a time without an offset raises, never guessed."""
    if isinstance(value, Slot):
        return value
    if not isinstance(value, dict) or not {"start", "end"} <= set(value):
        raise ValueError(f"{field} must be {{'start': ISO text, 'end': ISO text}}, got {value!r}")
    start = parse_time(value["start"], f"{field}.start")
    end = parse_time(value["end"], f"{field}.end")
    if end <= start:
        raise ValueError(f"{field}: end {value['end']} is not after start {value['start']}")
    return Slot(start=start, end=end)


def negotiation_input(
    start: datetime | str,
    end: datetime | str,
    *,
    constraints: Constraints | dict[str, Any] | None = None,
    max_rounds: int = 3,
    title: str | None = None,
    idempotency_key: str | None = None,
) -> NegotiationState:
    """The input of the book-or-negotiate graph, checked and in state form.

    Times must carry an offset (``Z`` or ``+02:00``); aware datetimes are accepted.
    """
    wanted = to_slot({"start": _text(start), "end": _text(end)}, "wanted")
    state: NegotiationState = {"wanted": slot_text(wanted), "max_rounds": max_rounds}
    if constraints is not None:
        c = (
            constraints
            if isinstance(constraints, Constraints)
            else Constraints.model_validate(constraints)
        )
        state["constraints"] = c.to_state()
    if title is not None:
        state["title"] = title
    if idempotency_key is not None:
        state["idempotency_key"] = idempotency_key
    return state


def _text(value: datetime | str) -> str:
    return value.isoformat() if isinstance(value, datetime) else value


__all__ = [
    "Attempt",
    "AttemptResult",
    "BookingSteps",
    "ConsentRequest",
    "ConsentState",
    "ConsentStatus",
    "NegotiationState",
    "Outcome",
    "SlotText",
    "negotiation_input",
    "slot_text",
    "to_slot",
]
