"""Availability's day cache (read_availability.lua, P..'avc:'..N).

A whole UTC day's live bookings are cached, stamped with P..'avgen' (bumped by
``tx_finish`` with every write to a bucket map, a record or an external block) and the
owner's ``audit_n``. These tests hold the cache to what matters: a read is answered
from it while nothing was written (shown by planting an entry only the cache has),
every kind of write is seen by the next read (its answer equals an uncached read),
the caller-dependent parts (whose hold it is, whether it has expired since) are
decided at read time, and reads never move the stamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coordinator.availability import live_bookings
from coordinator.buckets import BUCKET_MS, to_ms
from coordinator.client import LocalClient

from .conftest import BASE, Calendar, at

DAY0 = BASE.replace(hour=0)
DAY_N = to_ms(DAY0) // 86_400_000
CONNECTOR = "cx_cache"


def _free(client: LocalClient, include_holds: bool = True) -> list[datetime]:
    """The open 30-minute starts of BASE's UTC day (a whole day: read through the cache)."""
    slots = client.availability.list(
        start=DAY0, end=DAY0 + timedelta(days=1), include_holds=include_holds
    )
    return [s.start for s in slots]


def _drop_cache(cal: Calendar) -> None:
    k = cal.coord.store.keys
    cal.coord.redis.delete(*(k.day_cache(cal.user_id, d) for d in (DAY_N - 1, DAY_N, DAY_N + 1)))


def _uncached(cal: Calendar, client: LocalClient, include_holds: bool = True) -> list[datetime]:
    _drop_cache(cal)
    return _free(client, include_holds)


def _cached(cal: Calendar) -> str | None:
    raw = cal.coord.redis.get(cal.coord.store.keys.day_cache(cal.user_id, DAY_N))
    return None if raw is None else raw.decode() if isinstance(raw, bytes) else raw


def _stamp(cal: Calendar) -> tuple[int, int]:
    """What a cached day is stamped with: (P..'avgen', the owner's audit_n)."""
    k, r = cal.coord.store.keys, cal.coord.redis
    audit_n = r.hget(k.owner(cal.user_id), "audit_n")
    return int(r.get(k.live_generation(cal.user_id)) or 0), int(audit_n or 0)


def _plant(cal: Calendar, start: datetime, end: datetime) -> None:
    """Replace the cached day's bookings with one commit only the cache knows of,
    keeping its stamp: a read that shows it busy was answered from the cache."""
    stamp, _ = _cached(cal).split("|", 1)  # type: ignore[union-attr]
    s, e = to_ms(start), to_ms(end)
    entry = ["bkg_planted", s // BUCKET_MS, -(-e // BUCKET_MS), 0, s, 0, ""]
    key = cal.coord.store.keys.day_cache(cal.user_id, DAY_N)
    cal.coord.redis.set(key, f"{stamp}|{orjson.dumps(entry).decode()}", px=3_600_000)


def _connector(cal: Calendar) -> None:
    """A read-only connector's record, as the registry writes one (no server behind it:
    its pulls are applied by hand below)."""
    record = {
        "connector_id": CONNECTOR,
        "user_id": cal.user_id,
        "kind": "ics",
        "url": "http://calendar.invalid/cal.ics",
        "mode": "read_only",
        "created_ms": 0,
    }
    k = cal.coord.store.keys
    cal.coord.redis.hset(k.prefix(cal.user_id) + "connectors", CONNECTOR, orjson.dumps(record))


def _apply(cal: Calendar, plan: dict[str, Any], policy: str = "evict") -> None:
    reply = cal.coord.store.calls.connector_apply(
        user_id=cal.user_id, connector_id=CONNECTOR, policy=policy, plan=plan
    )
    assert reply["r"] == "ok", reply


def _block(start: datetime, end: datetime) -> dict[str, Any]:
    s, e = to_ms(start), to_ms(end)
    return {"k": "b1", "u": "uid-1", "s": s, "e": e, "f": s // BUCKET_MS, "l": e // BUCKET_MS}


def test_a_whole_day_is_answered_from_its_cache_until_something_is_written(
    cal: Calendar,
) -> None:
    # Given a day read once (and so cached), then a commit planted in the cache alone
    a = cal.agent(1)
    a.bookings.commit(start=at(0), end=at(30))
    first = _free(a)
    assert at(0) not in first and at(60) in first
    _plant(cal, at(60), at(90))
    # When the day is read again, the planted commit blocks: the cache answered
    assert at(60) not in _free(a)
    # When anything is written to the calendar (another day, even)
    a.bookings.commit(start=at(2 * 24 * 60), end=at(2 * 24 * 60 + 30))
    # Then the stamp moved, the plant is gone and the day is read afresh
    assert _free(a) == first


def test_a_write_an_older_coordinator_made_moves_the_stamp_through_audit_n(
    cal: Calendar,
) -> None:
    # Given a cached day with a planted commit
    a = cal.agent(1)
    _free(a)
    _plant(cal, at(60), at(90))
    assert at(60) not in _free(a)
    # When an audited write happens that did not bump avgen (a version before the cache)
    cal.coord.redis.hincrby(cal.coord.store.keys.owner(cal.user_id), "audit_n", 1)
    # Then the cache is not trusted
    assert at(60) in _free(a)


def _commit(cal: Calendar, ctx: dict[str, Any]) -> None:
    ctx["low"].bookings.commit(start=at(120), end=at(150))


def _hold(cal: Calendar, ctx: dict[str, Any]) -> None:
    ctx["low"].bookings.hold(start=at(120), end=at(150))


def _release(cal: Calendar, ctx: dict[str, Any]) -> None:
    ctx["low"].bookings.release(ctx["hold"])


def _cancel(cal: Calendar, ctx: dict[str, Any]) -> None:
    ctx["low"].bookings.cancel(ctx["commit"])


def _evict(cal: Calendar, ctx: dict[str, Any]) -> None:
    # the better agent takes the worse one's fresh commit (inside its bump window) and
    # a wider slot with it
    ctx["top"].bookings.commit(start=at(-30), end=at(30))


def _promote(cal: Calendar, ctx: dict[str, Any]) -> None:
    ctx["low"].bookings.commit(start=at(-60), end=at(-30))


def _external_add(cal: Calendar, ctx: dict[str, Any]) -> None:
    _apply(cal, {"add": [_block(at(180), at(240))], "state": {"etag": "2"}})


def _external_move(cal: Calendar, ctx: dict[str, Any]) -> None:
    _apply(cal, {"add": [_block(at(300), at(330))], "state": {"etag": "3"}})


def _external_remove(cal: Calendar, ctx: dict[str, Any]) -> None:
    _apply(cal, {"remove": ["b1"], "state": {"etag": "3"}})


#: Each write, and whether the reader counts others' holds (a promoted hold blocks
#: either way as a hold or a commit, so its reader leaves holds out to see it happen).
WRITES: dict[str, tuple[Callable[[Calendar, dict[str, Any]], None], bool]] = {
    "commit": (_commit, True),
    "hold": (_hold, True),
    "release": (_release, True),
    "cancel": (_cancel, True),
    "evict": (_evict, True),
    "promote own hold": (_promote, False),
    "external block added": (_external_add, True),
    "external block moved": (_external_move, True),
    "external block removed": (_external_remove, True),
}


@pytest.mark.parametrize("write", WRITES)
def test_every_kind_of_write_is_seen_by_the_next_read(cal: Calendar, write: str) -> None:
    # Given a day with a commit, a hold, the owner's hold on a slot and an external
    # block, read once by a third agent (and so cached)
    top, low, viewer = cal.agent(1), cal.agent(3), cal.agent(5)
    _connector(cal)
    ctx = {
        "top": top,
        "low": low,
        "commit": low.bookings.commit(start=at(0), end=at(30)).booking_id,
        "hold": low.bookings.hold(start=at(60), end=at(90)).booking_id,
    }
    low.bookings.hold(start=at(-60), end=at(-30))
    _apply(cal, {"add": [_block(at(180), at(210))], "state": {"etag": "1"}})
    do, holds = WRITES[write]
    before = _free(viewer, holds)
    assert _cached(cal) is not None
    stamp = _stamp(cal)
    # When the write happens
    do(cal, ctx)
    # Then the next read answers as an uncached one, and it sees the change
    after = _free(viewer, holds)
    assert _stamp(cal) != stamp
    assert after == _uncached(cal, viewer, holds)
    assert after != before


def test_whose_hold_it_is_is_decided_per_caller_from_one_cache(cal: Calendar) -> None:
    # Given one agent's hold, and the day cached by another agent's read
    holder, other = cal.agent(1), cal.agent(2)
    holder.bookings.hold(start=at(0), end=at(30))
    assert at(0) not in _free(other)
    cached = _cached(cal)
    # Then the holder reads the same cache and its own hold does not block it
    assert at(0) in _free(holder)
    # and the other agent may leave others' holds out
    assert at(0) in _free(other, include_holds=False)
    assert _cached(cal) == cached


def test_a_hold_that_expires_after_the_day_was_cached_frees_its_slot(cal: Calendar) -> None:
    # Given a short hold, cached while it is live
    holder, other = cal.agent(1), cal.agent(2)
    hold = holder.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=0.5)
    assert at(0) not in _free(other)
    cached = _cached(cal)
    # When its expiry passes (the behaviour under test is the clock's, so wait for it)
    time.sleep(max(0.0, hold.expires_at.timestamp() - time.time()) + 0.05)
    # Then the same cache answers, and the slot is open
    assert at(0) in _free(other)
    assert _cached(cal) == cached


def test_reads_leave_the_stamp_alone_and_the_cache_expires(cal: Calendar) -> None:
    # Given a calendar with one commit
    a = cal.agent(1)
    booked = a.bookings.commit(start=at(0), end=at(30))
    stamp = _stamp(cal)
    # When it is read in every way
    _free(a)
    a.bookings.get(booked.booking_id)
    a.availability.list(start=at(0), end=at(120))
    # Then nothing moved the stamp, and the cached day goes away by itself within ten
    # minutes (what idle days hold is bounded)
    assert _stamp(cal) == stamp
    ttl = cal.coord.redis.pttl(cal.coord.store.keys.day_cache(cal.user_id, DAY_N))
    assert 0 < ttl <= 600_000


def test_a_write_without_an_audit_entry_moves_the_generation(cal: Calendar) -> None:
    # Given a calendar with a connector, and its stamp
    viewer = cal.agent(1)
    _connector(cal)
    assert at(180) in _free(viewer)
    avgen, audit_n = _stamp(cal)
    # When a pull adds an external block that meets no booking (nothing to audit)
    _apply(cal, {"add": [_block(at(180), at(210))], "state": {"etag": "1"}})
    # Then audit_n stays, avgen moves, and the next read sees the block
    assert _stamp(cal) == (avgen + 1, audit_n)
    assert at(180) not in _free(viewer)


def test_a_day_cached_empty_is_refreshed_by_its_first_booking(cal: Calendar) -> None:
    # Given an empty day, cached
    a, b = cal.agent(1), cal.agent(2)
    assert at(0) in _free(b)
    assert _cached(cal).endswith("|[]")  # type: ignore[union-attr]
    # When a booking lands on it
    a.bookings.commit(start=at(0), end=at(30))
    # Then the next read sees it
    assert at(0) not in _free(b)


def _plain_reading(reply: dict[str, Any], agent_id: str) -> list[int]:
    """live_bookings as the reply format defines it, entry by entry, nothing memoized."""
    live = list(reply["live"])
    seen = set(reply["ids"])
    for text in reply["days"]:
        flat = orjson.loads(text)
        for i in range(0, len(flat), 7):
            booking_id, first, last, kind, start, expires, agent = flat[i : i + 7]
            if booking_id in seen:
                continue
            seen.add(booking_id)
            if kind == 1:
                if expires <= reply["now"]:
                    continue
                kind = 2 if agent == agent_id else 1
            live += [first, last, kind, start]
    return live


_ENTRY = st.tuples(
    st.sampled_from([f"bkg_{i}" for i in range(6)] + ["x:cx:b1"]),
    st.integers(0, 600),
    st.integers(1, 12),
    st.sampled_from([0, 1, 3]),
    st.integers(0, 10_000),
    st.sampled_from(["me", "other"]),
)


def _day_text(entries: list[tuple[Any, ...]]) -> str:
    flat: list[Any] = []
    for booking_id, first, width, kind, expires, agent in entries:
        held = kind == 1
        flat += [booking_id, first, first + width, kind, first * 300_000]
        flat += [expires if held else 0, agent if held else ""]
    return orjson.dumps(flat).decode()


@settings(max_examples=300, deadline=None)
@given(
    days=st.lists(st.lists(_ENTRY, max_size=6, unique_by=lambda e: e[0]), max_size=3),
    part=st.lists(st.sampled_from([f"bkg_{i}" for i in range(6)]), max_size=3, unique=True),
    now=st.integers(0, 10_000),
)
def test_live_bookings_reads_cached_days_as_the_format_says(
    days: list[list[tuple[Any, ...]]], part: list[str], now: int
) -> None:
    # Given a reply with part-day entries and whole days (a booking may be in several),
    # read twice, so the second reading takes the memoized parse
    reply = {
        "now": now,
        "live": [v for i, _ in enumerate(part) for v in (i, i + 1, 0, i)],
        "ids": part,
        "days": [_day_text(d) for d in days],
    }
    expected = _plain_reading(reply, "me")
    assert live_bookings(reply, "me") == expected
    assert live_bookings(reply, "me") == expected
