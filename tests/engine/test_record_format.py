"""The booking record's compact stored form: its size, and that nothing reads it differently.

Issue 10 bounds memory per booking in Redis at 1.2 KB including its audit entry.
Memory is a size, not a speed, so a bound in a test is fair: the calendar's real keys
are measured with MEMORY USAGE after a load like bench/audit_memory.py's. The other
tests prove the compact form is internal: the scripts (Lua) and the Python readers
expand it to the same record, a record or idempotency entry in the format written
before still reads and ends correctly, and the audit trail is found without the
per-booking index.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator import Conflict
from coordinator.availability import live_bookings
from coordinator.buckets import to_ms
from coordinator.models import Booking
from coordinator.store.records import _as_stored, expand_booking

from .audit_story import Story, admin, server_ms
from .conftest import Calendar, at

#: Issue 10's target, bytes per booking in Redis including its audit entry.
TARGET = 1200


def _stored(cal: Calendar, booking_id: str) -> dict[str, Any]:
    raw = cal.coord.redis.hget(cal.coord.store.keys.bookings(cal.user_id), booking_id)
    return dict(json.loads(raw))


def _lua_record(cal: Calendar, booking_id: str) -> dict[str, Any]:
    """The record as the scripts expand it (read_booking.lua's reply)."""
    reply = cal.coord.store.calls.read_booking(cal.user_id, booking_id)
    assert reply["r"] == "ok", reply
    return dict(reply["booking"])


def test_memory_per_booking_stays_under_the_target(cal: Calendar) -> None:
    """MEMORY USAGE of every key of a calendar after 160 commits with idempotency keys
    (8 thirty-minute bookings a day, as in the bench), divided by the bookings."""
    agent = cal.agent(1)
    n = 160
    for i in range(n):
        day, k = divmod(i, 8)
        start = at(0) + timedelta(days=day, minutes=30 * k)
        agent.bookings.commit(
            start=start, end=start + timedelta(minutes=30), idempotency_key=f"mem-{i}"
        )
    r = admin(cal.coord)
    prefix = cal.coord.store.keys.prefix(cal.user_id)
    families: dict[str, int] = defaultdict(int)
    pattern = prefix.replace("{", "\\{").replace("}", "\\}") + "*"
    for key in r.scan_iter(match=pattern, count=1000):
        name = key[len(prefix) :].split(":", 1)[0]
        families[name] += int(r.memory_usage(key, samples=0) or 0)
    per_booking = sum(families.values()) / n
    split = {k: round(v / n) for k, v in sorted(families.items())}
    assert per_booking <= TARGET, f"{per_booking:.0f} B per booking: {split}"
    assert "bkgaudit" not in families, "the per-booking audit index is gone"
    # The record itself is a fraction of the long form it replaced (583 B measured).
    assert families["bookings"] / n < 300, split


def test_the_scripts_and_python_expand_a_record_alike(cal: Calendar) -> None:
    low, high = cal.agent(2), cal.agent(1)
    plain = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=60)
    rich = low.bookings.commit(
        start=at(60),
        end=at(90),
        buffer_before_min=10,
        buffer_after_min=5,
        title="Quarterly review",
        invitee={"name": "Ada", "email": "ada@example.com"},
        metadata={"n": 0.1, "tags": ["a", "b"], "deep": {"x": 1}},
    )
    hold = low.bookings.hold(start=at(120), end=at(150))
    winner = high.bookings.commit(start=at(0), end=at(30))  # evicts plain
    released = low.bookings.hold(start=at(200), end=at(210))
    low.bookings.release(released.booking_id)
    for b in (plain, rich, hold, winner, released):
        lua = _lua_record(cal, b.booking_id)
        py = expand_booking(b.booking_id, _stored(cal, b.booking_id))
        assert py == lua, b.booking_id
    # Spot-check the long form against what was booked.
    ev = expand_booking(plain.booking_id, _stored(cal, plain.booking_id))
    assert ev["status"] == "EVICTED" and ev["ended_by"] == winner.booking_id
    assert ev["ended_by_agent_id"] == winner.agent_id and ev["ended_by_priority"] == 1
    assert ev["bump_until_ms"] == ev["created_ms"] + 60_000
    assert ev["committed_ms"] == ev["created_ms"] and ev["expires_ms"] == 0
    assert ev["audit_event_id"] == plain.audit_event_id
    r = expand_booking(rich.booking_id, _stored(cal, rich.booking_id))
    assert r["title"] == "Quarterly review" and r["metadata"]["tags"] == ["a", "b"]
    assert (r["buffer_before_min"], r["buffer_after_min"]) == (10, 5)
    assert (r["cover_first"], r["cover_last"]) == (
        (r["start_ms"] - 600_000) // 300_000,
        -(-(r["end_ms"] + 300_000) // 300_000),
    )
    h = expand_booking(hold.booking_id, _stored(cal, hold.booking_id))
    assert h["mode"] == "hold" and h["status"] == "HOLD" and h["bump_until_ms"] == 0
    assert hold.expires_at is not None
    assert h["expires_ms"] == int(hold.expires_at.timestamp() * 1000)
    rel = expand_booking(released.booking_id, _stored(cal, released.booking_id))
    assert rel["status"] == "RELEASED" and rel["end_audit_id"].startswith(str(rel["ended_ms"]))
    # Stored compact: short names, no defaults, no id (it is the hash field).
    assert set(_stored(cal, winner.booking_id)) <= {"a", "p", "s", "d", "c", "b", "u", "i"}


def _as_old_format(cal: Calendar, booking_id: str) -> None:
    """Rewrite a record with the long names, as versions before the compact form did."""
    rec = expand_booking(booking_id, _stored(cal, booking_id))
    key = cal.coord.store.keys.bookings(cal.user_id)
    cal.coord.redis.hset(key, booking_id, json.dumps(rec))


def test_a_record_in_the_old_format_reads_answers_and_ends_the_same(cal: Calendar) -> None:
    low, high = cal.agent(2), cal.agent(1)
    kept = low.bookings.commit(start=at(0), end=at(30), title="t", metadata={"k": [1, 2]})
    ending = low.bookings.commit(start=at(60), end=at(90))
    before = {b: low.bookings.get(b).model_dump_json() for b in (kept.booking_id,)}
    listed = cal.coord.views.bookings(cal.user_id).model_dump_json()
    for b in (kept.booking_id, ending.booking_id):
        _as_old_format(cal, b)
        assert "agent_id" in _stored(cal, b)
    # Every reader serves exactly what it served from the compact record.
    assert low.bookings.get(kept.booking_id).model_dump_json() == before[kept.booking_id]
    assert cal.coord.views.bookings(cal.user_id).model_dump_json() == listed
    # The scripts still judge it: it blocks a lower writer and is evicted by a higher one.
    with pytest.raises(Conflict):
        cal.agent(3).bookings.commit(start=at(0), end=at(30))
    high.bookings.commit(start=at(60), end=at(90))
    # Saved again, it is compact; the audit still proves the state.
    assert "a" in _stored(cal, ending.booking_id)
    assert low.bookings.get(ending.booking_id).status == "EVICTED"
    assert cal.coord.audit.verify(cal.user_id).ok


def test_availability_reads_records_in_the_old_format_like_compact_ones(cal: Calendar) -> None:
    # Given live commits and holds of every kind (buffers, an expired hold, a cancelled
    # booking) that read_availability reads straight off the compact record
    me, other = cal.agent(2), cal.agent(1)
    made = [
        me.bookings.commit(start=at(0), end=at(30), title="t", metadata={"st": "X"}),
        me.bookings.commit(start=at(60), end=at(90), buffer_before_min=10, buffer_after_min=5),
        me.bookings.hold(start=at(120), end=at(150)),
        other.bookings.hold(start=at(180), end=at(210)),
        other.bookings.hold(start=at(240), end=at(270), hold_ttl_seconds=0.001),
        other.bookings.commit(start=at(300), end=at(330)),
    ]
    other.bookings.cancel(made[-1].booking_id)
    # The short hold's millisecond may not have passed on the server's clock yet (a fast
    # machine makes the calls above in under one): wait until it has
    deadline = time.monotonic() + 10
    while server_ms(cal.coord, cal.user_id) <= to_ms(made[4].expires_at):
        assert time.monotonic() < deadline
    day = int(at(0).timestamp()) // 86400

    def live() -> list[Any]:
        # Uncached: the records are rewritten below behind the scripts' backs, which no
        # write through them can do (the day cache would answer for them)
        k = cal.coord.store.keys
        cal.coord.redis.delete(*(k.day_cache(cal.user_id, d) for d in (day - 1, day, day + 1)))
        reply = cal.coord.store.calls.read_availability(
            user_id=cal.user_id,
            agent_id=me.agents.me().agent_id,
            key_hash="",
            scope="",
            limits={},
            days=[day - 1, day, day + 1],
        )
        assert reply["r"] == "ok", reply
        return live_bookings(reply, me.agents.me().agent_id)

    compact = live()
    # Then: the three commits' and holds' quadruples, the expired and cancelled left out
    assert len(compact) == 4 * 4
    assert sorted(compact[2::4]) == [0, 0, 1, 2]
    # When every record is rewritten in the long form, the answer is the same
    for b in made:
        _as_old_format(cal, b.booking_id)
    assert live() == compact


def test_an_idempotency_entry_in_the_old_format_still_replays(cal: Calendar) -> None:
    agent = cal.agent(1)
    first = agent.bookings.commit(start=at(0), end=at(30), idempotency_key="old-key")
    key = cal.coord.store.keys.idempotency(cal.user_id, first.agent_id, "old-key")
    stored = cal.coord.redis.get(key)
    assert stored == stored[:24] + first.booking_id  # 24 hex digits, then the id
    assert cal.coord.redis.memory_usage(key, samples=0) < 200
    old = {"h": stored[:24] + "0" * 40, "r": "ok", "id": first.booking_id}
    cal.coord.redis.set(key, json.dumps(old), ex=60)
    again = agent.bookings.commit(start=at(0), end=at(30), idempotency_key="old-key")
    assert again.booking_id == first.booking_id
    with pytest.raises(Exception, match="idempotency"):
        agent.bookings.commit(start=at(60), end=at(90), idempotency_key="old-key")


def test_a_trail_is_found_without_the_index_and_an_old_index_still_counts(
    story: Story,
) -> None:
    k = story.coord.store.keys
    assert not list(story.coord.redis.scan_iter(match=k.prefix(story.user_id) + "bkgaudit:*"))
    # An index list left by an older version adds what it names.
    agent_created = story.coord.audit.range(story.user_id)[1]
    story.coord.redis.rpush(k.booking_audit(story.user_id, story.spare), agent_created.id)
    got = [e.id for e in story.coord.audit.for_booking(story.user_id, story.spare)]
    assert got[0] == agent_created.id
    assert [e.type for e in story.coord.audit.for_booking(story.user_id, story.spare)][1:] == [
        "booking.committed",
        "booking.cancelled",
    ]


def test_a_rejection_long_after_a_commit_is_in_the_winners_trail(cal: Calendar) -> None:
    high, low = cal.agent(1), cal.agent(2)
    won = high.bookings.commit(start=at(0), end=at(30))
    for _ in range(3):  # unrelated entries in between
        high.bookings.cancel(high.bookings.commit(start=at(300), end=at(330)).booking_id)
    t = server_ms(cal.coord, cal.user_id)
    while server_ms(cal.coord, cal.user_id) <= t:
        pass
    with pytest.raises(Conflict) as lost:
        low.bookings.commit(start=at(0), end=at(30))
    trail = cal.coord.audit.for_booking(cal.user_id, won.booking_id)
    assert [e.type for e in trail] == ["booking.committed", "booking.rejected"]
    assert trail[1].id == lost.value.audit_event_id


def test_api_answers_from_the_compact_record_match_the_write_reply(cal: Calendar) -> None:
    agent = cal.agent(1)
    made = agent.bookings.commit(
        start=at(0), end=at(30), title="x", invitee={"name": "B"}, metadata={"a": 1}
    )
    got = agent.bookings.get(made.booking_id)
    assert got.model_dump(exclude={"waited_ms", "displaced"}) == made.model_dump(
        exclude={"waited_ms", "displaced"}
    )
    rec = expand_booking(made.booking_id, _stored(cal, made.booking_id))
    now = server_ms(cal.coord, cal.user_id)
    assert Booking.from_record(rec, cal.user_id, now) == got


_text = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**14) + 1, 10**14 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_text, inner, max_size=4),
    max_leaves=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(metadata=st.dictionaries(_text, _json, max_size=5), title=_text)
def test_any_storable_booking_round_trips_and_verifies(
    make_calendar: Any, metadata: dict[str, Any], title: str
) -> None:
    """Whatever the inputs accept, Lua and Python expand alike and the digest verifies."""
    cal = make_calendar()
    made = cal.agent(1).bookings.commit(start=at(0), end=at(30), title=title, metadata=metadata)
    stored = _stored(cal, made.booking_id)
    assert expand_booking(made.booking_id, stored) == _lua_record(cal, made.booking_id)
    v = cal.coord.audit.verify(cal.user_id)
    assert v.ok, v.problems


@given(
    st.integers()
    | st.sampled_from([10**14 - 1, 10**14, 1 - 10**14, -(10**14), 2**53 + 1])
    | st.floats(allow_nan=False, allow_infinity=False)
)
def test_a_number_reads_back_as_the_14_digit_round_trip_says(value: int | float) -> None:
    """``_as_stored`` keeps small integers as they are (the fast path) and must still
    give exactly what cjson's 14 significant digits give back, value and type."""
    expected = json.loads(format(value, ".14g"))
    got = _as_stored(value)
    assert got == expected and type(got) is type(expected)
