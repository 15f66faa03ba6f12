"""The two ways in: ``coord.proposals`` (the owner's side, acting as any of its agents)
and ``client.proposals`` (an agent's key; it acts only as itself)."""

from __future__ import annotations

import builtins
from typing import Any

from ..access import BOOKINGS_READ, CallerContext
from ..errors import NotFound, ValidationError
from ..store.errors import store_errors
from . import validation as v
from .models import Proposal, Resolution
from .service import OWNER, Caller, ProposalService
from .timers import ProposalTimers


class Proposals:
    """``coord.proposals``: create, get, respond, resolve and cancel, the proposal flow's fields.

    The coordinator acts for the calendar's owner here: it names the agents
    (``organizer_agent_id``, ``agent_id``) instead of holding their keys. Agents use
    ``client.proposals``, which acts as the key's agent and nobody else.
    """

    def __init__(self, service: ProposalService) -> None:
        #: The proposal state machine both façades call into.
        self.service = service

    @property
    def timers(self) -> ProposalTimers:
        return self.service.timers

    def _owner(self, proposal_id: str) -> str:
        v.check_id(proposal_id, "proposal_id", "spr_")
        eng = self.service.store
        with store_errors("proposals"):
            user_id = eng.redis.get(eng.keys.proposal_index(proposal_id))
        if user_id is None:
            raise NotFound(f"no proposal {proposal_id}", error="proposal_not_found")
        return str(user_id)

    def create(
        self,
        *,
        calendar_id: str,
        organizer_agent_id: str,
        participant_agent_ids: builtins.list[str],
        slots: builtins.list[dict[str, Any]],
        expires_at: Any = None,
        title: str | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> Proposal:
        """Offer 1–20 ``slots`` (``start_time``, ``end_time``, optional ``weight``, default
        1.0) to 1–50 participant agents of the calendar. ``expires_at`` defaults to
        ``Settings.proposal_ttl_seconds`` from now; the proposal lapses then on its own."""
        v.check_id(calendar_id, "calendar_id")
        return self.service.create(
            calendar_id,
            OWNER,
            organizer_agent_id=organizer_agent_id,
            participant_agent_ids=participant_agent_ids,
            slots=slots,
            expires_at=expires_at,
            title=title,
            description=description,
            idempotency_key=idempotency_key,
        )

    def get(self, proposal_id: str) -> Proposal:
        return self.service.get(self._owner(proposal_id), OWNER, proposal_id)

    def list(self, calendar_id: str, *, status: str | None = None) -> builtins.list[Proposal]:
        """The calendar's proposals, oldest first (``status`` filters)."""
        return self.service.list(calendar_id, OWNER, status)

    def respond(
        self,
        proposal_id: str,
        *,
        agent_id: str,
        response: str,
        selected_slot_id: str | None = None,
        counter_slots: builtins.list[dict[str, Any]] | None = None,
        message: str | None = None,
    ) -> Proposal:
        """Record ``agent_id``'s one answer. The last answer resolves the proposal."""
        return self.service.respond(
            self._owner(proposal_id),
            OWNER,
            proposal_id,
            agent_id=agent_id,
            response=response,
            selected_slot_id=selected_slot_id,
            counter_slots=counter_slots,
            message=message,
        )

    def resolve(self, proposal_id: str) -> Resolution:
        """Pick the best slot now and book it with the organizer's priority.

        Raises :class:`~coordinator.ResolutionFailed` if the booking lost; the
        proposal stays pending with that slot marked failed.
        """
        return self.service.resolve(self._owner(proposal_id), OWNER, proposal_id)

    def cancel(self, proposal_id: str) -> Proposal:
        return self.service.cancel(self._owner(proposal_id), OWNER, proposal_id)


class ClientProposals:
    """``client.proposals``: the agent's side. Scopes: ``bookings:write`` to create,
    answer, resolve and cancel (they end in bookings), ``bookings:read`` to read."""

    def __init__(self, ctx: CallerContext, service: ProposalService) -> None:
        self._c = ctx
        self._s = service
        self._me = Caller(ctx.agent_id, ctx.key_hash)

    def create(
        self,
        *,
        participant_agent_ids: builtins.list[str],
        slots: builtins.list[dict[str, Any]],
        expires_at: Any = None,
        title: str | None = None,
        description: str | None = None,
        organizer_agent_id: str | None = None,
        calendar_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Proposal:
        """Open a proposal organised by this agent (the proposal flow's body; ``organizer_agent_id``
        and ``calendar_id`` may be given but must be this agent and its calendar)."""
        c = self._c
        if organizer_agent_id is not None and organizer_agent_id != c.agent_id:
            raise ValidationError("organizer_agent_id", f"must be this key's agent {c.agent_id}")
        if calendar_id is not None and calendar_id != c.user_id:
            raise ValidationError("calendar_id", f"must be this agent's calendar {c.user_id}")
        return self._s.create(
            c.user_id,
            self._me,
            organizer_agent_id=c.agent_id,
            participant_agent_ids=participant_agent_ids,
            slots=slots,
            expires_at=expires_at,
            title=title,
            description=description,
            idempotency_key=idempotency_key,
        )

    def get(self, proposal_id: str) -> Proposal:
        return self._s.get(self._c.user_id, self._me, proposal_id)

    def list(self, *, status: str | None = None) -> builtins.list[Proposal]:
        """Proposals this agent organises or is invited to."""
        self._c.authorize(BOOKINGS_READ)
        return self._s.list(self._c.user_id, self._me, status)

    def respond(
        self,
        proposal_id: str,
        *,
        response: str,
        selected_slot_id: str | None = None,
        counter_slots: builtins.list[dict[str, Any]] | None = None,
        message: str | None = None,
        agent_id: str | None = None,
    ) -> Proposal:
        """Answer as this agent (``agent_id``, if given, must be this agent)."""
        c = self._c
        if agent_id is not None and agent_id != c.agent_id:
            raise ValidationError("agent_id", f"must be this key's agent {c.agent_id}")
        return self._s.respond(
            c.user_id,
            self._me,
            proposal_id,
            agent_id=c.agent_id,
            response=response,
            selected_slot_id=selected_slot_id,
            counter_slots=counter_slots,
            message=message,
        )

    def resolve(self, proposal_id: str) -> Resolution:
        return self._s.resolve(self._c.user_id, self._me, proposal_id)

    def cancel(self, proposal_id: str) -> Proposal:
        return self._s.cancel(self._c.user_id, self._me, proposal_id)
