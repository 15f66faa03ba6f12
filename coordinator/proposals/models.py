"""What a proposal looks like to callers, with the field names of the protocol's proposal flow.

The stored record keeps milliseconds and weights in millionths (so scores add
exactly); these models speak ISO datetimes and plain weights, the same on the
Python surface and on the wire.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..buckets import from_ms

ProposalStatus = Literal["pending", "confirmed", "cancelled", "expired"]
ResponseKind = Literal["accept", "decline", "counter"]
#: What an answer adds to the score of the slot it names (the proposal flow's pickBestSlot).
RESPONSE_SCORES: dict[str, float] = {"accept": 1.0, "counter": 0.3, "decline": 0.0}


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _as_list(value: Any) -> list[Any]:
    """Lua's JSON encoder writes an empty array as ``{}``; read both as a list."""
    return list(value) if isinstance(value, list) else []


def _answer_order(r: dict[str, Any]) -> tuple[int, int]:
    """Answers in the order they were recorded: their audit stream id breaks ms ties."""
    ms, _, seq = str(r.get("audit_event_id") or "0-0").partition("-")
    return int(ms), int(seq or 0)


class ProposalSlot(_Model):
    """One candidate slot; ``id`` is assigned by the coordinator (``slt_…``)."""

    id: str
    start_time: datetime
    end_time: datetime
    weight: float
    calendar_id: str

    @classmethod
    def from_record(cls, s: dict[str, Any]) -> ProposalSlot:
        return cls(
            id=s["id"],
            start_time=from_ms(s["start_ms"]),
            end_time=from_ms(s["end_ms"]),
            weight=s["weight_u"] / 1_000_000,
            calendar_id=s["calendar_id"],
        )


class CounterSlot(_Model):
    """A slot a participant suggests instead (informational: never a candidate)."""

    start_time: datetime
    end_time: datetime


class ProposalResponse(_Model):
    """One participant's answer. ``selected_slot_id`` is required for ``accept``."""

    agent_id: str
    response: ResponseKind
    selected_slot_id: str | None = None
    counter_slots: list[CounterSlot] = []
    message: str | None = None
    responded_at: datetime
    audit_event_id: str | None = None


class SlotFailure(_Model):
    """A slot a resolution could not book, and why (who won it, at what priority)."""

    slot_id: str
    cause: str
    detail: str | None = None
    winning_booking_id: str | None = None
    winning_agent_id: str | None = None
    winning_agent_priority: int | None = None
    your_priority: int | None = None
    consent_request_id: str | None = None
    booking_id: str | None = None
    audit_event_id: str | None = None
    at: datetime


class Proposal(_Model):
    """A multi-slot proposal as it stands (the proposal flow's fields, plus what it learned)."""

    id: str
    title: str | None = None
    description: str | None = None
    status: ProposalStatus
    #: ``all_declined`` or ``organizer_cancelled`` for a cancelled proposal.
    reason: str | None = None
    organizer_agent_id: str
    participant_agent_ids: list[str]
    calendar_id: str
    slots: list[ProposalSlot]
    responses: list[ProposalResponse]
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    resolved_slot: ProposalSlot | None = None
    #: The booking the resolution committed (the protocol calls the booking an event).
    created_event_id: str | None = None
    #: Slots a resolution failed to book, oldest first; later resolutions skip them.
    failed_slots: list[SlotFailure] = []
    #: A resolution is booking its slot right now.
    resolving: bool = False
    audit_event_id: str | None = None

    @property
    def pending_agent_ids(self) -> list[str]:
        """Participants who have not answered yet."""
        answered = {r.agent_id for r in self.responses}
        return [a for a in self.participant_agent_ids if a not in answered]

    def scores(self) -> dict[str, float]:
        """Each slot's score as resolution computes it (weight + answers naming it)."""
        out = {s.id: s.weight for s in self.slots}
        for r in self.responses:
            if r.selected_slot_id in out:
                out[r.selected_slot_id] += RESPONSE_SCORES[r.response]
        return out

    @classmethod
    def from_record(cls, p: dict[str, Any]) -> Proposal:
        slots = [ProposalSlot.from_record(s) for s in p["slots"]]
        by_id = {s.id: s for s in slots}
        answers = p.get("responses") or {}
        responses = [
            ProposalResponse(
                agent_id=agent_id,
                response=r["response"],
                selected_slot_id=r.get("selected_slot_id"),
                counter_slots=[
                    CounterSlot(start_time=from_ms(c["start_ms"]), end_time=from_ms(c["end_ms"]))
                    for c in _as_list(r.get("counter_slots"))
                ],
                message=r.get("message"),
                responded_at=from_ms(r["responded_ms"]),
                audit_event_id=r.get("audit_event_id"),
            )
            for agent_id, r in sorted(answers.items(), key=lambda kv: _answer_order(kv[1]))
        ]
        failures = [
            SlotFailure(
                slot_id=f["slot_id"],
                cause=f["cause"],
                detail=f.get("detail"),
                winning_booking_id=f.get("winning_booking_id"),
                winning_agent_id=f.get("winning_agent_id"),
                winning_agent_priority=f.get("winning_agent_priority"),
                your_priority=f.get("your_priority"),
                consent_request_id=f.get("consent_request_id"),
                booking_id=f.get("booking_id"),
                audit_event_id=f.get("audit_event_id"),
                at=from_ms(f["at_ms"]),
            )
            for f in _as_list(p.get("failures"))
        ]
        resolved = p.get("resolved_slot_id")
        return cls(
            id=p["id"],
            title=p.get("title"),
            description=p.get("description"),
            status=p["status"],
            reason=p.get("reason"),
            organizer_agent_id=p["organizer_agent_id"],
            participant_agent_ids=list(p["participant_agent_ids"]),
            calendar_id=p["calendar_id"],
            slots=slots,
            responses=responses,
            expires_at=from_ms(p["expires_ms"]),
            created_at=from_ms(p["created_ms"]),
            updated_at=from_ms(p["updated_ms"]),
            resolved_slot=by_id.get(resolved) if resolved else None,
            created_event_id=p.get("created_event_id"),
            failed_slots=failures,
            resolving=bool(p.get("resolving")),
            audit_event_id=p.get("audit_event_id"),
        )


class Resolution(_Model):
    """What ``resolve`` answers: the protocol's ``{status, resolved_slot}`` or
    ``{status: "cancelled", reason: "all_declined"}``, plus the proposal itself."""

    status: Literal["confirmed", "cancelled"]
    resolved_slot: ProposalSlot | None = None
    reason: str | None = None
    created_event_id: str | None = None
    proposal: Proposal
