"""A ``with_conferencing`` commit's link travels in its webhook events and its pushed VEVENT."""

from __future__ import annotations

import json
from collections.abc import Iterator

import icalendar
import pytest

from coordinator import Coordinator
from coordinator.connectors.ical import booking_event
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


def test_the_pushed_calendar_event_names_the_link(coord: Coordinator) -> None:
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    b = bot.bookings.commit(start=at(0), end=at(30), title="Sync", with_conferencing=True)
    rec = json.loads(coord.redis.hget(coord.store.keys.bookings(owner.user_id), b.booking_id))
    [ev] = icalendar.Calendar.from_ical(booking_event(rec, owner.user_id)).walk("VEVENT")
    assert str(ev["LOCATION"]) == str(ev["URL"]) == b.conferencing["url"]
    plain = bot.bookings.commit(start=at(60), end=at(90))
    rec = json.loads(coord.redis.hget(coord.store.keys.bookings(owner.user_id), plain.booking_id))
    [ev] = icalendar.Calendar.from_ical(booking_event(rec, owner.user_id)).walk("VEVENT")
    assert "LOCATION" not in ev and "URL" not in ev
