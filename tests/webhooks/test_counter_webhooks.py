"""Counter-offers announce every step: counter.created, .accepted, .rejected, booking.moved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from coordinator import Coordinator
from coordinator.webhooks.dispatcher import envelope

BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def test_each_counter_step_is_in_the_outbox_with_its_audit_entry(coord: Coordinator) -> None:
    owner = coord.owners.create()
    coord.webhooks.register(owner.user_id, "http://127.0.0.1:9/in")
    top = coord.client(coord.agents.create(owner.user_id, name="top", priority=1).api_key)
    low = coord.client(coord.agents.create(owner.user_id, name="low", priority=2).api_key)
    won = top.bookings.commit(start=at(0), end=at(30))
    alt = {"start": at(60), "end": at(90)}
    first = low.bookings.counter(won.booking_id, proposed=[alt], note="Thursday?")
    top.bookings.reject_counter(won.booking_id, first.counter_id)
    second = low.bookings.counter(won.booking_id, proposed=[alt])
    moved = top.bookings.accept_counter(won.booking_id, second.counter_id, slot_index=0)

    outbox = coord.redis.xrange(coord.store.keys.prefix(owner.user_id) + "outbox")
    seen = [(f["type"], json.loads(f["data"])) for _, f in outbox]
    steps = [(t, d.get("counter_id") or d["booking_id"]) for t, d in seen]
    assert steps[1:] == [
        ("counter.created", first.counter_id),
        ("counter.rejected", first.counter_id),
        ("counter.created", second.counter_id),
        ("booking.moved", won.booking_id),
        ("booking.committed", moved.new_booking_id),
        ("counter.accepted", second.counter_id),
    ]
    moved_event = dict(seen)["booking.moved"]
    assert moved_event["ended_by_booking_id"] == moved.new_booking_id
    assert moved_event["reason"] == "counter_accepted"
    audit_ids = {e.id for e in coord.audit.range(owner.user_id)}
    assert all(d["audit_event_id"] in audit_ids for _, d in seen)
    # Delivered with ISO times, as a receiver reads them.
    created = next(f for _, f in outbox if f["type"] == "counter.created")
    body = json.loads(envelope(created))
    assert body["data"]["slots"] == [
        {"start_time": at(60).isoformat(), "end_time": at(90).isoformat()}
    ]
    assert body["data"]["note"] == "Thursday?"
