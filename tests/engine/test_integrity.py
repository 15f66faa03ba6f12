"""Engine integrity: a failing script writes nothing, and the past cannot be booked.

The partial-write tests send hostile values straight to the claim script through the
call layer (coordinator/store/calls.py), past every Python check, so they exercise
the script's own all-or-nothing guarantee: Redis does not roll back a script that
raises after a write, so the script must raise before its first one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from coordinator import Coordinator
from coordinator.access import BOOKINGS_WRITE
from coordinator.buckets import Cover, cover, to_ms
from coordinator.errors import ValidationError
from coordinator.store.calls import Call, DaySpan

from .conftest import Calendar, at
from .snapshot import calendar_dump, changed_keys

#: Values Python's json emits that Lua's cjson decodes but cannot encode again.
HOSTILE = {
    "nan": float("nan"),
    "infinity": float("inf"),
    "-infinity": float("-inf"),
    "400 digits": int("9" * 400),
}


def pack_commit(
    coord: Coordinator,
    user_id: str,
    agent_id: str,
    static: dict[str, Any],
    *,
    key_hash: str,
    rules_version: int,
    idempotency_key: str | None = None,
) -> Call:
    """A commit of ``static``'s times packed for the claim script, past Python's checks."""
    c = Cover(static["cover_first"], static["cover_last"])
    return coord.bookings.calls.pack_claim(
        "commit",
        user_id=user_id,
        agent_id=agent_id,
        key_hash=key_hash,
        booking_id=f"bkg_raw{abs(hash((agent_id, static['start_ms']))) % 10**8:08d}",
        request_hash="h",
        static=static,
        hold_ttl_ms=30_000,
        bump_ms=30_000,
        window_ms=0,
        idempotency_key=idempotency_key,
        idempotency_ttl_s=60,
        days=[DaySpan(d, first, last) for d, first, last in c.days()],
        checks={
            "scope": BOOKINGS_WRITE,
            "limits": coord.bookings.limits,
            "rv": rules_version,
            "lead_ms": 0,
        },
    )


def raw_commit(
    coord: Coordinator,
    user_id: str,
    agent_id: str,
    start: datetime,
    end: datetime,
    metadata: Any,
    *,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    """A commit sent straight to the script, with no Python validation on the way."""
    c = cover(start, end, 0, 0)
    static = {
        "start_ms": to_ms(start),
        "end_ms": to_ms(end),
        "cover_first": c.first,
        "cover_last": c.last,
        "buffer_before_min": 0,
        "buffer_after_min": 0,
        "title": "",
        "invitee": False,
        "metadata": metadata,
    }
    engine = coord.bookings
    call = pack_commit(
        coord,
        user_id,
        agent_id,
        {**static, "metadata": None},
        key_hash="",
        rules_version=coord.owners.get(user_id).rules_version,
        idempotency_key=idempotency_key,
    )
    # The packer (orjson) would turn NaN into null and refuse a 400-digit integer, so
    # the record goes to the script as the standard library writes it: the script must
    # hold on its own against JSON it can decode but not encode again.
    args = list(call.args)
    args[3] = json.dumps(static).encode()
    return engine.calls.run(call._replace(args=args))


def test_json_allows_what_cjson_refuses() -> None:
    # The premise of the tests below: Python sends these without complaint.
    for value in HOSTILE.values():
        json.dumps({"x": value})


@pytest.mark.parametrize("value", list(HOSTILE.values()), ids=list(HOSTILE))
def test_a_claim_that_fails_to_encode_its_record_writes_nothing(cal: Calendar, value: Any) -> None:
    low = cal.agent(2)
    top = cal.agent(1)
    victim = low.bookings.commit(start=at(0), end=at(30))  # fresh: inside its bump window
    before = calendar_dump(cal.coord, cal.user_id)

    with pytest.raises(redis.exceptions.ResponseError):
        raw_commit(
            cal.coord,
            cal.user_id,
            top.agent_id,
            at(0),
            at(30),
            {"x": value},
            idempotency_key="k1",
        )

    assert changed_keys(before, calendar_dump(cal.coord, cal.user_id)) == []
    assert low.bookings.get(victim.booking_id).status == "COMMITTED"
    assert cal.coord.audit.verify(cal.user_id).ok
    # The slot is still the victim's: the same agent, with good metadata, evicts it once.
    won = top.bookings.commit(start=at(0), end=at(30), metadata={"x": 1})
    assert won.status == "COMMITTED"
    assert low.bookings.get(victim.booking_id).status == "EVICTED"


def test_a_failed_claim_on_a_free_slot_writes_nothing(cal: Calendar) -> None:
    top = cal.agent(1)
    before = calendar_dump(cal.coord, cal.user_id)
    with pytest.raises(redis.exceptions.ResponseError):
        raw_commit(cal.coord, cal.user_id, top.agent_id, at(0), at(30), {"x": float("nan")})
    assert changed_keys(before, calendar_dump(cal.coord, cal.user_id)) == []


# -- the past --------------------------------------------------------------------------


def _past(minutes: int) -> datetime:
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=minutes)


@pytest.mark.parametrize("mode", ["commit", "hold"])
def test_a_write_in_the_past_is_refused_and_writes_nothing(cal: Calendar, mode: str) -> None:
    agent = cal.agent(1)
    start = _past(60 * 24 * 180)  # half a year ago
    before = calendar_dump(cal.coord, cal.user_id, buckets=False)
    write = getattr(agent.bookings, mode)
    with pytest.raises(ValidationError) as err:
        write(start=start, end=start + timedelta(minutes=30))
    assert err.value.error == "in_the_past"
    assert err.value.status == 422
    assert err.value.field == "start"
    after = calendar_dump(cal.coord, cal.user_id, buckets=False)
    # Only the caller's token bucket may move (the key was checked before the clock).
    assert changed_keys(before, after) == []


def test_a_slot_that_started_a_minute_ago_is_in_the_past(cal: Calendar) -> None:
    agent = cal.agent(1)
    start = _past(1)
    with pytest.raises(ValidationError) as err:
        agent.bookings.commit(start=start, end=start + timedelta(minutes=30))
    assert err.value.error == "in_the_past"


def test_availability_never_offers_a_past_slot(cal: Calendar) -> None:
    agent = cal.agent(1)
    lo = _past(120)
    hi = lo + timedelta(hours=4)
    slots = agent.availability.list(start=lo, end=hi, duration_minutes=30)
    now = datetime.now(UTC)
    assert slots, "the future part of the window has free slots"
    assert all(s.start >= now - timedelta(seconds=5) for s in slots)


def test_a_claim_on_an_unknown_owner_is_refused_first_and_writes_nothing(cal: Calendar) -> None:
    # The owner's existence is read with the fields the claim reads anyway (its user_id),
    # not by a command of its own; it stays the first refusal, ahead of the key check.
    top = cal.agent(1)
    ghost = "usr_" + "0" * 16
    before = calendar_dump(cal.coord, ghost)
    c = cover(at(0), at(30), 0, 0)
    static = {"start_ms": to_ms(at(0)), "end_ms": to_ms(at(30)), "cover_first": c.first,
              "cover_last": c.last, "title": ""}  # fmt: skip
    # A wrong key would be refused too, but the owner comes first.
    call = pack_commit(cal.coord, ghost, top.agent_id, static, key_hash="x", rules_version=1)
    assert cal.coord.bookings.calls.run(call) == {"r": "error", "error": "owner_unknown"}
    assert changed_keys(before, calendar_dump(cal.coord, ghost)) == []
