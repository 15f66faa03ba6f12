"""Proposal transitions: validate, one script call, map the reply; and the resolution.

A resolution has two steps on purpose. The Lua step picks the slot and takes a
lease, atomically with the answers it scored. The booking then goes through the
*normal commit path* (``Bookings.write``) with the organizer's priority: the owner's
rules, the approval gate, the arbitration window and eviction all apply to it as to
any agent's write, so it can lose, and a loss is recorded on the proposal (the slot
is marked failed, the proposal stays pending) instead of being papered over. The
second Lua step records what the commit did. If the resolver dies in between, the
lease runs out and the timer settles the resolution from the commit's idempotency
record, so no proposal is left half-resolved.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..bookings import Bookings
from ..buckets import from_ms
from ..errors import (
    AgentDraftError,
    Conflict,
    ConsentRequired,
    InvalidState,
    ResolutionFailed,
    RuleViolation,
    StoreUnavailable,
    ValidationError,
)
from ..ids import keyed_id
from ..replies import About, refusal
from ..store.calls import ProposalTransition
from ..store.errors import store_errors
from ..store.handle import Store
from . import validation as v
from .models import Proposal, ProposalSlot, Resolution
from .timers import ProposalTimers

STATUSES = ("pending", "confirmed", "cancelled", "expired")


@dataclass(frozen=True)
class Caller:
    """Who is calling: an agent's key (``key_hash``), or the owner (both empty)."""

    agent_id: str = ""
    key_hash: str = ""


OWNER = Caller()


def call(
    store: Store,
    name: ProposalTransition,
    user_id: str,
    caller: Caller,
    proposal_id: str,
    payload: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One proposal script call for ``caller`` (the owner when both ids are empty)."""
    with store_errors(name.replace("_", ".", 1)):
        return store.calls.proposal(
            name,
            user_id=user_id,
            agent_id=caller.agent_id,
            key_hash=caller.key_hash,
            limits=store.limits,
            proposal_id=proposal_id,
            payload=payload,
        )


def visit(store: Store, user_id: str, proposal_id: str) -> dict[str, Any]:
    """The timer's visit: lapse or settle if due; says when to come back."""
    return call(store, "proposal_tick", user_id, OWNER, proposal_id)


class ProposalService:
    """The proposal state machine of one coordinator; both façades call into it."""

    def __init__(self, store: Store, bookings: Bookings, timers: ProposalTimers) -> None:
        self.store = store
        #: A resolution books through the normal commit path.
        self.bookings = bookings
        self.timers = timers

    # -- the one script call -----------------------------------------------------------

    def _call(
        self,
        name: ProposalTransition,
        user_id: str,
        caller: Caller,
        proposal_id: str,
        payload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return call(self.store, name, user_id, caller, proposal_id, payload)

    def _raise(self, reply: dict[str, Any], user_id: str, proposal_id: str, caller: Caller) -> None:
        raise refusal("proposal", reply, About(user_id, proposal_id, caller.agent_id))

    # -- transitions -------------------------------------------------------------------

    def create(
        self,
        user_id: str,
        caller: Caller,
        *,
        organizer_agent_id: str,
        participant_agent_ids: Any,
        slots: Any,
        expires_at: Any = None,
        title: Any = None,
        description: Any = None,
        idempotency_key: str | None = None,
    ) -> Proposal:
        organizer = v.check_id(organizer_agent_id, "organizer_agent_id")
        record: dict[str, Any] = {
            "calendar_id": user_id,
            "organizer_agent_id": organizer,
            "participant_agent_ids": v.participants(participant_agent_ids, organizer),
            "slots": v.slots(slots, user_id, self.store.settings.max_booking_minutes),
            "default_ttl_ms": int(self.store.settings.proposal_ttl_seconds * 1000),
            "max_ttl_ms": v.MAX_TTL_MS,
        }
        for name, value, limit in (
            ("title", title, v.MAX_TITLE),
            ("description", description, v.MAX_TEXT),
        ):
            checked = v.text(value, name, limit)
            if checked is not None:
                record[name] = checked
        expires = v.expires_ms(expires_at, record["default_ttl_ms"])
        if expires is not None:
            record["expires_ms"] = expires
        pid = keyed_id("spr", organizer, idempotency_key)
        record["id"] = pid
        for i, s in enumerate(record["slots"]):
            s["id"] = f"slt_{hashlib.sha256(f'{pid}:{i}'.encode()).hexdigest()[:16]}"
        # The timer is written first (with a local estimate): a crash right after the
        # create still leaves a timer, and a timer without a proposal just goes away.
        self.timers.schedule(user_id, pid, expires)
        with store_errors("proposals.create"):
            self.store.redis.set(self.store.keys.proposal_index(pid), user_id)
        reply = self._call("proposal_create", user_id, caller, pid, record)
        if reply["r"] != "ok":
            with store_errors("proposals.create"):  # refused: leave no trace behind
                self.store.redis.delete(self.store.keys.proposal_index(pid))
            self.timers.schedule(user_id, pid, None, exact=True)
            self._raise(reply, user_id, pid, caller)
        p = reply["proposal"]
        self.timers.schedule(user_id, pid, int(p["expires_ms"]), exact=True)
        return Proposal.from_record(p)

    def _one(
        self, name: ProposalTransition, user_id: str, caller: Caller, proposal_id: str
    ) -> Proposal:
        """A transition that takes nothing but the proposal id and answers the record."""
        v.check_id(proposal_id, "proposal_id", "spr_")
        reply = self._call(name, user_id, caller, proposal_id)
        if reply["r"] != "ok":
            self._raise(reply, user_id, proposal_id, caller)
        return self._settled(user_id, reply["proposal"])

    def _settled(self, user_id: str, record: dict[str, Any]) -> Proposal:
        """The proposal, with its timer entry gone once it has ended: the deadline set
        holds pending proposals only, so a restart finds no stale work."""
        if record["status"] != "pending":
            self.timers.schedule(user_id, record["id"], None, exact=True)
        return Proposal.from_record(record)

    def get(self, user_id: str, caller: Caller, proposal_id: str) -> Proposal:
        return self._one("proposal_read", user_id, caller, proposal_id)

    def list(self, user_id: str, caller: Caller, status: str | None = None) -> list[Proposal]:
        """The calendar's proposals, oldest first; an agent's key sees only its own.

        The key was checked once by the caller (one token, not one per proposal); each
        record is then read by the owner's script, which lapses it if it is due.
        """
        if status is not None and status not in STATUSES:
            raise ValidationError("status", f"must be one of {list(STATUSES)}")
        with store_errors("proposals.list"):
            ids = sorted(self.store.redis.hkeys(self.store.keys.proposals(user_id)))
        out = []
        for pid in ids:
            reply = self._call("proposal_read", user_id, OWNER, pid)
            if reply["r"] != "ok":
                continue  # removed between the listing and the read
            p = Proposal.from_record(reply["proposal"])
            if (
                caller.agent_id
                and caller.agent_id != p.organizer_agent_id
                and caller.agent_id not in p.participant_agent_ids
            ):
                continue
            out.append(p)
        out.sort(key=lambda p: p.created_at)
        return [p for p in out if status is None or p.status == status]

    def respond(
        self,
        user_id: str,
        caller: Caller,
        proposal_id: str,
        *,
        agent_id: str,
        response: Any,
        selected_slot_id: Any = None,
        counter_slots: Any = None,
        message: Any = None,
    ) -> Proposal:
        v.check_id(proposal_id, "proposal_id", "spr_")
        v.check_id(agent_id, "agent_id")
        payload = v.response(
            response,
            selected_slot_id,
            counter_slots,
            message,
            self.store.settings.max_booking_minutes,
        )
        payload.update(agent_id=agent_id, lease_ms=self._lease_ms())
        reply = self._call("proposal_respond", user_id, caller, proposal_id, payload)
        if reply["r"] != "ok":
            self._raise(reply, user_id, proposal_id, caller)
        resolution = reply.get("resolution")
        if not resolution:
            return Proposal.from_record(reply["proposal"])
        proposal, _failure = self._drive(user_id, reply["proposal"], resolution)
        return proposal

    def resolve(self, user_id: str, caller: Caller, proposal_id: str) -> Resolution:
        v.check_id(proposal_id, "proposal_id", "spr_")
        reply = self._call(
            "proposal_resolve", user_id, caller, proposal_id, {"lease_ms": self._lease_ms()}
        )
        if reply["r"] != "ok":
            self._raise(reply, user_id, proposal_id, caller)
        proposal, failure = self._drive(user_id, reply["proposal"], reply["resolution"])
        if failure is not None:
            raise failure
        if proposal.status == "cancelled":
            return Resolution(status="cancelled", reason=proposal.reason, proposal=proposal)
        return Resolution(
            status="confirmed",
            resolved_slot=proposal.resolved_slot,
            created_event_id=proposal.created_event_id,
            proposal=proposal,
        )

    def cancel(self, user_id: str, caller: Caller, proposal_id: str) -> Proposal:
        return self._one("proposal_cancel", user_id, caller, proposal_id)

    def tick(self, user_id: str, proposal_id: str) -> dict[str, Any]:
        """The timer's visit: lapse or settle if due; says when to come back."""
        return visit(self.store, user_id, proposal_id)

    # -- the resolution ----------------------------------------------------------------

    def _lease_ms(self) -> int:
        return int(self.store.settings.proposal_resolution_lease_seconds * 1000)

    def _drive(
        self, user_id: str, record: dict[str, Any], resolution: dict[str, Any]
    ) -> tuple[Proposal, ResolutionFailed | None]:
        """Carry out what the resolve step decided; return the proposal and any failure."""
        pid = record["id"]
        outcome = resolution["outcome"]
        if outcome != "booking":
            proposal = self._settled(user_id, record)
            if outcome == "cancelled":
                return proposal, None
            cause = "organizer_revoked" if outcome == "organizer_inactive" else "no_slot_left"
            return proposal, ResolutionFailed(
                f"proposal {pid} has no slot left to book: every candidate failed"
                if cause == "no_slot_left"
                else f"the organizer {record['organizer_agent_id']} is revoked; it cannot book",
                proposal_id=pid,
                slot_id=None,
                cause=cause,
                remaining_slot_ids=[],
            )
        slot, lease = resolution["slot"], resolution["resolving"]
        self.timers.schedule(user_id, pid, int(lease["lease_ms"]))
        organizer = record["organizer_agent_id"]
        out: dict[str, Any] = {"token": lease["token"]}
        booked_id: str | None = None
        try:
            booking = self.bookings.write(
                user_id=user_id,
                agent_id=organizer,
                key_hash="",
                mode="commit",
                start=from_ms(slot["start_ms"]),
                end=from_ms(slot["end_ms"]),
                title=record.get("title") or f"proposal {pid}",
                idempotency_key=lease["idem_key"],
                metadata={"proposal_id": pid, "slot_id": slot["id"]},
            )
            booked_id = booking.booking_id
            out.update(ok=True, booking_id=booked_id)
        except ConsentRequired as exc:
            out.update(
                cause="consent_required",
                detail=exc.detail,
                consent_request_id=exc.consent_request_id,
                booking_id=exc.hold_id,
            )
        except Conflict as exc:
            out.update(
                cause=exc.reason,
                detail=exc.detail,
                winning_booking_id=exc.winning_booking_id,
                winning_agent_id=exc.winning_agent_id,
                winning_agent_priority=exc.winning_agent_priority,
                your_priority=exc.your_priority,
                booking_id=exc.booking_id,
            )
        except RuleViolation as exc:
            out.update(cause=exc.rule, detail=exc.detail)
        except StoreUnavailable:
            raise  # the lease runs out and the timer settles it from the commit's record
        except AgentDraftError as exc:
            out.update(cause=exc.error, detail=exc.detail)
        reply = self._call(
            "proposal_finish",
            user_id,
            OWNER,
            pid,
            {k: val for k, val in out.items() if val is not None},
        )
        if reply["r"] != "ok":
            if booked_id is not None:
                # Settled by someone else after our lease ran out: this booking belongs
                # to no proposal any more, so give the slot back.
                self.bookings.cancel(
                    user_id=user_id, agent_id=organizer, key_hash="", booking_id=booked_id
                )
            raise InvalidState(
                f"the resolution of proposal {pid} outlived its lease and was settled "
                "without it; read the proposal",
                error="resolution_stale",
            )
        proposal = self._settled(user_id, reply["proposal"])
        if proposal.status == "pending":  # back to waiting for its deadline, not the lease
            self.timers.schedule(user_id, pid, int(reply["proposal"]["expires_ms"]), exact=True)
        f = reply.get("failure")
        if not f:
            return proposal, None
        remaining = [s.id for s in _open_slots(proposal)]
        who = (
            f" to {f['winning_agent_id']} (priority {f.get('winning_agent_priority')}, "
            f"booking {f.get('winning_booking_id')})"
            if f.get("winning_agent_id")
            else ""
        )
        return proposal, ResolutionFailed(
            f"proposal {pid} could not book slot {f['slot_id']}: {f['cause']}{who}. The "
            f"proposal is still {proposal.status}; resolve again to try the next-best slot "
            f"({len(remaining)} left) or cancel it",
            proposal_id=pid,
            slot_id=f["slot_id"],
            cause=f["cause"],
            remaining_slot_ids=remaining,
            winning_booking_id=f.get("winning_booking_id"),
            winning_agent_id=f.get("winning_agent_id"),
            winning_agent_priority=f.get("winning_agent_priority"),
            your_priority=f.get("your_priority"),
            audit_event_id=f.get("audit_event_id"),
        )


def _open_slots(p: Proposal) -> list[ProposalSlot]:
    failed = {f.slot_id for f in p.failed_slots}
    return [s for s in p.slots if s.id not in failed]
