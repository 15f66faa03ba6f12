"""One rule for idempotency keys: bookings, approvals and proposals refuse the same keys.

1..255 printable characters without whitespace. A key another create path accepted
but this one refused (or the reverse) would make a retry behave differently by path.
"""

from __future__ import annotations

import pytest

from coordinator.errors import ValidationError

from .conftest import Calendar, at

BAD_KEYS = ["", "a b", "tab\there", "line\nbreak", "x" * 256, "bell\x07"]


@pytest.mark.parametrize("key", BAD_KEYS, ids=repr)
def test_every_create_refuses_the_same_bad_key_and_writes_nothing(cal: Calendar, key: str) -> None:
    organizer, other = cal.agent(1), cal.agent(2)
    before = cal.audit_types()
    with pytest.raises(ValidationError) as booking:
        organizer.bookings.commit(start=at(60), end=at(90), idempotency_key=key)
    with pytest.raises(ValidationError) as approval:
        organizer.approvals.request("refund", "refund order 42", idempotency_key=key)
    with pytest.raises(ValidationError) as proposal:
        organizer.proposals.create(
            participant_agent_ids=[other.agent_id],
            slots=[{"start_time": at(60).isoformat(), "end_time": at(90).isoformat()}],
            idempotency_key=key,
        )
    assert {booking.value.field, approval.value.field, proposal.value.field} == {"idempotency_key"}
    assert cal.audit_types() == before


def test_a_good_key_is_accepted_by_every_create(cal: Calendar) -> None:
    organizer, other = cal.agent(1), cal.agent(2)
    organizer.bookings.commit(start=at(60), end=at(90), idempotency_key="ik-1:a/b")
    organizer.approvals.request("refund", "refund order 42", idempotency_key="ik-1:a/b")
    organizer.proposals.create(
        participant_agent_ids=[other.agent_id],
        slots=[{"start_time": at(120).isoformat(), "end_time": at(150).isoformat()}],
        idempotency_key="ik-1:a/b",
    )
