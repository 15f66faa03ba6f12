"""The hot routes build their JSON once, by hand: it must equal the documented models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson

from coordinator.server.responses import booking_json, json_response
from coordinator.server.schemas import BookingOut

START = datetime(2031, 10, 6, 9, tzinfo=UTC)


def test_a_booking_body_equals_the_booking_out_model(http_coord) -> None:
    owner = http_coord.owners.create()
    low = http_coord.client(http_coord.agents.create(owner.user_id, name="l", priority=2).api_key)
    high = http_coord.client(http_coord.agents.create(owner.user_id, name="h", priority=1).api_key)
    victim = low.bookings.commit(
        start=START, end=START + timedelta(minutes=30), title="t", metadata={"k": 1}
    )
    winner = high.bookings.commit(start=START, end=START + timedelta(minutes=30))
    for b in (victim, winner, low.bookings.get(victim.booking_id)):
        by_hand = orjson.loads(json_response(booking_json(b)).body)
        assert by_hand == BookingOut.of(b).model_dump(mode="json")
    assert winner.displaced  # the displacement list went through the hand-built path too
