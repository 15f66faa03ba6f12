"""Counter-offers on a booking: a 409 is not a dead end.

The agent that lost a slot offers the winning booking's agent 1-5 alternative slots
and a note (``create``). That agent lists them (``list``) and accepts one
(``accept``: its booking moves to that slot) or declines (``reject``). Accepting goes
through ``counter_accept.lua``, which claims the chosen slot with the same steps as a
commit (occupants, ranking, eviction, external events, the owner's rules, the daily
cap) and, in the same atomic step, ends the original booking as ``MOVED``, so the swap
is exactly as race-safe as a commit: if a third agent took the slot first, the accept
is a 409 naming it and the original booking stays. Every step is audited and emitted
as a webhook (``counter.created|accepted|rejected``, ``booking.moved``).

The freed original slot is not reserved for the counter's author: it books it like any
other write (``agentdraft_agents.negotiation.counter`` does exactly that).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from .access import BOOKINGS_WRITE
from .buckets import check_interval, cover, from_ms, parse_time, to_ms
from .errors import AgentDraftError, ValidationError
from .ids import new_id
from .inputs import check_id, text
from .models import Booking, Slot
from .policy import gate_checks, judge
from .replies import About, conflict, refusal
from .ruleset import RulesSnapshot
from .store.calls import DaySpan
from .store.errors import store_errors
from .store.handle import Store
from .store.records import fixed_digest

#: Alternatives one counter may offer, and the longest note.
MAX_PROPOSED = 5
MAX_NOTE = 500
#: Pending counters one booking may carry at once (one per agent besides).
MAX_PENDING = 20
#: Resends after the rules changed or the slot's outcome was still open.
_MAX_RETRIES = 64

CounterStatus = Literal["pending", "accepted", "rejected", "superseded"]
Waiter = Callable[[str, str, int], None]


class CounterOffer(BaseModel):
    """One counter-offer: who offered what against which booking, and the answer."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    counter_id: str
    booking_id: str
    #: The agent that offered it (it lost the booking's slot, or wants it).
    agent_id: str
    #: The booking's agent: the only one who may accept or reject it.
    winner_agent_id: str
    proposed: list[Slot]
    note: str | None = None
    status: CounterStatus
    created_at: datetime
    audit_event_id: str | None = None
    decided_at: datetime | None = None
    #: Accepted: which of ``proposed`` (0-based) and the booking made there.
    slot_index: int | None = None
    new_booking_id: str | None = None
    #: On the answer to an accept only: the booking at its new time.
    booking: Booking | None = None

    @classmethod
    def from_record(cls, rec: dict[str, Any], *, booking: Booking | None = None) -> CounterOffer:
        decided = rec.get("decided_ms")
        return cls(
            counter_id=rec["id"],
            booking_id=rec["booking_id"],
            agent_id=rec["agent_id"],
            winner_agent_id=rec["winner_agent_id"],
            proposed=[
                Slot(start=from_ms(s["start_ms"]), end=from_ms(s["end_ms"]))
                for s in rec["proposed"]
            ],
            note=rec.get("note") or None,
            status=rec["status"],
            created_at=from_ms(rec["created_ms"]),
            audit_event_id=rec.get("audit_event_id"),
            decided_at=from_ms(decided) if decided else None,
            slot_index=rec.get("slot_index"),
            new_booking_id=rec.get("new_booking_id"),
            booking=booking,
        )


def check_proposed(proposed: object, max_minutes: int) -> list[dict[str, int]]:
    """1-5 ``{start, end}`` slots (ISO 8601 with an offset, or aware datetimes), as ms."""
    if not isinstance(proposed, list | tuple) or not 1 <= len(proposed) <= MAX_PROPOSED:
        raise ValidationError("proposed", f"must be a list of 1 to {MAX_PROPOSED} slots")
    out = []
    for i, slot in enumerate(proposed):
        where = f"proposed[{i}]"
        if isinstance(slot, Slot):
            slot = {"start": slot.start, "end": slot.end}
        if not isinstance(slot, dict) or set(slot) != {"start", "end"}:
            raise ValidationError(where, "must be an object with start and end only")
        s = parse_time(slot["start"], f"{where}.start")
        e = parse_time(slot["end"], f"{where}.end")
        try:
            check_interval(s, e, max_minutes)
        except ValidationError as exc:
            raise ValidationError(f"{where}.{exc.field}", exc.detail.split(": ", 1)[-1]) from None
        out.append({"start_ms": to_ms(s), "end_ms": to_ms(e)})
    return out


def check_slot_index(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_PROPOSED:
        raise ValidationError("slot_index", f"must be an integer from 0 to {MAX_PROPOSED - 1}")
    return value


class CounterOffers:
    """The counter-offer transitions of one Redis (``coord.bookings`` delegates here).

    ``wait_on(user_id, booking_id, remaining_ms)`` blocks until a booking whose win is
    still open settles (the claim's arbitration-window wait), for an accept whose slot
    is held by such a booking.
    """

    def __init__(self, store: Store, wait_on: Waiter) -> None:
        self.store = store
        self.calls = store.calls
        self.keys = store.keys
        self.limits = store.limits
        self.rules_cache = store.rules_cache
        self.wait_on = wait_on

    def create(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        proposed: Sequence[Any],
        note: str | None = None,
    ) -> CounterOffer:
        """Offer ``booking_id``'s agent ``proposed`` slots instead of its own."""
        check_id(booking_id, "booking_id")
        slots = check_proposed(proposed, self.store.settings.max_booking_minutes)
        text(note, "note", max_len=MAX_NOTE, multiline=True)
        payload = {"proposed": slots, "note": note or "", "max_pending": MAX_PENDING}
        reply = self._call(
            "counter_create", user_id, agent_id, key_hash, booking_id, new_id("cnt"), payload
        )
        self.store.acknowledge(user_id)
        return CounterOffer.from_record(reply["counter"])

    def list(
        self, *, user_id: str, agent_id: str, key_hash: str, booking_id: str
    ) -> builtins.list[CounterOffer]:
        """Every counter on the caller's own booking, oldest first."""
        check_id(booking_id, "booking_id")
        reply = self._call("counter_read", user_id, agent_id, key_hash, booking_id, "", None)
        counters = sorted(reply["counters"], key=lambda c: (c["created_ms"], c["id"]))
        return [CounterOffer.from_record(c) for c in counters]

    def get(
        self, *, user_id: str, agent_id: str, key_hash: str, booking_id: str, counter_id: str
    ) -> CounterOffer:
        """One counter, for its author or the booking's agent."""
        check_id(booking_id, "booking_id")
        check_id(counter_id, "counter_id", prefix="cnt_")
        reply = self._call(
            "counter_read", user_id, agent_id, key_hash, booking_id, counter_id, None
        )
        return CounterOffer.from_record(reply["counters"][0])

    def reject(
        self, *, user_id: str, agent_id: str, key_hash: str, booking_id: str, counter_id: str
    ) -> CounterOffer:
        """Decline a pending counter on the caller's booking; the booking stays."""
        check_id(booking_id, "booking_id")
        check_id(counter_id, "counter_id", prefix="cnt_")
        reply = self._call(
            "counter_reject", user_id, agent_id, key_hash, booking_id, counter_id, None
        )
        self.store.acknowledge(user_id)
        return CounterOffer.from_record(reply["counter"])

    def accept(
        self,
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        counter_id: str,
        slot_index: int,
    ) -> CounterOffer:
        """Move the caller's booking to the counter's ``slot_index`` slot, atomically.

        Raises :class:`~coordinator.Conflict` naming who holds that slot (the booking
        stays where it was, the counter stays pending), or the typed refusal.
        """
        check_id(booking_id, "booking_id")
        check_id(counter_id, "counter_id", prefix="cnt_")
        index = check_slot_index(slot_index)
        about = About(user_id, counter_id, agent_id, "accept")
        new_booking_id = new_id("bkg")
        for _ in range(_MAX_RETRIES):
            snap = self.rules_cache.get(user_id)
            plan = self._accept_plan(user_id, agent_id, booking_id, counter_id, index, snap)
            with store_errors("counter accept"):
                reply = self.calls.counter_accept(
                    user_id=user_id,
                    agent_id=agent_id,
                    key_hash=key_hash,
                    limits=self.limits,
                    booking_id=booking_id,
                    counter_id=counter_id,
                    payload={**plan.payload, "new_booking_id": new_booking_id},
                    days=plan.days,
                    checks=plan.checks,
                    cap_days=plan.cap_days,
                )
            r = reply["r"]
            if r == "rules_changed":
                self.rules_cache.put(user_id, RulesSnapshot.from_reply(reply))
            elif r == "pending":
                self.wait_on(user_id, reply["wait_for"], reply["until_ms"] - reply["now"])
            elif r == "error" and reply.get("error") == "slot_mismatch":
                continue  # the counter appeared or changed since it was read: plan again
            elif r == "conflict":
                self.store.acknowledge(user_id)
                lost = conflict(reply)
                lost.detail += (
                    f". Nothing moved: booking {booking_id} stays where it was and counter "
                    f"{counter_id} is still pending"
                )
                raise lost
            elif r == "error":
                raise refusal("counter", reply, about)
            else:
                self.store.acknowledge(user_id)
                moved = Booking.from_record(reply["booking"], user_id, reply["now"])
                return CounterOffer.from_record(reply["counter"], booking=moved)
        raise AgentDraftError("the counter's slot stayed undecided too long; retry the accept")

    # -- internals ---------------------------------------------------------------------

    def _call(
        self,
        transition: Literal["counter_create", "counter_read", "counter_reject"],
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        counter_id: str,
        payload: dict[str, Any] | None,
    ) -> dict[str, Any]:
        with store_errors(transition):
            reply = self.calls.counter(
                transition,
                user_id=user_id,
                agent_id=agent_id,
                key_hash=key_hash,
                limits=self.limits,
                booking_id=booking_id,
                counter_id=counter_id,
                payload=payload,
            )
        if reply["r"] != "ok":
            op = transition.removeprefix("counter_")
            raise refusal("counter", reply, About(user_id, booking_id, agent_id, op))
        return reply

    def _accept_plan(
        self,
        user_id: str,
        agent_id: str,
        booking_id: str,
        counter_id: str,
        index: int,
        snap: RulesSnapshot,
    ) -> _AcceptPlan:
        """What the accept would claim, read as the coordinator (the script checks it all
        again). With nothing to claim (no such booking, counter or slot) the plan is empty
        and the script answers the refusal in its order: key, booking, caller, counter."""
        empty = _AcceptPlan({"slot_index": index, "start_ms": 0, "end_ms": 0}, [], {}, [])
        empty.checks.update(scope=BOOKINGS_WRITE, limits=self.limits, rv=snap.version)
        with store_errors("counter accept"):
            raw = self.store.redis.hget(self.keys.counters(user_id, booking_id), counter_id)
            found = self.calls.read_booking(user_id, booking_id)
        if not raw or found["r"] != "ok":
            return empty
        counter, orig = json.loads(raw), found["booking"]
        if index >= len(counter["proposed"]):
            return empty
        slot = counter["proposed"][index]
        s, e = int(slot["start_ms"]), int(slot["end_ms"])
        before, after = orig.get("buffer_before_min") or 0, orig.get("buffer_after_min") or 0
        c = cover(from_ms(s), from_ms(e), before, after)
        verdict = judge(snap, agent_id, "commit", s, e)
        checks, cap_days = gate_checks(snap, verdict, s, scope=BOOKINGS_WRITE, limits=self.limits)
        bump_ms = int(self.store.settings.bump_window_seconds * 1000)
        if orig.get("committed_ms") and orig.get("bump_until_ms"):
            bump_ms = int(orig["bump_until_ms"]) - int(orig["committed_ms"])
        static = {
            "start_ms": s,
            "end_ms": e,
            "cover_first": c.first,
            "cover_last": c.last,
            "buffer_before_min": before,
            "buffer_after_min": after,
            "title": orig.get("title") or "",
            "invitee": orig.get("invitee") or False,
            "metadata": orig.get("metadata") or False,
            "conferencing": orig.get("conferencing") or False,
        }
        payload = {
            "slot_index": index,
            "start_ms": s,
            "end_ms": e,
            "static": static,
            # The new booking's creating entry carries it, as a commit's does.
            "digest": fixed_digest(static),
            "bump_ms": bump_ms,
            "approval_required": bool(verdict.consent and not verdict.violation),
        }
        days = [DaySpan(d, first, last) for d, first, last in c.days()]
        return _AcceptPlan(payload, days, checks, cap_days)


class _AcceptPlan:
    """The arguments of one accept attempt."""

    def __init__(
        self,
        payload: dict[str, Any],
        days: list[DaySpan],
        checks: dict[str, Any],
        cap_days: list[int],
    ) -> None:
        self.payload = payload
        self.days = days
        self.checks = checks
        self.cap_days = cap_days


__all__ = [
    "MAX_NOTE",
    "MAX_PENDING",
    "MAX_PROPOSED",
    "CounterOffer",
    "CounterOffers",
    "CounterStatus",
    "check_proposed",
    "check_slot_index",
]
