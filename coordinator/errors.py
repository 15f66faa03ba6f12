"""The coordinator's exceptions: one root, one class per thing a caller can act on.

Names and attributes mirror the official ``agentdraft`` SDK (``Conflict``,
``AuthError``, ``RuleViolation``, ``RateLimited``, ``ConsentRequired``) so code
written against the hosted service catches the same names here. Every error
carries ``error`` (the machine code the HTTP body uses), ``status`` (the HTTP
status it maps to) and ``detail`` (a human sentence).
"""

from __future__ import annotations

from typing import Any


class AgentDraftError(Exception):
    """Root of every error the coordinator raises on purpose."""

    error: str = "internal_error"
    status: int = 500

    def __init__(
        self, detail: str, *, error: str | None = None, status: int | None = None, **context: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if error is not None:
            self.error = error
        if status is not None:
            self.status = status
        self.context: dict[str, Any] = context

    @property
    def body(self) -> dict[str, Any]:
        """The JSON body an HTTP server sends for this error."""
        return {"error": self.error, "detail": self.detail, **self.context}


class ValidationError(AgentDraftError, ValueError):
    """Bad input: the request names a field whose value can never be accepted.

    ``field`` names the offending input so a caller (or a model) can fix it.
    Nothing was written.
    """

    error = "invalid_request"
    status = 422

    def __init__(self, field: str, detail: str, *, error: str | None = None) -> None:
        super().__init__(f"{field}: {detail}", error=error, field=field)
        self.field = field


class NotFound(AgentDraftError, LookupError):
    """An id that does not exist (or that the caller may not see)."""

    error = "not_found"
    status = 404


class Conflict(AgentDraftError):
    """409: the write lost to another booking. Says who won and how to look it up.

    ``reason`` is ``outranked`` (a booking of equal or better priority holds the
    slot, or a better one arrived inside the arbitration window), ``frozen``
    (a lower-priority commit holds it but its bump window has closed) or
    ``external_event`` (an event of the owner's real calendar, pulled by a connector,
    holds it; ``connector_id`` and ``event_uid`` name it and no winner fields are set).
    """

    status = 409

    def __init__(
        self,
        detail: str,
        *,
        reason: str,
        winning_booking_id: str | None,
        winning_agent_id: str | None,
        winning_agent_priority: int | None,
        your_priority: int | None,
        audit_event_id: str | None = None,
        booking_id: str | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(
            detail,
            error=reason,
            winning_booking_id=winning_booking_id,
            winning_agent_id=winning_agent_id,
            winning_agent_priority=winning_agent_priority,
            your_priority=your_priority,
            audit_event_id=audit_event_id,
            **extra,
        )
        self.reason = reason
        self.winning_booking_id = winning_booking_id
        self.winning_agent_id = winning_agent_id
        self.winning_agent_priority = winning_agent_priority
        self.your_priority = your_priority
        self.audit_event_id = audit_event_id
        #: The winner's agent name, added once the loss is final (``Bookings`` looks it up).
        self.winning_agent_name: str | None = extra.get("winning_agent_name")
        #: The id of the caller's own (now EVICTED/REJECTED) booking, if one was created.
        self.booking_id = booking_id


class InvalidState(AgentDraftError):
    """409: the operation does not apply to the object's current state.

    For example releasing a hold that was already committed, or cancelling a
    booking that was evicted.
    """

    error = "invalid_state"
    status = 409


class IdempotencyMismatch(AgentDraftError):
    """422: an idempotency key was reused with a different request body."""

    error = "idempotency_key_reused"
    status = 422


class Gone(AgentDraftError):
    """410: the thing referred to has expired (a hold past its TTL, a stale etag)."""

    error = "gone"
    status = 410


class AuthError(AgentDraftError):
    """401/403: the key is missing, unknown, rotated or revoked (401), or it may not do this.

    403 carries ``error="insufficient_scope"`` (the key lacks ``required_scope``) or
    ``error="forbidden"`` (another agent's booking, another owner's calendar). The
    status follows the code unless given, so callers never pick a wrong pair.
    """

    error = "unauthorized"
    status = 401

    #: Codes that mean "we know who you are, and you may not": HTTP 403.
    FORBIDDEN_CODES = frozenset({"insufficient_scope", "forbidden"})

    def __init__(
        self, detail: str, *, error: str | None = None, status: int | None = None, **context: Any
    ) -> None:
        if status is None and error in self.FORBIDDEN_CODES:
            status = 403
        super().__init__(detail, error=error, status=status, **context)
        self.required_scope: str | None = context.get("required_scope")


class RuleViolation(AgentDraftError):
    """422: the booking breaks one of the owner's rules; nothing was written.

    ``error`` (also ``rule``) is one of :data:`RULE_CODES`. The context says what
    would have been needed (``local_date`` and ``daily_cap``, ``earliest_start``, ...).
    """

    status = 422
    RULE_CODES = (
        "outside_working_hours",
        "focus_block",
        "lead_time_not_met",
        "daily_cap_reached",
        "hold_ttl_too_long",
    )

    def __init__(self, rule: str, detail: str, **context: Any) -> None:
        super().__init__(detail, error=rule, **context)
        self.rule = rule


class RateLimited(AgentDraftError):
    """429: the key's token bucket is empty. Retry after ``retry_after`` seconds.

    ``retry_after`` is whole seconds, rounded up, as the HTTP ``Retry-After`` header
    carries it (and the official SDK reads it); ``retry_after_ms`` is the exact wait.
    """

    error = "rate_limited"
    status = 429

    def __init__(self, detail: str, *, retry_after_ms: int) -> None:
        retry_after = max(1, -(-int(retry_after_ms) // 1000))
        super().__init__(detail, retry_after=retry_after, retry_after_ms=int(retry_after_ms))
        self.retry_after = retry_after
        self.retry_after_ms = int(retry_after_ms)


class ConsentRequired(AgentDraftError):
    """409: the owner wants a person to approve this commit; the slot is parked as a HOLD.

    Not a lost race: ``hold_id`` keeps the slot until ``expires_at`` while a person
    approves (the commit then goes through the normal conflict path) or denies
    (the hold is released) ``consent_request_id``.
    """

    error = "consent_required"
    status = 409

    def __init__(
        self,
        detail: str,
        *,
        consent_request_id: str,
        hold_id: str,
        expires_at: str,
        action: str = "bookings.commit",
    ) -> None:
        super().__init__(
            detail,
            consent_request_id=consent_request_id,
            hold_id=hold_id,
            expires_at=expires_at,
            action=action,
        )
        self.consent_request_id = consent_request_id
        self.hold_id = hold_id
        self.expires_at = expires_at
        self.action = action


class ApprovalTimeout(AgentDraftError):
    """``approvals.wait(timeout=…)`` gave up first; the request is still pending.

    Client-side only, as in the official SDK: treat it as "not yet", not "denied".
    """

    error = "approval_timeout"
    status = 408

    def __init__(self, detail: str, *, approval_id: str, waited_seconds: float) -> None:
        super().__init__(detail, approval_id=approval_id, waited_seconds=waited_seconds)
        self.approval_id = approval_id
        self.waited_seconds = waited_seconds


class StaleAvailability(Gone):
    """410: the availability etag presented with a write predates a rules change.

    Re-read availability (its slots reflect the new rules) and book from that.
    """

    error = "stale_availability"
    status = 410


class DuplicateResponse(InvalidState):
    """409: this participant already answered the proposal; an answer is final."""

    error = "duplicate_response"


class ResolutionInProgress(InvalidState):
    """409: a resolution of this proposal is booking its slot right now.

    It settles within the arbitration window (or, if its resolver died, once its
    lease runs out); retry after ``retry_after_ms``.
    """

    error = "resolution_in_progress"


class ResolutionFailed(Conflict):
    """409: a proposal's resolution could not book its winning slot; it stays pending.

    The booking went through the normal commit path with the organizer's priority,
    so a better-ranked agent (``winning_agent_id`` at ``winning_agent_priority``),
    an owner's rule or the approval gate can refuse it: ``cause`` says which
    (``outranked``, ``frozen``, ``evicted``, a rule code, ``consent_required``,
    ``no_slot_left``). The slot is marked failed on the proposal and skipped from
    now on: resolve again to book the next-best of ``remaining_slot_ids``, or
    cancel and open a new proposal.
    """

    def __init__(
        self,
        detail: str,
        *,
        proposal_id: str,
        slot_id: str | None,
        cause: str,
        remaining_slot_ids: list[str],
        winning_booking_id: str | None = None,
        winning_agent_id: str | None = None,
        winning_agent_priority: int | None = None,
        your_priority: int | None = None,
        audit_event_id: str | None = None,
    ) -> None:
        super().__init__(
            detail,
            reason=cause,
            winning_booking_id=winning_booking_id,
            winning_agent_id=winning_agent_id,
            winning_agent_priority=winning_agent_priority,
            your_priority=your_priority,
            audit_event_id=audit_event_id,
        )
        self.error = "resolution_failed"
        self.cause = cause
        self.proposal_id = proposal_id
        self.slot_id = slot_id
        self.remaining_slot_ids = remaining_slot_ids
        self.context.update(
            proposal_id=proposal_id,
            slot_id=slot_id,
            cause=cause,
            remaining_slot_ids=remaining_slot_ids,
            proposal_status="pending",
        )


#: What a 503 ``store_unavailable`` tells the caller, in one place: the store failed
#: while (or after) the call may have run, so whether it was applied is not known.
OUTCOME_UNKNOWN = (
    "The outcome is unknown: the call may or may not have been applied. Retrying with "
    "the same idempotency key returns the original result and never applies it twice; "
    "or read the booking (or approval, proposal) to learn its state."
)


class StoreUnavailable(AgentDraftError):
    """503: the coordinator lost its Redis during the call; the outcome is unknown.

    The script may have run (and stays applied) even though no reply came back, so
    the detail never claims nothing was written. Retry with the same idempotency
    key: a write that did land is returned, never duplicated.
    """

    error = "store_unavailable"
    status = 503

    @classmethod
    def during(cls, where: str, cause: BaseException | str) -> StoreUnavailable:
        """The error for a store failure during ``where``, naming the low-level cause."""
        if isinstance(cause, BaseException):
            cause = f"{type(cause).__name__}: {cause}"
        return cls(f"{where}: the Redis store did not answer ({cause}). {OUTCOME_UNKNOWN}")


__all__ = [
    "OUTCOME_UNKNOWN",
    "AgentDraftError",
    "ApprovalTimeout",
    "AuthError",
    "BookingRequired",
    "Conflict",
    "ConsentRequired",
    "DuplicateResponse",
    "Gone",
    "IdempotencyMismatch",
    "InvalidState",
    "NotFound",
    "RateLimited",
    "RecipientSuppressed",
    "ResolutionFailed",
    "ResolutionInProgress",
    "RuleViolation",
    "SendCapReached",
    "StaleAvailability",
    "StoreUnavailable",
    "ValidationError",
]


class CalendarUnsynced(AgentDraftError):
    """503: the owner's real calendar has not been pulled recently enough to prove the slot free.

    Raised by a write only when the owner's connector policy says ``stale="refuse"``
    ("unproven, not free"); ``connector_id`` names the stale connector.
    """

    error = "calendar_unsynced"
    status = 503


class BookingRequired(AgentDraftError):
    """402: the owner's policy lets this agent send mail only about a booking.

    Pass ``booking_id`` (or reply to a message that belongs to a booking); the owner
    can allow free-form mail for the agent (``coord.mailbox.set_policy``).
    """

    error = "booking_required"
    status = 402


class RecipientSuppressed(AgentDraftError):
    """422: the address bounced hard or complained; the owner's agents do not mail it.

    ``kind`` is ``hard_bounce`` or ``complaint``; the owner can take it off the list.
    """

    error = "recipient_suppressed"
    status = 422

    def __init__(self, detail: str, *, address: str, kind: str, suppressed_at: str) -> None:
        super().__init__(detail, address=address, kind=kind, suppressed_at=suppressed_at)
        self.address = address
        self.kind = kind


class SendCapReached(AgentDraftError):
    """429: the agent sent its daily cap of mail; ``retry_after`` (s) is the next UTC day."""

    error = "send_cap_reached"
    status = 429

    def __init__(self, detail: str, *, cap: int, retry_after_ms: int) -> None:
        retry_after = max(1, -(-int(retry_after_ms) // 1000))
        super().__init__(detail, cap=cap, retry_after=retry_after)
        self.cap = cap
        self.retry_after = retry_after
