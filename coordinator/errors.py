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
    slot, or a better one arrived inside the arbitration window) or ``frozen``
    (a lower-priority commit holds it but its bump window has closed).
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
    ) -> None:
        super().__init__(
            detail,
            error=reason,
            winning_booking_id=winning_booking_id,
            winning_agent_id=winning_agent_id,
            winning_agent_priority=winning_agent_priority,
            your_priority=your_priority,
            audit_event_id=audit_event_id,
        )
        self.reason = reason
        self.winning_booking_id = winning_booking_id
        self.winning_agent_id = winning_agent_id
        self.winning_agent_priority = winning_agent_priority
        self.your_priority = your_priority
        self.audit_event_id = audit_event_id
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
    """401/403: the key is missing, unknown, rotated, revoked, or lacks a scope."""

    error = "unauthorized"
    status = 401


class StoreUnavailable(AgentDraftError):
    """503: the coordinator cannot reach its Redis.

    Nothing is known to have been written by the failed call. Retry with the
    same idempotency key: a write that did land is returned, never duplicated.
    """

    error = "store_unavailable"
    status = 503


__all__ = [
    "AgentDraftError",
    "AuthError",
    "Conflict",
    "Gone",
    "IdempotencyMismatch",
    "InvalidState",
    "NotFound",
    "StoreUnavailable",
    "ValidationError",
]
