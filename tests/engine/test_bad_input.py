"""Bad input raises a typed error naming the field and writes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from coordinator import NotFound, Settings, ValidationError

from .conftest import Calendar, at


def snapshot(cal: Calendar) -> tuple[int, int, list[str]]:
    """What a write would change: audit length, booking count, day keys."""
    r = cal.coord.redis
    k = cal.coord.store.keys
    days = (
        sorted(key for key in r.scan_iter(match=k.prefix(cal.user_id) + "day:*"))
        if not hasattr(r, "get_nodes")
        else sorted(
            key
            for node in r.get_primaries()
            for key in r.scan_iter(match=k.prefix(cal.user_id) + "day:*", target_nodes=node)
        )
    )
    return r.xlen(k.audit(cal.user_id)), r.hlen(k.bookings(cal.user_id)), days


BAD_WRITES: list[tuple[str, dict[str, Any], str]] = [
    ("end before start", {"start": at(30), "end": at(0)}, "end"),
    ("zero length", {"start": at(0), "end": at(0)}, "end"),
    ("naive start", {"start": datetime(2031, 3, 3, 10), "end": at(30)}, "start"),
    ("naive end", {"start": at(0), "end": datetime(2031, 3, 3, 11)}, "end"),
    ("naive ISO text", {"start": "2031-03-03T10:00:00", "end": at(30)}, "start"),
    ("garbage text", {"start": "tomorrow-ish", "end": at(30)}, "start"),
    ("a year long", {"start": at(0), "end": at(0) + timedelta(days=365)}, "end"),
    (
        "year 9999",
        {
            "start": at(0).replace(year=9999),
            "end": at(0).replace(year=9999) + timedelta(minutes=30),
        },
        "start",
    ),
    (
        "negative buffer",
        {"start": at(0), "end": at(30), "buffer_before_min": -5},
        "buffer_before_min",
    ),
    (
        "fractional buffer",
        {"start": at(0), "end": at(30), "buffer_after_min": 2.5},
        "buffer_after_min",
    ),
    (
        "huge buffer",
        {"start": at(0), "end": at(30), "buffer_after_min": 100_000},
        "buffer_after_min",
    ),
    (
        "negative bump window",
        {"start": at(0), "end": at(30), "bump_window_seconds": -1},
        "bump_window_seconds",
    ),
    (
        "key with spaces",
        {"start": at(0), "end": at(30), "idempotency_key": "a b"},
        "idempotency_key",
    ),
    ("empty key", {"start": at(0), "end": at(30), "idempotency_key": ""}, "idempotency_key"),
    ("overlong title", {"start": at(0), "end": at(30), "title": "x" * 501}, "title"),
    (
        "invitee with extra field",
        {"start": at(0), "end": at(30), "invitee": {"name": "A", "ssn": "1"}},
        "invitee",
    ),
    (
        "unserialisable metadata",
        {"start": at(0), "end": at(30), "metadata": {"x": object()}},
        "metadata",
    ),
]


@pytest.mark.parametrize("case", BAD_WRITES, ids=[c[0] for c in BAD_WRITES])
def test_a_bad_commit_names_the_field_and_writes_nothing(cal: Calendar, case: Any) -> None:
    _, kwargs, field = case
    a = cal.agent(1)
    before = snapshot(cal)
    with pytest.raises(ValidationError) as err:
        a.bookings.commit(**kwargs)
    assert err.value.field == field
    assert err.value.status == 422
    assert field in str(err.value)
    assert snapshot(cal) == before


def test_a_bad_hold_ttl_is_refused(cal: Calendar) -> None:
    a = cal.agent(1)
    with pytest.raises(ValidationError) as err:
        a.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=0)
    assert err.value.field == "hold_ttl_seconds"


def test_unknown_booking_ids_are_not_found_and_write_nothing(cal: Calendar) -> None:
    a = cal.agent(1)
    before = snapshot(cal)
    for call in (a.bookings.get, a.bookings.release, a.bookings.cancel):
        with pytest.raises(NotFound):
            call("bkg_doesnotexist")
    assert snapshot(cal) == before


def test_an_unknown_timezone_names_the_field(cal: Calendar) -> None:
    with pytest.raises(ValidationError) as err:
        cal.coord.owners.create(timezone="Mars/Olympus_Mons")
    assert err.value.field == "timezone"


def test_bad_agent_fields_are_named(cal: Calendar) -> None:
    for kwargs, field in [
        ({"name": "", "priority": 1}, "name"),
        ({"name": "x", "priority": 0}, "priority"),
        ({"name": "x", "priority": True}, "priority"),
        ({"name": "x", "priority": 1, "scopes": ["bookings:delete"]}, "scopes"),
    ]:
        with pytest.raises(ValidationError) as err:
            cal.coord.agents.create(cal.user_id, **kwargs)
        assert err.value.field == field


def test_an_agent_for_an_unknown_owner_is_not_found(cal: Calendar) -> None:
    with pytest.raises(NotFound):
        cal.coord.agents.create("usr_nobody", name="x", priority=1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"arbitration_window_ms": -1}, "arbitration_window_ms"),
        ({"hold_ttl_seconds": 0}, "hold_ttl_seconds"),
        ({"bump_window_seconds": "30"}, "bump_window_seconds"),
        ({"namespace": "a:b"}, "namespace"),
    ],
)
def test_bad_settings_name_the_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Settings(**kwargs)
    assert err.value.field == field
