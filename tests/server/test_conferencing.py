"""Conferencing links: ``bookings.commit(..., with_conferencing=True)`` over HTTP with the
official SDK, and the provider interface from Python."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from coordinator import ConsentRequired, Coordinator, conferencing
from coordinator.conferencing import Jitsi
from coordinator.errors import ValidationError

agentdraft = pytest.importorskip("agentdraft")

MONDAY = datetime(2031, 9, 1, 9, tzinfo=UTC)
ROOM = re.compile(r"^https://meet\.jit\.si/AgentDraft-[A-Za-z0-9_-]{22}$")


def test_the_sdk_booking_reads_a_jitsi_link(sdk, http_server) -> None:
    bot = sdk(1)
    a = bot.bookings.commit(
        start=MONDAY, end=MONDAY + timedelta(minutes=30), with_conferencing=True
    )
    b = bot.bookings.commit(
        start=MONDAY + timedelta(hours=1),
        end=MONDAY + timedelta(hours=2),
        with_conferencing=True,
    )
    plain = bot.bookings.commit(start=MONDAY + timedelta(hours=3), end=MONDAY + timedelta(hours=4))
    for booked in (a, b):
        assert booked.conferencing_provider == "jitsi"
        assert booked.conferencing_status == "attached"
        assert ROOM.match(booked.conferencing_url or ""), booked.conferencing_url
    assert a.conferencing_url != b.conferencing_url  # unguessable: a fresh room each time
    assert (plain.conferencing_url, plain.conferencing_status) == (None, None)
    read = httpx.get(
        f"{http_server.url}/v1/bookings/{a.booking_id}",
        headers={"Authorization": f"Bearer {bot._api_key}"},
    ).json()
    assert read["conferencing"] == {
        "provider": "jitsi",
        "url": a.conferencing_url,
        "status": "attached",
    }


def test_an_idempotent_retry_returns_the_same_link(sdk) -> None:
    bot = sdk(1)
    slot = {"start": MONDAY + timedelta(days=1), "end": MONDAY + timedelta(days=1, minutes=30)}
    first = bot.bookings.commit(**slot, with_conferencing=True, idempotency_key="ik-conf-1")
    again = bot.bookings.commit(**slot, with_conferencing=True, idempotency_key="ik-conf-1")
    assert again.booking_id == first.booking_id
    assert again.conferencing_url == first.conferencing_url


class _Down:
    name = "down"

    def create_link(self, *, title: str | None) -> str | None:
        raise ConnectionError("provider unreachable")


class _Empty:
    name = "empty"

    def create_link(self, *, title: str | None) -> str | None:
        return None


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("none", {"provider": None, "url": None, "status": "no_provider"}),
        ("down", {"provider": "down", "url": None, "status": "api_error"}),
        ("empty", {"provider": "empty", "url": None, "status": "no_link_returned"}),
    ],
)
def test_no_link_says_why_and_the_slot_is_still_booked(
    http_coord: Coordinator, provider: str, expected: dict
) -> None:
    conferencing.register("down", lambda _s: _Down())
    conferencing.register("empty", lambda _s: _Empty())
    coord = http_coord.with_settings(conferencing_provider=provider)
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    b = bot.bookings.commit(
        start=MONDAY, end=MONDAY + timedelta(minutes=30), with_conferencing=True
    )
    assert b.status == "COMMITTED"
    assert b.conferencing == expected
    assert bot.bookings.get(b.booking_id).conferencing == expected


def test_a_self_hosted_jitsi_base_url(http_coord: Coordinator) -> None:
    coord = http_coord.with_settings(conferencing_base_url="https://meet.example.org/rooms/")
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    b = bot.bookings.commit(
        start=MONDAY, end=MONDAY + timedelta(minutes=30), with_conferencing=True
    )
    assert b.conferencing is not None
    assert b.conferencing["url"].startswith("https://meet.example.org/rooms/AgentDraft-")
    with pytest.raises(ValidationError, match="conferencing_base_url"):
        Jitsi("ftp://meet.example.org")


def test_an_approved_parked_commit_keeps_its_link(http_coord: Coordinator) -> None:
    owner = http_coord.owners.create()
    http_coord.rules.update(owner.user_id, require_approval={})
    bot = http_coord.client(http_coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    with pytest.raises(ConsentRequired) as parked:
        bot.bookings.commit(
            start=MONDAY, end=MONDAY + timedelta(minutes=30), with_conferencing=True
        )
    done = http_coord.approvals.approve(parked.value.consent_request_id)
    booked = bot.bookings.get(done["booking_id"])
    assert booked.status == "COMMITTED"
    assert booked.conferencing is not None and booked.conferencing["status"] == "attached"
