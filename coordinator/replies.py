"""Script replies to typed errors: one place that knows every refusal code.

The transition scripts answer with small JSON tuples (``{r='error', error=…}``,
``{r='conflict', …}``); this module turns each into the exception a caller can act
on, with the context it needs (the winner, the rule, the earliest start, …).
"""

from __future__ import annotations

from typing import Any

from .access import access_error
from .buckets import from_ms
from .errors import (
    AgentDraftError,
    AuthError,
    Conflict,
    ConsentRequired,
    Gone,
    IdempotencyMismatch,
    InvalidState,
    NotFound,
    RuleViolation,
    StaleAvailability,
    ValidationError,
)


def conflict(c: dict[str, Any]) -> Conflict:
    """The 409 for a script's conflict reply (or a replayed one)."""
    reason = c["reason"]
    if reason == "external_event":
        what = f" ({c['summary']})" if c.get("summary") else ""
        return Conflict(
            f"external_event: the owner's calendar has event {c['event_uid']}{what} there "
            f"(connector {c['connector_id']}); no agent can book over it",
            reason=reason,
            winning_booking_id=None,
            winning_agent_id=None,
            winning_agent_priority=None,
            your_priority=int(c["your_priority"]),
            audit_event_id=c.get("audit_event_id"),
            connector_id=c["connector_id"],
            event_uid=c["event_uid"],
            summary=c.get("summary"),
        )
    return Conflict(
        f"{reason}: slot held by {c['winning_agent_id']} (priority "
        f"{c['winning_agent_priority']}, booking {c['winning_booking_id']}); your priority "
        f"is {c['your_priority']}",
        reason=reason,
        winning_booking_id=c["winning_booking_id"],
        winning_agent_id=c["winning_agent_id"],
        winning_agent_priority=int(c["winning_agent_priority"]),
        your_priority=int(c["your_priority"]),
        audit_event_id=c.get("audit_event_id"),
    )


def consent_required(consent_id: str, hold_id: str, expires_ms: int) -> ConsentRequired:
    expires_at = from_ms(int(expires_ms)).isoformat()
    return ConsentRequired(
        f"the owner approves this commit in person; slot parked as hold {hold_id} until "
        f"{expires_at} (approval {consent_id})",
        consent_request_id=consent_id,
        hold_id=hold_id,
        expires_at=expires_at,
    )


def script_error(reply: dict[str, Any], user_id: str, what: str | None = None) -> AgentDraftError:
    """The typed error for a script's ``{r='error', error=…}`` reply."""
    code = reply["error"]
    refused = access_error(reply)
    if refused is not None:
        return refused
    if code == "rule_violation":
        return rule_violation(reply)
    if code == "stale_availability":
        return StaleAvailability(
            "the availability this write was planned on is stale: the owner's rules "
            f"changed (now version {reply.get('rules_version')}); list availability again",
            rules_version=reply.get("rules_version"),
        )
    if code == "in_the_past":
        now = from_ms(int(reply["now"])).isoformat()
        return ValidationError(
            "start",
            f"is in the past (the coordinator's clock says {now}); pick a later slot",
            error="in_the_past",
        )
    if code == "approval_not_found":
        return NotFound("no such approval request", error="approval_not_found")
    if code == "approval_expired":
        return Gone("the approval request expired; its hold was released", error="approval_expired")
    if code == "approval_agent_revoked":
        return InvalidState(
            "the agent that asked was revoked; deny the request instead", error="agent_revoked"
        )
    if code == "approval_decided":
        return InvalidState(
            f"the approval request is already {reply.get('status')}",
            approval_status=reply.get("status"),
        )
    if code == "owner_unknown":
        return NotFound(f"no owner {user_id}", error="owner_not_found")
    if code == "idempotency_mismatch":
        return IdempotencyMismatch(
            "this idempotency key was used with a different request; use a new key"
        )
    if code == "not_found":
        return NotFound(f"no booking {what} on this calendar")
    if code == "forbidden":
        return AuthError(
            f"{what} belongs to another agent; agents may only end their own bookings",
            error="forbidden",
            status=403,
        )
    return AgentDraftError(f"unexpected script reply {code!r}")


def rule_violation(reply: dict[str, Any]) -> RuleViolation:
    """The 422 for a rule the script (or the Python verdict it carried) refused."""
    rule = reply["rule"]
    if rule == "lead_time_not_met":
        earliest = from_ms(int(reply["earliest_ms"])).isoformat()
        return RuleViolation(
            rule,
            f"the owner needs more notice: the earliest start now is {earliest}",
            earliest_start=earliest,
        )
    if rule == "daily_cap_reached":
        return RuleViolation(
            rule,
            f"the owner's cap of {reply['daily_cap']} meetings on {reply['local_date']} "
            "(their local day) is reached",
            daily_cap=reply["daily_cap"],
            local_date=reply["local_date"],
        )
    return RuleViolation(rule, reply.get("detail") or rule)
