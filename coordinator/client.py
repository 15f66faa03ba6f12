"""The in-process client: the official ``agentdraft.Client`` surface over the engine.

``coord.client(api_key)`` returns one of these. Its ``bookings``,
``availability``, ``agents``, ``approvals`` and ``audit`` attributes take the same
arguments as the SDK's, so code written against the hosted service runs unchanged
on the embedded coordinator, and the agent's identity is bound here, once, never
passed per call. Every call checks the key, its scope and its rate limit again,
so a rotated or revoked key stops at once even in a client built before.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from .access import ANY, BOOKINGS_READ, RULES_READ, authorize
from .approvals import ClientApprovals
from .availability import Availability
from .models import AgentIdentity, AuditEntry, Booking
from .proposals.api import ClientProposals
from .ruleset import OwnerRules

if TYPE_CHECKING:
    from .coordinator import Coordinator


class _Bookings:
    def __init__(self, client: LocalClient) -> None:
        self._c = client

    def commit(
        self,
        *,
        start: datetime | str,
        end: datetime | str,
        idempotency_key: str | None = None,
        buffer_before_min: int | None = None,
        buffer_after_min: int | None = None,
        bump_window_seconds: float | None = None,
        metadata: dict[str, Any] | None = None,
        with_conferencing: bool = False,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
        availability_etag: str | None = None,
    ) -> Booking:
        """Commit ``[start, end)``. Raises :class:`~coordinator.Conflict` on a lost race.

        Buffers left as None take the owner's defaults. ``availability_etag`` (from
        ``availability.list``) makes the write fail with
        :class:`~coordinator.StaleAvailability` if the owner's rules changed since.
        """
        del with_conferencing  # accepted for SDK compatibility; no conferencing provider here
        return self._c._write(
            "commit",
            start=start,
            end=end,
            idempotency_key=idempotency_key,
            buffer_before_min=buffer_before_min,
            buffer_after_min=buffer_after_min,
            bump_window_seconds=bump_window_seconds,
            metadata=metadata,
            title=title,
            invitee=invitee,
            availability_etag=availability_etag,
        )

    def hold(
        self,
        *,
        start: datetime | str,
        end: datetime | str,
        idempotency_key: str | None = None,
        buffer_before_min: int | None = None,
        buffer_after_min: int | None = None,
        metadata: dict[str, Any] | None = None,
        title: str | None = None,
        invitee: dict[str, Any] | None = None,
        hold_ttl_seconds: float | None = None,
        availability_etag: str | None = None,
    ) -> Booking:
        """Place a hold that expires after ``hold_ttl_seconds`` (default 30 s)."""
        return self._c._write(
            "hold",
            start=start,
            end=end,
            idempotency_key=idempotency_key,
            buffer_before_min=buffer_before_min,
            buffer_after_min=buffer_after_min,
            metadata=metadata,
            title=title,
            invitee=invitee,
            hold_ttl_seconds=hold_ttl_seconds,
            availability_etag=availability_etag,
        )

    def promote(
        self,
        hold_id: str,
        *,
        idempotency_key: str | None = None,
        bump_window_seconds: float | None = None,
    ) -> Booking:
        """Turn the caller's own live hold into a commit over the same range."""
        h = self.get(hold_id)
        return self.commit(
            start=h.start,
            end=h.end,
            idempotency_key=idempotency_key,
            buffer_before_min=h.buffer_before_min,
            buffer_after_min=h.buffer_after_min,
            bump_window_seconds=bump_window_seconds,
            metadata=h.metadata,
            title=h.title,
            invitee=h.invitee,
        )

    def release(self, hold_id: str) -> Booking:
        c = self._c
        return c._coord.engine.release(
            user_id=c.user_id, agent_id=c.agent_id, key_hash=c._key_hash, hold_id=hold_id
        )

    def cancel(self, booking_id: str) -> Booking:
        c = self._c
        return c._coord.engine.cancel(
            user_id=c.user_id, agent_id=c.agent_id, key_hash=c._key_hash, booking_id=booking_id
        )

    def get(self, booking_id: str) -> Booking:
        """Any booking on the owner's calendar, with who ended it and when."""
        c = self._c
        return c._coord.engine.get(c.user_id, booking_id, agent_id=c.agent_id, key_hash=c._key_hash)


class _Agents:
    def __init__(self, client: LocalClient) -> None:
        self._c = client

    def me(self) -> AgentIdentity:
        c = self._c
        c._authorize(ANY)
        a = c._coord.agents.get(c.user_id, c.agent_id)
        tz = c._coord.owners.get(c.user_id).timezone
        return AgentIdentity(
            agent_id=a.agent_id,
            user_id=a.user_id,
            priority=a.priority,
            scopes=list(a.scopes),
            timezone=tz,
            name=a.name,
        )


class _Audit:
    def __init__(self, client: LocalClient) -> None:
        self._c = client

    def list(
        self,
        resource: str | None = None,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries for one booking (``resource=bkg_…``) or the calendar in a time range."""
        self._c._authorize(BOOKINGS_READ)
        log = self._c._coord.audit
        if resource:
            return log.for_booking(self._c.user_id, resource)
        return log.range(self._c.user_id, start, end, limit=limit)


class _Rules:
    def __init__(self, client: LocalClient) -> None:
        self._c = client

    def get(self) -> OwnerRules:
        """The owner's rules as this agent may read them (scope ``rules:read``)."""
        c = self._c
        c._authorize(RULES_READ)
        return c._coord.rules.get(c.user_id)


class LocalClient:
    """An agent's handle on an in-process coordinator, bound to one API key."""

    def __init__(self, coordinator: Coordinator, api_key: str) -> None:
        self._coord = coordinator
        self.user_id, self.agent_id, self._key_hash = coordinator.agents.authenticate(api_key)
        self.bookings = _Bookings(self)
        self.availability = Availability(self)
        self.agents = _Agents(self)
        self.approvals = ClientApprovals(self)
        self.rules = _Rules(self)
        self.audit = _Audit(self)
        self.proposals = ClientProposals(self)

    def _authorize(self, scope: str) -> None:
        authorize(self._coord.engine.store, self.user_id, self.agent_id, self._key_hash, scope)

    def _write(self, mode: str, **kw: Any) -> Booking:
        return self._coord.engine.write(
            user_id=self.user_id,
            agent_id=self.agent_id,
            key_hash=self._key_hash,
            mode=mode,  # type: ignore[arg-type]
            **kw,
        )

    def close(self) -> None:
        """Nothing to release: clients share the coordinator's connection pool."""

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalClient(agent_id={self.agent_id!r}, user_id={self.user_id!r})"
