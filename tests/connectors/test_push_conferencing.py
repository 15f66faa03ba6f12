"""A ``with_conferencing`` commit reaches the owner's real calendar (Radicale) with its link."""

from __future__ import annotations

from .conftest import Owner, soon
from .test_push import drain, pusher, remote_events


def test_the_pushed_event_carries_the_conferencing_link(owner: Owner) -> None:
    owner.connect()
    agent = owner.agent(1)
    b = agent.bookings.commit(
        start=soon(2, 10), end=soon(2, 11), title="Sync", with_conferencing=True
    )
    plain = agent.bookings.commit(start=soon(2, 12), end=soon(2, 13), title="Plain")
    drain(owner, pusher(owner))
    events = remote_events(owner)
    ev = events[f"agentdraft-{b.booking_id}"]
    assert b.conferencing is not None and b.conferencing["url"]
    assert str(ev["LOCATION"]) == str(ev["URL"]) == b.conferencing["url"]
    other = events[f"agentdraft-{plain.booking_id}"]
    assert "LOCATION" not in other and "URL" not in other
