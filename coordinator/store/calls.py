"""The typed script-call layer: one function per Lua script, the only code that knows
the KEYS and ARGV positions.

Each function's signature is its script's contract (the script's header says the same
in Lua terms): fixed keys first, variable keys last, and the script binds every ARGV to
a name at its top. Callers pass named values and get the script's decoded JSON reply;
mapping a reply to a typed error is :mod:`coordinator.replies`'s job. Store failures
surface as redis-py's exceptions: the caller wraps them (it knows the step's name).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from .keys import Keys
from .scripts import Scripts

Reply = dict[str, Any]


@dataclass(frozen=True)
class DaySpan:
    """The bucket fields one booking covers within one UTC day (inclusive)."""

    day: int
    first: int
    last: int


@dataclass(frozen=True)
class Calls:
    """The scripts of one Redis client, called by name with named arguments."""

    scripts: Scripts
    keys: Keys

    def claim(
        self,
        mode: Literal["hold", "commit"],
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        request_hash: str,
        static: dict[str, Any],
        hold_ttl_ms: int,
        bump_ms: int,
        window_ms: int,
        idempotency_key: str | None,
        idempotency_ttl_s: int,
        days: Sequence[DaySpan],
        checks: dict[str, Any],
        cap_days: Sequence[int] = (),
    ) -> Reply:
        """hold.lua / commit.lua (see _claim.lua): place the booking on every bucket or none.

        ``static`` is the record's fixed part (times, cover, title, invitee, metadata,
        buffers); ``checks`` the owner's rules as _gate.lua reads them. With no
        ``idempotency_key`` nothing is remembered for a retry.
        """
        k = self.keys
        keys = [
            k.owner(user_id),
            k.bookings(user_id),
            k.agents(user_id),
            k.audit(user_id),
            k.idempotency(user_id, agent_id, idempotency_key or "-"),
            k.agent(user_id, agent_id),
            k.rate_limit(user_id, agent_id),
            k.approvals(user_id),
            *(k.day(user_id, d.day) for d in days),
            *(k.day(user_id, d) for d in cap_days),
        ]
        args: list[Any] = [
            agent_id,
            booking_id,
            request_hash,
            json.dumps(static),
            hold_ttl_ms,
            bump_ms,
            window_ms,
            idempotency_ttl_s if idempotency_key else 0,
            len(days),
            key_hash,
            json.dumps(checks),
        ]
        for d in days:
            args += [d.first, d.last]
        script = self.scripts.commit if mode == "commit" else self.scripts.hold
        return _reply(script(keys=keys, args=args))

    def end_booking(
        self,
        what: Literal["cancel", "release"],
        *,
        user_id: str,
        agent_id: str,
        key_hash: str,
        booking_id: str,
        limits: dict[str, Any],
    ) -> Reply:
        """cancel.lua / release.lua (see _end.lua): the agent ends its own booking."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.bookings(user_id),
            k.agent(user_id, agent_id),
            k.rate_limit(user_id, agent_id),
        ]
        script = self.scripts.cancel if what == "cancel" else self.scripts.release
        return _reply(script(keys=keys, args=[agent_id, booking_id, key_hash, json.dumps(limits)]))

    def read_booking(
        self,
        user_id: str,
        booking_id: str,
        *,
        agent_id: str = "",
        key_hash: str = "",
        scope: str = "",
        limits: dict[str, Any] | None = None,
    ) -> Reply:
        """read_booking.lua: one record and the server clock. Without ``key_hash`` the
        coordinator reads for itself (no key, scope or token)."""
        k = self.keys
        keys = [k.owner(user_id), k.bookings(user_id)]
        args: list[Any] = [booking_id]
        if key_hash:
            keys += [k.agent(user_id, agent_id), k.rate_limit(user_id, agent_id)]
            args += [key_hash, scope, json.dumps(limits or {})]
        return _reply(self.scripts.read_booking(keys=keys, args=args))

    def connector_apply(
        self, *, user_id: str, connector_id: str, policy: str, plan: dict[str, Any]
    ) -> Reply:
        """connector_apply.lua: move one connector's external busy blocks, evict or flag
        the bookings they land on by ``policy``, and store its sync state, atomically."""
        k = self.keys
        keys = [
            k.owner(user_id),
            k.external_blocks(user_id),
            k.connector_state(user_id, connector_id),
            k.connector_hrefs(user_id, connector_id),
        ]
        args = [connector_id, policy, json.dumps(plan)]
        return _reply(self.scripts.connector_apply(keys=keys, args=args))


def _reply(raw: Any) -> Reply:
    reply: Reply = json.loads(raw)
    return reply
