"""``audit verify`` proves the state, not only the chain, on every backend.

Each test tells the story of test_audit_chain (one of each transition), then
tampers with what Redis holds *outside* the stream, the way an operator with
Redis access could: delete the stream and its head, edit a booking record, delete
or plant a bucket, drop a record. Verify must name each, while the neighbouring
calendar still verifies clean. Expired holds that still sit in buckets are
legitimate and must not be reported.
"""

from __future__ import annotations

import json

from coordinator.buckets import BUCKETS_PER_DAY
from coordinator.store.records import expand_booking

from .audit_story import Story, admin, server_ms
from .conftest import Calendar, at


def found(s: Story) -> list[tuple[str, str | None]]:
    v = s.coord.audit.verify(s.user_id)
    assert v.ok == (not v.problems)
    return [(p.problem, p.booking_id) for p in v.problems]


def record(s: Story, booking_id: str) -> dict[str, object]:
    """The stored record, expanded to its long names (store/records.py)."""
    raw = s.coord.redis.hget(s.coord.store.keys.bookings(s.user_id), booking_id)
    return expand_booking(booking_id, raw)


def put_record(s: Story, booking_id: str, rec: dict[str, object]) -> None:
    """Store a forged record with long names (the format before the compact one, which
    every reader still accepts), as an operator editing by hand would."""
    s.coord.redis.hset(s.coord.store.keys.bookings(s.user_id), booking_id, json.dumps(rec))


def day_of(rec: dict[str, object]) -> int:
    return int(rec["cover_first"]) // BUCKETS_PER_DAY  # type: ignore[call-overload]


def test_a_clean_story_replays_to_exactly_the_stored_state(story: Story) -> None:
    v = story.coord.audit.verify(story.user_id)
    assert v.ok, v.problems
    assert v.complete
    # victim, winner, released hold, spare, promoted hold, promotion
    assert v.bookings == 6


def test_a_deleted_stream_and_head_while_bookings_exist_is_reported(
    story: Story, neighbour: Story
) -> None:
    k = story.coord.store.keys
    admin(story.coord).delete(k.audit(story.user_id))
    story.coord.redis.hdel(k.owner(story.user_id), "audit_head")
    assert found(story) == [("stream_missing", None)]
    v = story.coord.audit.verify(story.user_id)
    assert "6 booking record(s)" in v.problems[0].detail
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_a_booking_record_edited_with_hset_is_named_with_what_differs(
    story: Story, neighbour: Story
) -> None:
    rec = record(story, story.spare)
    assert rec["status"] == "CANCELLED"
    put_record(story, story.spare, {**rec, "status": "COMMITTED"})
    # The API now serves the forged status...
    assert story.cal.clients[2].bookings.get(story.spare).status == "COMMITTED"
    # ...and verify names the booking and the field.
    assert found(story) == [("booking_edited", story.spare)]
    detail = story.coord.audit.verify(story.user_id).problems[0].detail
    assert "status: stored 'COMMITTED', entries say 'CANCELLED'" in detail
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_an_evicted_booking_revived_by_hset_also_breaks_the_invariant(story: Story) -> None:
    rec = record(story, story.victim)
    assert rec["status"] == "EVICTED"
    put_record(story, story.victim, {**rec, "status": "COMMITTED"})
    v = story.coord.audit.verify(story.user_id)
    assert [(p.problem, p.booking_id) for p in v.problems if p.problem != "shared_bucket"] == [
        ("booking_edited", story.victim)
    ]
    # The revived victim and the winner now both claim the winner's slot.
    shared = [p for p in v.problems if p.problem == "shared_bucket"]
    assert len(shared) == 1
    assert story.victim in shared[0].detail and story.winner in shared[0].detail


def test_a_record_without_entries_and_entries_without_a_record(story: Story) -> None:
    rec = record(story, story.spare)
    story.coord.redis.hdel(story.coord.store.keys.bookings(story.user_id), story.spare)
    put_record(story, "bkg_forged00000000", {**rec, "id": "bkg_forged00000000"})
    assert sorted(found(story)) == [
        ("booking_missing", story.spare),
        ("booking_without_entries", "bkg_forged00000000"),
    ]


def test_a_deleted_day_bucket_hash_is_reported_and_lets_two_commits_share_a_slot(
    story: Story, neighbour: Story
) -> None:
    k = story.coord.store.keys
    winner = record(story, story.winner)
    story.coord.redis.delete(k.day(story.user_id, day_of(winner)))
    got = found(story)
    assert ("bucket_missing", story.winner) in got
    assert ("bucket_missing", story.promotion) in got  # the same UTC day
    assert {p for p, _ in got} == {"bucket_missing"}
    # The index no longer sees the winner, so a lower-ranked agent's commit goes through.
    late = story.cal.clients[2].bookings.commit(start=at(10), end=at(20))
    v = story.coord.audit.verify(story.user_id)
    shared = [p for p in v.problems if p.problem == "shared_bucket"]
    assert len(shared) == 1
    assert story.winner in shared[0].detail and late.booking_id in shared[0].detail
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_a_planted_or_redirected_bucket_is_reported(story: Story) -> None:
    k = story.coord.store.keys
    r = story.coord.redis
    winner = record(story, story.winner)
    day = day_of(winner)
    first = int(winner["cover_first"]) % BUCKETS_PER_DAY  # type: ignore[call-overload]
    r.hset(k.day(story.user_id, day), str(first), story.spare)
    r.hset(k.day(story.user_id, day + 40), "7", story.victim)  # a day nothing covers
    got = sorted(found(story))
    assert got == [("bucket_edited", story.winner), ("bucket_extra", story.victim)]


def test_an_expired_hold_still_in_its_buckets_is_not_a_problem(cal: Calendar) -> None:
    short = Calendar(cal.coord.with_settings(hold_ttl_seconds=0.05), cal.user_id)
    low, high = short.agent(2), short.agent(1)
    hold = low.bookings.hold(start=at(0), end=at(30))
    expires = record_of(cal, hold.booking_id)["expires_ms"]
    while server_ms(cal.coord, cal.user_id) <= expires:  # poll the server clock
        pass
    # Expired by time, still in the index: the replay models exactly that.
    day = int(record_of(cal, hold.booking_id)["cover_first"]) // BUCKETS_PER_DAY
    assert hold.booking_id in cal.coord.redis.hvals(cal.coord.store.keys.day(cal.user_id, day))
    v = cal.coord.audit.verify(cal.user_id)
    assert v.ok, v.problems
    # A later write over the slot ends it with an entry, and everything still agrees.
    over = high.bookings.commit(start=at(0), end=at(30))
    assert cal.audit_types()[-2:] == ["hold.expired", "booking.committed"]
    assert record_of(cal, hold.booking_id)["status"] == "EXPIRED"
    v = cal.coord.audit.verify(cal.user_id)
    assert v.ok, v.problems
    assert over.booking_id in cal.coord.redis.hvals(cal.coord.store.keys.day(cal.user_id, day))


def record_of(cal: Calendar, booking_id: str) -> dict[str, int | str]:
    raw = cal.coord.redis.hget(cal.coord.store.keys.bookings(cal.user_id), booking_id)
    return expand_booking(booking_id, raw)


def test_a_start_moved_by_hset_is_caught_through_the_cover_it_implies(story: Story) -> None:
    rec = record(story, story.promotion)
    put_record(story, story.promotion, {**rec, "start_ms": int(rec["start_ms"]) - 3_600_000})  # type: ignore[call-overload]
    assert found(story) == [("booking_edited", story.promotion)]
    assert "times: stored" in story.coord.audit.verify(story.user_id).problems[0].detail


def test_bookings_with_buffers_replay_clean(cal: Calendar) -> None:
    a = cal.agent(1)
    a.bookings.commit(start=at(7), end=at(31), buffer_before_min=10, buffer_after_min=3)
    a.bookings.hold(start=at(90), end=at(95), buffer_after_min=15)
    v = cal.coord.audit.verify(cal.user_id)
    assert v.ok, v.problems
    assert v.bookings == 2


def _edit_stored(cal: Calendar, booking_id: str, **changes: object) -> None:
    """Edit the record as Redis stores it (compact names, store/records.py) with HSET."""
    key = cal.coord.store.keys.bookings(cal.user_id)
    stored = json.loads(cal.coord.redis.hget(key, booking_id))
    cal.coord.redis.hset(key, booking_id, json.dumps({**stored, **changes}))


FIXED = "title, invitee, metadata, buffers, times or conferencing"


def test_a_title_or_metadata_edited_in_the_record_is_reported(cal: Calendar) -> None:
    a = cal.agent(1)
    titled = a.bookings.commit(start=at(0), end=at(30), title="Board meeting")
    tagged = a.bookings.commit(start=at(60), end=at(90), metadata={"room": "A", "n": 2.5})
    plain = a.bookings.commit(start=at(120), end=at(150))
    assert cal.coord.audit.verify(cal.user_id).ok
    _edit_stored(cal, titled.booking_id, t="Coffee")
    _edit_stored(cal, tagged.booking_id, md={"room": "B", "n": 2.5})
    _edit_stored(cal, plain.booking_id, v={"name": "Mallory"})  # an invitee added
    # The API serves the forgeries...
    assert a.bookings.get(titled.booking_id).title == "Coffee"
    v = cal.coord.audit.verify(cal.user_id)
    # ...and verify names each booking, and what kind of field moved.
    assert sorted((p.problem, p.booking_id) for p in v.problems) == sorted(
        ("booking_edited", b.booking_id) for b in (titled, tagged, plain)
    )
    assert all(f"{FIXED}: stored" in p.detail for p in v.problems)


def test_a_hold_expiry_extended_in_the_record_is_reported(cal: Calendar) -> None:
    a = cal.agent(1)
    hold = a.bookings.hold(start=at(0), end=at(30))
    entry = cal.coord.audit.for_booking(cal.user_id, hold.booking_id)[0]
    assert entry.type == "hold.created"
    assert hold.expires_at is not None
    assert entry.fields["expires"] == str(int(hold.expires_at.timestamp() * 1000))
    stored = json.loads(
        cal.coord.redis.hget(cal.coord.store.keys.bookings(cal.user_id), hold.booking_id)
    )
    _edit_stored(cal, hold.booking_id, x=stored["x"] + 86_400_000)  # one more day
    v = cal.coord.audit.verify(cal.user_id)
    assert [(p.problem, p.booking_id) for p in v.problems] == [("booking_edited", hold.booking_id)]
    assert "expires_ms: stored" in v.problems[0].detail


def test_fields_edited_in_an_old_format_record_are_reported_too(story: Story) -> None:
    rec = record(story, story.winner)
    put_record(story, story.winner, {**rec, "metadata": {"forged": True}})
    assert found(story) == [("booking_edited", story.winner)]
    assert FIXED in story.coord.audit.verify(story.user_id).problems[0].detail


def test_the_digest_survives_numbers_cjson_rounds(cal: Calendar) -> None:
    """The digest is computed before the write from the values sent; cjson keeps 14
    significant digits and turns [] into {}: verify must still agree."""
    a = cal.agent(1)
    a.bookings.commit(
        start=at(0),
        end=at(30),
        metadata={"third": 1 / 3, "big": 1e20, "whole": 5.0, "empty": [], "none": {}, "neg": -0.0},
        invitee={"name": "Zoë", "email": "z@example.com"},
        title='Ünïcode / slash "quotes"',
    )
    v = cal.coord.audit.verify(cal.user_id)
    assert v.ok, v.problems
