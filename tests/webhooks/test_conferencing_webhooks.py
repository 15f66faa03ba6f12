"""A ``with_conferencing`` commit's link travels in its webhook events (pushed VEVENT:
tests/connectors/test_push_conferencing.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from coordinator import Coordinator
from coordinator.webhooks import HEADER, verify_signature
from coordinator.webhooks.dispatcher import Dispatcher
from tests.webhooks.test_webhooks import FAST, Receiver, at, drain


@pytest.fixture
def hooks() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_the_committed_and_cancelled_events_carry_the_link(
    coord: Coordinator, hooks: Receiver
) -> None:
    owner = coord.owners.create()
    ep = coord.webhooks.register(
        owner.user_id, hooks.url, events=["booking.committed", "booking.cancelled"]
    )
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    b = bot.bookings.commit(start=at(0), end=at(30), with_conferencing=True)
    plain = bot.bookings.commit(start=at(60), end=at(90))
    bot.bookings.cancel(b.booking_id)
    d = Dispatcher(coord, FAST)
    drain(d, lambda: len(hooks.deliveries) == 3)
    d.close()
    events = [verify_signature(body, h[HEADER], ep.secret) for h, body in hooks.deliveries]
    by = {(e["type"], e["data"]["booking_id"]): e["data"] for e in events}
    assert b.conferencing is not None and b.conferencing["status"] == "attached"
    assert by[("booking.committed", b.booking_id)]["conferencing"] == b.conferencing
    assert by[("booking.cancelled", b.booking_id)]["conferencing"] == b.conferencing
    assert "conferencing" not in by[("booking.committed", plain.booking_id)]
