"""Script replies to typed errors: the ONE table of every refusal, keyed by (transition, code).

The transition scripts answer with small JSON tuples (``{r='error', error=…}``,
``{r='conflict', …}``); :func:`refusal` turns an error reply into the exception a caller
can act on, with the context it needs (the winner, the rule, the earliest start, …).
Key, scope and token refusals (401/403/429) are the same for every transition and come
from :func:`coordinator.access.access_error`; a code no row names is a bug and says so.
Transitions: ``claim`` (hold.lua, commit.lua), ``end`` (cancel.lua, release.lua),
``read_booking``, ``approval`` (approval_read/resolve/request.lua), ``proposal``
(proposal_*.lua), ``counter`` (counter_*.lua), ``agent`` (create_agent, agent_update),
``rerank``, ``owner`` (create_owner), ``rules`` (update_rules), ``availability``
(read_availability), ``mail`` (mail_send), ``mail_receive``, ``mail_owner``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .access import access_error
from .buckets import from_ms
from .errors import (
    AgentDraftError,
    AuthError,
    BookingRequired,
    Conflict,
    ConsentRequired,
    DuplicateResponse,
    Gone,
    IdempotencyMismatch,
    InvalidState,
    NotFound,
    RecipientSuppressed,
    ResolutionInProgress,
    RuleViolation,
    SendCapReached,
    StaleAvailability,
    ValidationError,
)

Reply = dict[str, Any]


@dataclass(frozen=True)
class About:
    """What the refused call was about, for the error's words."""

    user_id: str
    #: The id the call named: a booking, approval, proposal or agent id.
    subject: str = ""
    #: The calling agent ('' = the owner or the coordinator).
    agent_id: str = ""
    #: The operation within the transition (cancel/release, rotate/revoke/...).
    op: str = ""


Factory = Callable[[Reply, About], AgentDraftError]


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


def rule_violation(reply: Reply) -> RuleViolation:
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
    if rule == "hold_ttl_too_long":
        return RuleViolation(rule, reply["detail"], field="hold_ttl_seconds")
    return RuleViolation(rule, reply.get("detail") or rule)


def _in_the_past(r: Reply, _a: About) -> AgentDraftError:
    now = from_ms(int(r["now"])).isoformat()
    return ValidationError(
        "start",
        f"is in the past (the coordinator's clock says {now}); pick a later slot",
        error="in_the_past",
    )


def _booking_state(r: Reply, a: About) -> AgentDraftError:
    status = r["booking"]["status"]
    if status == "HOLD":
        status = "EXPIRED"
    return InvalidState(f"cannot {a.op} {a.subject}: it is {status}", booking_status=status)


def _approval_state(r: Reply, a: About) -> AgentDraftError:
    status = (r.get("approval") or {}).get("status") or r.get("status")
    return InvalidState(f"approval {a.subject} is already {status}", approval_status=status)


def _proposal_status(r: Reply) -> Any:
    return (r.get("proposal") or {}).get("status")


def _agent_state(r: Reply, a: About) -> AgentDraftError:
    hint = {
        "rotate": "unrevoke it instead",
        "revoke": "it is already revoked",
        "unrevoke": "it is not revoked",
    }.get(a.op, "")
    return InvalidState(
        f"cannot {a.op} agent {a.subject}: it is {r['status']}; {hint}", agent_status=r["status"]
    )


def _owner_not_found(_r: Reply, a: About) -> AgentDraftError:
    return NotFound(f"no owner {a.user_id}", error="owner_not_found")


#: Every refusal a script can answer, by (transition, code); '*' rows apply to all.
ERRORS: dict[tuple[str, str], Factory] = {
    ("*", "owner_unknown"): _owner_not_found,
    # claim: hold.lua and commit.lua (see _claim.lua, _gate.lua)
    ("claim", "rule_violation"): lambda r, _a: rule_violation(r),
    ("claim", "stale_availability"): lambda r, _a: StaleAvailability(
        "the availability this write was planned on is stale: the owner's rules "
        f"changed (now version {r.get('rules_version')}); list availability again",
        rules_version=r.get("rules_version"),
    ),
    ("claim", "in_the_past"): _in_the_past,
    ("claim", "idempotency_mismatch"): lambda _r, _a: IdempotencyMismatch(
        "this idempotency key was used with a different request; use a new key"
    ),
    ("claim", "approval_not_found"): lambda _r, _a: NotFound(
        "no such approval request", error="approval_not_found"
    ),
    ("claim", "approval_expired"): lambda _r, _a: Gone(
        "the approval request expired; its hold was released", error="approval_expired"
    ),
    ("claim", "approval_agent_revoked"): lambda _r, _a: InvalidState(
        "the agent that asked was revoked; deny the request instead", error="agent_revoked"
    ),
    ("claim", "approval_decided"): lambda r, _a: InvalidState(
        f"the approval request is already {r.get('status')}", approval_status=r.get("status")
    ),
    # end: cancel.lua and release.lua (see _end.lua)
    ("end", "not_found"): lambda _r, a: NotFound(f"no booking {a.subject} on this calendar"),
    ("end", "forbidden"): lambda _r, a: AuthError(
        f"{a.subject} belongs to another agent; agents may only end their own bookings",
        error="forbidden",
        status=403,
    ),
    ("end", "expired"): lambda _r, a: Gone(
        f"hold {a.subject} expired before it was released", error="hold_expired"
    ),
    ("end", "invalid_state"): _booking_state,
    ("read_booking", "not_found"): lambda _r, a: NotFound(
        f"no booking {a.subject} on calendar {a.user_id}"
    ),
    # approvals: approval_read.lua, approval_resolve.lua, approval_request.lua
    ("approval", "not_found"): lambda _r, a: NotFound(
        f"no approval {a.subject}", error="approval_not_found"
    ),
    ("approval", "forbidden"): lambda _r, a: AuthError(
        f"{a.subject} was requested by another agent", error="forbidden"
    ),
    ("approval", "expired"): lambda _r, a: Gone(
        f"approval {a.subject} expired", error="approval_expired"
    ),
    ("approval", "decided"): _approval_state,
    ("approval", "commit_required"): lambda _r, a: InvalidState(
        f"approval {a.subject} parks a commit: approving it commits through the claim"
    ),
    # proposals: proposal_*.lua (see _proposals.lua)
    ("proposal", "not_found"): lambda _r, a: NotFound(
        f"no proposal {a.subject}", error="proposal_not_found"
    ),
    ("proposal", "forbidden"): lambda _r, a: AuthError(
        f"agent {a.agent_id or '(none)'} may not do this to proposal "
        f"{a.subject}: answering needs a participant, resolving and cancelling "
        "the organizer",
        error="forbidden",
    ),
    ("proposal", "not_pending"): lambda r, a: InvalidState(
        f"proposal {a.subject} is {_proposal_status(r)}, not pending",
        error="proposal_not_pending",
        proposal_status=_proposal_status(r),
    ),
    ("proposal", "duplicate_response"): lambda r, a: DuplicateResponse(
        f"{a.agent_id or 'this participant'} already answered proposal "
        f"{a.subject}; an answer is final",
        proposal_status=_proposal_status(r),
    ),
    ("proposal", "resolution_in_progress"): lambda r, a: ResolutionInProgress(
        f"proposal {a.subject} is being resolved right now; retry shortly",
        retry_after_ms=int(r.get("retry_after_ms") or 1),
    ),
    ("proposal", "unknown_slot"): lambda r, _a: ValidationError(
        "selected_slot_id",
        f"is not a slot of this proposal: {[s['id'] for s in r['proposal']['slots']]}",
    ),
    ("proposal", "unknown_agent"): lambda r, a: ValidationError(
        r.get("field") or "agent_id", f"no agent {r.get('agent_id')} on calendar {a.user_id}"
    ),
    ("proposal", "organizer_inactive"): lambda _r, _a: ValidationError(
        "organizer_agent_id", "the organizer agent is revoked"
    ),
    ("proposal", "expires_in_past"): lambda _r, _a: ValidationError(
        "expires_at", "must be in the future (server clock)"
    ),
    ("proposal", "expires_too_far"): lambda _r, _a: ValidationError(
        "expires_at", "must be at most 90 days ahead"
    ),
    # counter-offers: counter_*.lua (see _counters.lua)
    ("counter", "not_found"): lambda r, a: NotFound(
        f"no {r.get('what') or 'counter'} {a.subject} on calendar {a.user_id}",
        error="counter_not_found" if r.get("what") == "counter" else "not_found",
    ),
    ("counter", "forbidden"): lambda _r, a: AuthError(
        "only the booking's own agent may list, accept or reject its counters (and a "
        "counter's author may read it)",
        error="forbidden",
    ),
    ("counter", "own_booking"): lambda _r, a: ValidationError(
        "booking_id", f"{a.subject} is your own booking: counter another agent's booking"
    ),
    ("counter", "booking_not_live"): lambda r, a: InvalidState(
        f"booking {(r.get('booking') or {}).get('id', a.subject)} is "
        f"{(r.get('booking') or {}).get('status')}, not a live commit: nothing to counter "
        "or move",
        error="booking_not_live",
        booking_status=(r.get("booking") or {}).get("status"),
    ),
    ("counter", "counter_pending"): lambda r, _a: InvalidState(
        f"you already have counter {r['counter']['id']} pending on this booking; wait for "
        "its answer",
        error="counter_pending",
        counter_id=r["counter"]["id"],
    ),
    ("counter", "too_many_counters"): lambda r, _a: InvalidState(
        f"this booking already has {r.get('max')} pending counters; try later",
        error="too_many_counters",
    ),
    ("counter", "counter_decided"): lambda r, a: InvalidState(
        f"counter {a.subject} is already {r['counter']['status']}; a counter is answered once",
        error="counter_decided",
        counter_status=r["counter"]["status"],
        new_booking_id=r["counter"].get("new_booking_id"),
    ),
    ("counter", "invalid_slot_index"): lambda r, _a: ValidationError(
        "slot_index", f"must be 0..{int(r['count']) - 1}: the counter offers {r['count']} slot(s)"
    ),
    ("counter", "in_the_past"): lambda r, _a: ValidationError(
        f"proposed[{r['index']}].start" if "index" in r else "slot_index",
        f"starts in the past (the coordinator's clock says {from_ms(int(r['now'])).isoformat()})",
        error="in_the_past",
    ),
    ("counter", "approval_required"): lambda _r, a: InvalidState(
        "the owner's approval gate covers a commit at that slot, so it cannot be moved there "
        "by a counter: commit it (a person then approves) and cancel the old booking",
        error="approval_required",
    ),
    ("counter", "rule_violation"): lambda r, _a: rule_violation(r),
    # owners, agents, rules, availability
    ("owner", "exists"): lambda _r, a: ValidationError(
        "user_id", f"owner {a.user_id} already exists", error="exists"
    ),
    ("agent", "invalid_state"): _agent_state,
    ("agent", "agent_unknown"): lambda _r, a: NotFound(
        f"no agent {a.subject}", error="agent_not_found"
    ),
    ("rerank", "agent_unknown"): lambda r, a: ValidationError(
        "agent_ids", f"{r['agent_id']} is not an agent of {a.user_id}"
    ),
    # mail: mail_send.lua (an agent's key), mail_receive.lua, mail_owner.lua
    ("mail", "booking_required"): lambda _r, _a: BookingRequired(
        "the owner lets this agent send mail only about a booking: pass booking_id "
        "(or reply to a message about one)"
    ),
    ("mail", "booking_unknown"): lambda r, a: ValidationError(
        "booking_id", f"no booking {r.get('booking_id')} on calendar {a.user_id}"
    ),
    ("mail", "recipient_suppressed"): lambda r, _a: RecipientSuppressed(
        f"{r['address']} is on the owner's suppression list ({r['kind']}); mail to it is not sent",
        address=r["address"],
        kind=r["kind"],
        suppressed_at=from_ms(int(r["at_ms"])).isoformat(),
    ),
    ("mail", "send_cap_reached"): lambda r, _a: SendCapReached(
        f"this agent sent its daily cap of {r['cap']} messages; the cap resets at the "
        "next UTC midnight",
        cap=int(r["cap"]),
        retry_after_ms=int(r["retry_after_ms"]),
    ),
    ("mail_receive", "agent_unknown"): lambda _r, a: NotFound(
        f"no active agent {a.agent_id} to receive mail", error="agent_not_found"
    ),
    ("mail_owner", "agent_unknown"): lambda _r, a: NotFound(
        f"no agent {a.subject}", error="agent_not_found"
    ),
    ("mail_owner", "not_suppressed"): lambda _r, a: NotFound(
        f"{a.subject} is not on the suppression list", error="not_suppressed"
    ),
}


#: Transitions whose scripts check an agent's key (the others are the owner's or the
#: coordinator's own, where 'agent_unknown' names the agent acted on, not the caller).
KEYED = frozenset(
    {"claim", "end", "read_booking", "approval", "proposal", "availability", "mail", "counter"}
)


def refusal(transition: str, reply: Reply, about: About) -> AgentDraftError:
    """The typed error for a script's ``{r='error', error=…}`` reply to ``transition``."""
    code = reply.get("error")
    if transition in KEYED:
        refused = access_error(reply)
        if refused is not None:
            return refused
    make = ERRORS.get((transition, str(code))) or ERRORS.get(("*", str(code)))
    if make is None:
        return AgentDraftError(f"unexpected {transition} script reply {code!r}")
    return make(reply, about)
