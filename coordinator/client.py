"""The in-process client: the official ``agentdraft.Client`` surface over the engine.

``coord.client(api_key)`` returns one of these. Its ``bookings``,
``availability``, ``agents``, ``approvals``, ``mailbox`` and ``audit`` attributes take the same
arguments as the SDK's, so code written against the hosted service runs unchanged
on the embedded coordinator, and the agent's identity is bound here, once, never
passed per call. Every call checks the key, its scope and its rate limit again,
so a rotated or revoked key stops at once even in a client built before.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .access import ANY, BOOKINGS_READ, RULES_READ, CallerContext
from .agents import Agents
from .approvals import ClientApprovals
from .audit import AuditLog
from .availability import Availability
from .booking_pages import BookingPage
from .bookings import Bookings, Mode, TimesOnly, Won
from .conferencing import link_for
from .connectors.registry import Connectors
from .counters import CounterOffer
from .mail.mailbox import ClientMailbox, Mailbox
from .models import AgentIdentity, AuditEntry, Booking
from .owners import Owners
from .proposals.api import ClientProposals
from .proposals.service import ProposalService
from .receipts import with_receipt
from .rules import Rules
from .ruleset import OwnerRules
from .store.handle import Store

if TYPE_CHECKING:
    from .store.aio import AsyncCalls


class _ClientBookings:
    def __init__(self, ctx: CallerContext, bookings: Bookings) -> None:
        self._ctx = ctx
        self._bookings = bookings

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
        link = link_for(self._ctx.store.settings, title=title) if with_conferencing else None
        return self._write(
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
            conferencing=link,
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
        return self._write(
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
        c = self._ctx
        return self._bookings.release(
            user_id=c.user_id, agent_id=c.agent_id, key_hash=c.key_hash, hold_id=hold_id
        )

    def cancel(self, booking_id: str) -> Booking:
        c = self._ctx
        return self._bookings.cancel(
            user_id=c.user_id, agent_id=c.agent_id, key_hash=c.key_hash, booking_id=booking_id
        )

    def get(self, booking_id: str) -> Booking:
        """Any booking on the owner's calendar, with who ended it and when."""
        c = self._ctx
        b = self._bookings.get(c.user_id, booking_id, agent_id=c.agent_id, key_hash=c.key_hash)
        return with_receipt(c.store, b)

    def list(
        self,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 100,
    ) -> BookingPage:
        """This agent's own bookings overlapping ``[start, end)``, in start order.

        Ended ones are listed too (``status`` filters, e.g. ``"COMMITTED"``), each naming
        who displaced it; ``cursor`` is the previous page's ``next_cursor``.
        """
        c = self._ctx
        return self._bookings.list_for_agent(
            c.user_id,
            agent_id=c.agent_id,
            key_hash=c.key_hash,
            start=start,
            end=end,
            status=status,
            cursor=cursor,
            limit=limit,
        )

    # -- counter-offers: a lost slot is not a dead end (coordinator/counters.py) --------

    def counter(
        self, booking_id: str, *, proposed: Sequence[Any], note: str | None = None
    ) -> CounterOffer:
        """Offer the agent of ``booking_id`` 1-5 ``proposed`` ``{start, end}`` slots instead
        of its own, with a ``note`` (at most 500 characters)."""
        c = self._ctx
        return self._bookings.counter(
            user_id=c.user_id,
            agent_id=c.agent_id,
            key_hash=c.key_hash,
            booking_id=booking_id,
            proposed=proposed,
            note=note,
        )

    def counters(self, booking_id: str) -> builtins.list[CounterOffer]:
        """The counters on one of this agent's own bookings, oldest first."""
        c = self._ctx
        return self._bookings.counters(
            user_id=c.user_id, agent_id=c.agent_id, key_hash=c.key_hash, booking_id=booking_id
        )

    def get_counter(self, booking_id: str, counter_id: str) -> CounterOffer:
        """One counter: this agent's own offer (to read the answer) or one on its booking."""
        c = self._ctx
        return self._bookings.get_counter(
            user_id=c.user_id,
            agent_id=c.agent_id,
            key_hash=c.key_hash,
            booking_id=booking_id,
            counter_id=counter_id,
        )

    def accept_counter(self, booking_id: str, counter_id: str, *, slot_index: int) -> CounterOffer:
        """Move this agent's booking to the counter's ``slot_index`` (0-based) slot."""
        c = self._ctx
        return self._bookings.accept_counter(
            user_id=c.user_id,
            agent_id=c.agent_id,
            key_hash=c.key_hash,
            booking_id=booking_id,
            counter_id=counter_id,
            slot_index=slot_index,
        )

    def reject_counter(self, booking_id: str, counter_id: str) -> CounterOffer:
        """Decline a counter on this agent's booking; the booking stays."""
        c = self._ctx
        return self._bookings.reject_counter(
            user_id=c.user_id,
            agent_id=c.agent_id,
            key_hash=c.key_hash,
            booking_id=booking_id,
            counter_id=counter_id,
        )

    def _write(self, mode: Mode, **kw: Any) -> Booking:
        c = self._ctx
        return self._bookings.write(
            user_id=c.user_id, agent_id=c.agent_id, key_hash=c.key_hash, mode=mode, **kw
        )

    # -- for the HTTP server's event loop (see coordinator.store.aio) --------------------

    async def write_async(
        self, calls: AsyncCalls, mode: Mode, *, with_conferencing: bool = False, **kw: Any
    ) -> Booking:
        """:meth:`commit` (or :meth:`hold`) with the claim sent on an asyncio client."""
        return await self._bookings.write_async(calls, **self._on_loop(mode, with_conferencing, kw))

    async def write_record_async(
        self, calls: AsyncCalls, mode: Mode, *, with_conferencing: bool = False, **kw: Any
    ) -> Won:
        """:meth:`write_async`, a plain win given as its stored record (see
        :meth:`Bookings.write_record_async <coordinator.bookings.Bookings.write_record_async>`)."""
        return await self._bookings.write_record_async(
            calls, **self._on_loop(mode, with_conferencing, kw)
        )

    async def commit_times_async(
        self, calls: AsyncCalls, start: str, end: str, idempotency_key: str | None
    ) -> Won:
        """:meth:`write_record_async` of a commit given only its start and end (see
        :meth:`Bookings.commit_times_async <coordinator.bookings.Bookings.commit_times_async>`)."""
        c = self._ctx
        return await self._bookings.commit_times_async(
            calls, TimesOnly(c.user_id, c.agent_id, c.key_hash, start, end, idempotency_key)
        )

    def _on_loop(self, mode: Mode, with_conferencing: bool, kw: dict[str, Any]) -> dict[str, Any]:
        """The engine's keyword arguments for a write made on the event loop."""
        c = self._ctx
        if with_conferencing:
            kw["conferencing"] = link_for(c.store.settings, title=kw.get("title"))
        return {
            "user_id": c.user_id,
            "agent_id": c.agent_id,
            "key_hash": c.key_hash,
            "mode": mode,
            **kw,
        }

    async def get_async(self, calls: AsyncCalls, booking_id: str) -> Booking:
        """:meth:`get` with the read sent on an asyncio client."""
        return await self.from_read_async(*await self.record_async(calls, booking_id))

    async def record_async(self, calls: AsyncCalls, booking_id: str) -> tuple[dict[str, Any], int]:
        """The stored record and server clock of :meth:`get_async`'s read, not yet a model."""
        c = self._ctx
        return await self._bookings.record_async(
            calls, c.user_id, booking_id, agent_id=c.agent_id, key_hash=c.key_hash
        )

    async def from_read_async(self, rec: dict[str, Any], now: int) -> Booking:
        """The booking :meth:`get_async` answers for a record :meth:`record_async` read."""
        c = self._ctx
        b = await self._bookings.from_read_async(rec, c.user_id, now)
        return b if not b.approval_id else with_receipt(c.store, b)


class _Agents:
    def __init__(self, ctx: CallerContext, agents: Agents, owners: Owners) -> None:
        self._ctx = ctx
        self._agents = agents
        self._owners = owners

    def me(self) -> AgentIdentity:
        c = self._ctx
        c.authorize(ANY)
        a = self._agents.get(c.user_id, c.agent_id)
        tz = self._owners.get(c.user_id).timezone
        return AgentIdentity(
            agent_id=a.agent_id,
            user_id=a.user_id,
            priority=a.priority,
            scopes=list(a.scopes),
            timezone=tz,
            name=a.name,
        )


class _Audit:
    def __init__(self, ctx: CallerContext, audit: AuditLog) -> None:
        self._ctx = ctx
        self._audit = audit

    def list(
        self,
        resource: str | None = None,
        *,
        start: datetime | str | None = None,
        end: datetime | str | None = None,
        limit: int | None = None,
    ) -> list[AuditEntry]:
        """Entries for one booking (``resource=bkg_…``) or the calendar in a time range."""
        self._ctx.authorize(BOOKINGS_READ)
        if resource:
            return self._audit.for_booking(self._ctx.user_id, resource)
        return self._audit.range(self._ctx.user_id, start, end, limit=limit)


class _Rules:
    def __init__(self, ctx: CallerContext, rules: Rules) -> None:
        self._ctx = ctx
        self._rules = rules

    def get(self) -> OwnerRules:
        """The owner's rules as this agent may read them (scope ``rules:read``)."""
        self._ctx.authorize(RULES_READ)
        return self._rules.get(self._ctx.user_id)


class LocalClient:
    """An agent's handle on an in-process coordinator, bound to one API key.

    Built by :meth:`coordinator.Coordinator.client`, which checks the key once and
    hands in the parts each sub-API calls.
    """

    def __init__(
        self,
        context: CallerContext,
        *,
        bookings: Bookings,
        agents: Agents,
        owners: Owners,
        audit: AuditLog,
        rules: Rules,
        proposals: ProposalService,
        connectors: Connectors,
        mailbox: Mailbox,
    ) -> None:
        #: Who this client calls as; every sub-API is given it.
        self.context = context
        self.user_id = context.user_id
        self.agent_id = context.agent_id
        self.bookings = _ClientBookings(context, bookings)
        self.availability = Availability(context, connectors.freshness)
        self.agents = _Agents(context, agents, owners)
        self.approvals = ClientApprovals(context)
        self.rules = _Rules(context, rules)
        self.audit = _Audit(context, audit)
        self.proposals = ClientProposals(context, proposals)
        self.mailbox = ClientMailbox(context, mailbox)

    @classmethod
    def for_key(
        cls,
        api_key: str,
        *,
        store: Store,
        bookings: Bookings,
        agents: Agents,
        owners: Owners,
        audit: AuditLog,
        rules: Rules,
        proposals: ProposalService,
        connectors: Connectors,
        mailbox: Mailbox,
    ) -> LocalClient:
        """Check ``api_key`` (unknown, rotated or revoked raises) and bind a client to it."""
        user_id, agent_id, key_hash = agents.authenticate(api_key)
        return cls(
            CallerContext(user_id, agent_id, key_hash, store),
            bookings=bookings,
            agents=agents,
            owners=owners,
            audit=audit,
            rules=rules,
            proposals=proposals,
            connectors=connectors,
            mailbox=mailbox,
        )

    def close(self) -> None:
        """Nothing to release: clients share the coordinator's connection pool."""

    def __enter__(self) -> LocalClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"LocalClient(agent_id={self.agent_id!r}, user_id={self.user_id!r})"
