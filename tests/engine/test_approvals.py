"""Human approvals: the owner's gate on commits, and generic requests as in the SDK."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest

from coordinator import (
    ApprovalTimeout,
    AuthError,
    ConsentRequired,
    Gone,
    InvalidState,
    NotFound,
    RuleViolation,
    ValidationError,
)

from .conftest import BASE, Calendar, at


def gate(cal: Calendar, **rule: Any) -> None:
    cal.coord.rules.update(cal.user_id, require_approval=rule or True)


def wait_for_status(cal: Calendar, approval_id: str, status: str, deadline_s: float = 5) -> None:
    end = time.monotonic() + deadline_s
    while cal.coord.approvals.get(approval_id)["status"] != status:
        assert time.monotonic() < end, f"approval never became {status}"
        time.sleep(0.01)


def park(client: Any, start: Any = None, minutes: int = 30) -> ConsentRequired:
    start = start or at(0)
    with pytest.raises(ConsentRequired) as parked:
        client.bookings.commit(start=start, end=start + timedelta(minutes=minutes), title="Intro")
    return parked.value


# -- the gate on commits ---------------------------------------------------------------------


def test_a_gated_commit_parks_a_hold_and_says_consent_is_required(cal: Calendar) -> None:
    gate(cal)
    a = cal.agent(1)
    c = park(a)
    assert (c.status, c.error, c.action) == (409, "consent_required", "bookings.commit")
    assert c.hold_id.startswith("hld_")
    assert c.body["consent_request_id"] == c.consent_request_id
    hold = a.bookings.get(c.hold_id)
    assert (hold.status, hold.start, hold.title) == ("HOLD", at(0), "Intro")
    assert hold.expires_at is not None and hold.expires_at.isoformat() == c.expires_at
    pending = cal.coord.approvals.get(c.consent_request_id)
    assert (pending["status"], pending["kind"], pending["hold_id"]) == (
        "pending",
        "booking",
        c.hold_id,
    )
    assert pending["evidence"]["start"] == at(0).isoformat()
    assert cal.audit_types()[-2:] == ["hold.created", "approval.requested"]


def test_approving_commits_the_parked_slot_through_the_normal_claim(cal: Calendar) -> None:
    gate(cal)
    a = cal.agent(2)
    c = park(a)
    decided = cal.coord.approvals.approve(c.consent_request_id)
    assert (decided["status"], decided["outcome"]) == ("approved", "committed")
    booking = a.bookings.get(decided["booking_id"])
    assert (booking.status, booking.start, booking.agent_id) == ("COMMITTED", at(0), a.agent_id)
    assert a.bookings.get(c.hold_id).status == "PROMOTED"
    assert cal.audit_types()[-3:] == ["hold.promoted", "booking.committed", "approval.approved"]
    assert cal.coord.audit.verify(cal.user_id).ok
    with pytest.raises(InvalidState):
        cal.coord.approvals.approve(c.consent_request_id)


def test_denying_releases_the_parked_slot(cal: Calendar) -> None:
    gate(cal)
    a, b = cal.agent(1), cal.agent(5)
    c = park(a)
    decided = cal.coord.approvals.deny(c.consent_request_id, note="not this week")
    assert (decided["status"], decided["note"]) == ("denied", "not this week")
    assert a.bookings.get(c.hold_id).status == "RELEASED"
    assert b.bookings.hold(start=at(0), end=at(30)).is_live
    assert "approval.denied" in cal.audit_types() and "hold.released" in cal.audit_types()
    with pytest.raises(InvalidState):
        cal.coord.approvals.deny(c.consent_request_id)


def test_an_unanswered_request_expires_and_releases_the_slot(cal: Calendar) -> None:
    gate(cal, ttl_seconds=0.1)
    a, b = cal.agent(1), cal.agent(5)
    c = park(a)
    wait_for_status(cal, c.consent_request_id, "expired")
    assert a.bookings.get(c.hold_id).status == "EXPIRED"
    with pytest.raises(Gone) as gone:
        cal.coord.approvals.approve(c.consent_request_id)
    assert gone.value.error == "approval_expired"
    assert b.bookings.hold(start=at(0), end=at(30)).is_live  # holds are never gated
    assert "approval.expired" in cal.audit_types()


def test_approval_after_a_better_agent_took_the_slot_records_the_conflict(
    cal: Calendar,
) -> None:
    gate(cal)
    low = cal.agent(3)
    c = park(low)
    cal.coord.rules.update(cal.user_id, require_approval=None)
    winner = cal.agent(1).bookings.commit(start=at(0), end=at(30))
    decided = cal.coord.approvals.approve(c.consent_request_id)
    assert (decided["status"], decided["outcome"]) == ("approved", "conflict")
    assert decided["winning_booking_id"] == winner.booking_id
    assert low.bookings.get(c.hold_id).status == "INVALIDATED"


def test_a_revoked_agents_parked_commit_cannot_be_approved_only_denied(cal: Calendar) -> None:
    gate(cal)
    a = cal.agent(1)
    c = park(a)
    cal.coord.agents.revoke(a.agent_id)
    with pytest.raises(InvalidState) as err:
        cal.coord.approvals.approve(c.consent_request_id)
    assert err.value.error == "agent_revoked"
    assert cal.coord.approvals.deny(c.consent_request_id)["status"] == "denied"


def test_only_commits_above_the_duration_wait_for_a_person(cal: Calendar) -> None:
    gate(cal, above_minutes=60)
    a = cal.agent(1)
    assert a.bookings.commit(start=at(0), end=at(60)).status == "COMMITTED"
    assert a.bookings.hold(start=at(120), end=at(240)).status == "HOLD"  # holds are not gated
    park(a, start=at(300), minutes=90)


def test_only_the_named_agents_are_gated(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    gate(cal, agent_ids=[b.agent_id])
    assert a.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"
    park(b, start=at(60))


def test_outside_hours_the_gate_asks_instead_of_refusing(cal: Calendar) -> None:
    cal.coord.rules.update(cal.user_id, working_hours={"mon": [("09:00", "17:00")]})
    a = cal.agent(1)
    evening = BASE.replace(hour=19)
    with pytest.raises(RuleViolation):
        a.bookings.commit(start=evening, end=evening + timedelta(minutes=30))
    gate(cal, outside_working_hours=True)
    assert a.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"  # inside hours
    c = park(a, start=evening)
    decided = cal.coord.approvals.approve(c.consent_request_id)
    assert decided["outcome"] == "committed"
    assert a.bookings.get(decided["booking_id"]).start == evening


def test_a_retried_parked_commit_names_the_same_request_then_the_approved_booking(
    cal: Calendar,
) -> None:
    gate(cal)
    a = cal.agent(1)

    def commit() -> Any:
        return a.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_gate")

    with pytest.raises(ConsentRequired) as first:
        commit()
    with pytest.raises(ConsentRequired) as again:
        commit()
    assert (again.value.consent_request_id, again.value.hold_id) == (
        first.value.consent_request_id,
        first.value.hold_id,
    )
    decided = cal.coord.approvals.approve(first.value.consent_request_id)
    assert commit().booking_id == decided["booking_id"]


def test_the_owner_lists_pending_requests(cal: Calendar) -> None:
    gate(cal)
    a = cal.agent(1)
    c1, c2 = park(a, start=at(0)), park(a, start=at(60))
    cal.coord.approvals.deny(c2.consent_request_id)
    pending = cal.coord.approvals.list(cal.user_id, status="pending")
    assert [p["approval_id"] for p in pending] == [c1.consent_request_id]


def test_unknown_approval_ids_are_not_found(cal: Calendar) -> None:
    with pytest.raises(NotFound):
        cal.coord.approvals.approve("apr_0000000000000000")
    with pytest.raises(ValidationError):
        cal.coord.approvals.get("bkg_0000000000000000")


# -- generic approvals (the SDK's request / get / wait) -----------------------------------------


def test_an_agent_asks_and_the_owner_approves_with_a_note(cal: Calendar) -> None:
    a = cal.agent(1)
    req = a.approvals.request(
        "refund.issue", "Refund order 1042 ($120)", evidence={"order": 1042, "amount": 120}
    )
    assert req["status"] == "pending" and req["approval_id"].startswith("apr_")
    assert req["expires_at"] and req["evidence"] == {"order": 1042, "amount": 120}
    assert a.approvals.get(req["approval_id"])["status"] == "pending"
    cal.coord.approvals.approve(req["approval_id"], note="ok, once")
    seen = a.approvals.get(req["approval_id"])
    assert (seen["status"], seen["note"]) == ("approved", "ok, once")
    assert cal.audit_types()[-2:] == ["approval.requested", "approval.approved"]


def test_wait_returns_the_moment_a_person_decides(cal: Calendar) -> None:
    a = cal.agent(1)
    req = a.approvals.request("deploy.production", "Ship v2.3.0", ttl_seconds=60)
    got: dict[str, Any] = {}
    started = threading.Event()

    def waiter() -> None:
        started.set()
        t0 = time.monotonic()
        got["result"] = a.approvals.wait(req["approval_id"])
        got["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=waiter)
    t.start()
    started.wait(5)
    cal.coord.approvals.deny(req["approval_id"])
    t.join(30)
    assert got["result"]["status"] == "denied"
    assert got["seconds"] < 3  # woken by the decision, not by a 5 s polling tick


def test_wait_returns_expired_when_nobody_decides(cal: Calendar) -> None:
    a = cal.agent(1)
    req = a.approvals.request("email.send", "Send the newsletter", ttl_seconds=0.2)
    assert a.approvals.wait(req["approval_id"])["status"] == "expired"
    assert "approval.expired" in cal.audit_types()


def test_wait_with_a_short_timeout_raises_and_leaves_it_pending(cal: Calendar) -> None:
    a = cal.agent(1)
    req = a.approvals.request("email.send", "Send it", ttl_seconds=60)
    with pytest.raises(ApprovalTimeout) as err:
        a.approvals.wait(req["approval_id"], timeout=0.05)
    assert err.value.approval_id == req["approval_id"]
    assert a.approvals.get(req["approval_id"])["status"] == "pending"


def test_a_retried_request_with_the_same_idempotency_key_is_the_same_request(
    cal: Calendar,
) -> None:
    a = cal.agent(1)
    first = a.approvals.request("x", "y", idempotency_key="ik_ap")
    again = a.approvals.request("x", "y", idempotency_key="ik_ap")
    assert first["approval_id"] == again["approval_id"]
    assert cal.audit_types().count("approval.requested") == 1


def test_agents_see_only_their_own_requests(cal: Calendar, make_calendar: Any) -> None:
    a, b = cal.agent(1), cal.agent(2)
    req = a.approvals.request("x", "y")
    with pytest.raises(AuthError) as err:
        b.approvals.get(req["approval_id"])
    assert err.value.status == 403
    stranger = make_calendar().agent(1)
    with pytest.raises(NotFound):
        stranger.approvals.get(req["approval_id"])


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"action_type": "", "summary": "s"}, "action_type"),
        ({"action_type": "a", "summary": ""}, "summary"),
        ({"action_type": "a", "summary": "s", "evidence": {"x": object()}}, "evidence"),
        ({"action_type": "a", "summary": "s", "evidence": [1]}, "evidence"),
        ({"action_type": "a", "summary": "s", "ttl_seconds": 0}, "ttl_seconds"),
    ],
)
def test_bad_requests_name_the_field(cal: Calendar, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        cal.agent(1).approvals.request(**kwargs)
    assert err.value.field == field


def test_a_refused_request_leaves_no_approval_index_behind(cal: Calendar) -> None:
    # Given an agent without the approvals:request scope, and a gated calendar
    made = cal.coord.agents.create(cal.user_id, name="narrow", priority=2, scopes=[])
    narrow = cal.coord.client(made.api_key)
    gate(cal)
    index = cal.coord.store.keys.approval_index("*")
    before = sorted(cal.coord.redis.scan_iter(match=index))
    # When it asks for an approval, and when it tries a gated commit
    with pytest.raises(AuthError):
        narrow.approvals.request("send_email", "one email")
    with pytest.raises(AuthError):
        narrow.bookings.commit(start=at(0), end=at(30))
    # Then both are refused by the script and the global approval index is unchanged
    assert sorted(cal.coord.redis.scan_iter(match=index)) == before


def test_a_parked_commit_and_a_request_are_found_by_id_from_the_owner_side(
    cal: Calendar,
) -> None:
    gate(cal)
    parked = park(cal.agent(1))
    asked = cal.agent(2).approvals.request("send_email", "one email")
    assert cal.coord.approvals.get(parked.consent_request_id)["status"] == "pending"
    assert cal.coord.approvals.get(asked["approval_id"])["status"] == "pending"
