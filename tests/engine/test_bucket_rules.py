"""The resolution rules of protocol v0.1, one behaviour per test, on every backend.

These run with the arbitration window off, so each write is judged by the bucket
rules alone: free buckets are taken, holds yield to same-or-better commits,
commits yield only to strictly better commits inside their bump window.
"""

from __future__ import annotations

import time

import pytest

from coordinator import Conflict, Gone, InvalidState
from coordinator.errors import AuthError

from .conftest import Calendar, at


def wait_until_expired(cal: Calendar, client, hold_id: str, deadline_s: float = 5.0) -> None:
    """Poll the server's view of a hold until its TTL has run out (no fixed sleep)."""
    end = time.monotonic() + deadline_s
    while client.bookings.get(hold_id).status != "EXPIRED":
        assert time.monotonic() < end, "hold never expired"
        time.sleep(0.01)


def test_a_free_slot_is_committed_with_an_audit_entry(cal: Calendar) -> None:
    a = cal.agent(1)
    b = a.bookings.commit(start=at(0), end=at(30), title="Discovery call")
    assert b.status == "COMMITTED"
    assert b.title == "Discovery call"
    assert b.audit_event_id
    assert [e.type for e in cal.coord.audit.for_booking(cal.user_id, b.booking_id)] == [
        "booking.committed"
    ]


def test_equal_priority_never_evicts_a_commit_first_writer_wins(cal: Calendar) -> None:
    first, second = cal.agent(2, "first"), cal.agent(2, "second")
    won = first.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict) as lost:
        second.bookings.commit(start=at(15), end=at(45))
    assert lost.value.reason == "outranked"
    assert lost.value.winning_booking_id == won.booking_id
    assert lost.value.winning_agent_id == first.agent_id
    assert lost.value.winning_agent_priority == 2
    assert lost.value.your_priority == 2
    assert first.bookings.get(won.booking_id).status == "COMMITTED"


def test_a_better_commit_evicts_a_worse_one_inside_its_bump_window(cal: Calendar) -> None:
    low, high = cal.agent(3), cal.agent(1)
    victim = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    winner = high.bookings.commit(start=at(10), end=at(20))
    assert [d.booking_id for d in winner.displaced] == [victim.booking_id]
    assert winner.displaced[0].status == "EVICTED"
    seen = low.bookings.get(victim.booking_id)
    assert seen.status == "EVICTED"
    assert seen.ended_by_booking_id == winner.booking_id
    assert seen.ended_by_agent_id == high.agent_id
    assert seen.ended_by_priority == 1
    assert seen.ended_at is not None
    # The victim's buckets outside the winner's range are free again.
    assert low.bookings.commit(start=at(0), end=at(10)).status == "COMMITTED"


def test_a_commit_past_its_bump_window_is_frozen_even_for_priority_one(cal: Calendar) -> None:
    low, high = cal.agent(5), cal.agent(1)
    held = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=0)
    with pytest.raises(Conflict) as lost:
        high.bookings.commit(start=at(0), end=at(30))
    assert lost.value.reason == "frozen"
    assert lost.value.winning_booking_id == held.booking_id
    assert lost.value.winning_agent_priority == 5


def test_a_worse_commit_never_evicts_a_better_one(cal: Calendar) -> None:
    high, low = cal.agent(1), cal.agent(4)
    high.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict) as lost:
        low.bookings.commit(start=at(0), end=at(30))
    assert lost.value.reason == "outranked"
    assert lost.value.winning_agent_priority == 1


def test_a_hold_is_displaced_by_a_same_priority_commit(cal: Calendar) -> None:
    holder, committer = cal.agent(2, "holder"), cal.agent(2, "committer")
    hold = holder.bookings.hold(start=at(0), end=at(30))
    assert hold.status == "HOLD" and hold.expires_at is not None
    b = committer.bookings.commit(start=at(0), end=at(30))
    assert b.displaced[0].status == "INVALIDATED"
    assert holder.bookings.get(hold.booking_id).status == "INVALIDATED"
    assert "hold.invalidated" in cal.audit_types()


def test_a_hold_is_not_displaced_by_a_worse_commit(cal: Calendar) -> None:
    holder, low = cal.agent(1), cal.agent(3)
    holder.bookings.hold(start=at(0), end=at(30))
    with pytest.raises(Conflict):
        low.bookings.commit(start=at(0), end=at(30))


def test_a_hold_never_displaces_another_live_hold(cal: Calendar) -> None:
    low, high = cal.agent(3), cal.agent(1)
    low.bookings.hold(start=at(0), end=at(30))
    with pytest.raises(Conflict):
        high.bookings.hold(start=at(0), end=at(30))


def test_a_hold_never_evicts_a_commit(cal: Calendar) -> None:
    low, high = cal.agent(3), cal.agent(1)
    low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    with pytest.raises(Conflict):
        high.bookings.hold(start=at(0), end=at(30))


def test_an_expired_hold_frees_its_buckets(cal: Calendar) -> None:
    holder, other = cal.agent(1), cal.agent(5)
    hold = holder.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=0.05)
    wait_until_expired(cal, holder, hold.booking_id)
    b = other.bookings.commit(start=at(0), end=at(30))
    assert b.status == "COMMITTED"
    assert "hold.expired" in cal.audit_types()


def test_an_agent_promotes_its_own_hold_to_a_commit(cal: Calendar) -> None:
    a = cal.agent(3)
    hold = a.bookings.hold(start=at(0), end=at(30), title="Interview")
    commit = a.bookings.promote(hold.booking_id)
    assert commit.status == "COMMITTED"
    assert commit.title == "Interview"
    assert a.bookings.get(hold.booking_id).status == "PROMOTED"
    assert a.bookings.get(hold.booking_id).ended_by_booking_id == commit.booking_id


def test_a_commit_over_the_agents_own_hold_absorbs_it(cal: Calendar) -> None:
    a, b = cal.agent(2), cal.agent(1)
    hold = a.bookings.hold(start=at(0), end=at(30))
    a.bookings.commit(start=at(0), end=at(60))
    # The hold's buckets are the commit's now, not the hold's (a hold would yield to b).
    with pytest.raises(Conflict):
        b.bookings.hold(start=at(0), end=at(30))
    assert a.bookings.get(hold.booking_id).status == "PROMOTED"


def test_adjacent_bookings_do_not_collide(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    a.bookings.commit(start=at(0), end=at(30))
    assert b.bookings.commit(start=at(30), end=at(60)).status == "COMMITTED"


def test_buffers_extend_the_covered_buckets(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(1)
    a.bookings.commit(start=at(0), end=at(30), buffer_after_min=10)
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(35), end=at(60))
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(-60), end=at(-2), buffer_after_min=5)
    assert b.bookings.commit(start=at(40), end=at(60)).status == "COMMITTED"


def test_an_unaligned_booking_takes_every_bucket_it_touches(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(1)
    a.bookings.commit(start=at(2), end=at(3))  # one minute inside bucket [0, 5)
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(4), end=at(5))
    assert b.bookings.commit(start=at(5), end=at(10)).status == "COMMITTED"


def test_a_booking_across_midnight_utc_spans_two_day_records(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(1)
    midnight = 14 * 60  # BASE is 10:00 UTC
    a.bookings.commit(start=at(midnight - 20), end=at(midnight + 20))
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(midnight + 10), end=at(midnight + 15))
    with pytest.raises(Conflict):
        b.bookings.commit(start=at(midnight - 15), end=at(midnight - 10))


def test_a_write_that_loses_any_bucket_writes_nothing(cal: Calendar) -> None:
    frozen, writer, probe = cal.agent(5), cal.agent(1), cal.agent(9)
    frozen.bookings.commit(start=at(55), end=at(60), bump_window_seconds=0)
    with pytest.raises(Conflict):
        writer.bookings.commit(start=at(0), end=at(60))
    # Buckets [0, 55) stayed free: even the lowest priority can take them.
    assert probe.bookings.commit(start=at(0), end=at(55)).status == "COMMITTED"


def test_the_conflict_reports_the_strongest_blocker(cal: Calendar) -> None:
    p2, p3, p4 = cal.agent(2), cal.agent(3), cal.agent(4)
    p3.bookings.commit(start=at(0), end=at(30))
    best = p2.bookings.commit(start=at(30), end=at(60))
    with pytest.raises(Conflict) as lost:
        p4.bookings.commit(start=at(0), end=at(60))
    assert lost.value.winning_booking_id == best.booking_id
    assert lost.value.winning_agent_priority == 2


def test_a_rejected_write_is_audited_with_the_winner(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    won = a.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict) as lost:
        b.bookings.commit(start=at(0), end=at(30))
    entry = next(e for e in cal.coord.audit.range(cal.user_id) if e.type == "booking.rejected")
    assert entry.id == lost.value.audit_event_id
    assert entry.fields["winner_booking_id"] == won.booking_id
    assert entry.fields["agent_id"] == b.agent_id


def test_releasing_a_hold_frees_it_and_is_audited(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(5)
    hold = a.bookings.hold(start=at(0), end=at(30))
    released = a.bookings.release(hold.booking_id)
    assert released.status == "RELEASED"
    assert b.bookings.hold(start=at(0), end=at(30)).status == "HOLD"
    assert "hold.released" in cal.audit_types()


def test_releasing_twice_is_an_invalid_state(cal: Calendar) -> None:
    a = cal.agent(1)
    hold = a.bookings.hold(start=at(0), end=at(30))
    a.bookings.release(hold.booking_id)
    with pytest.raises(InvalidState):
        a.bookings.release(hold.booking_id)


def test_releasing_an_expired_hold_is_gone(cal: Calendar) -> None:
    a = cal.agent(1)
    hold = a.bookings.hold(start=at(0), end=at(30), hold_ttl_seconds=0.05)
    wait_until_expired(cal, a, hold.booking_id)
    with pytest.raises(Gone) as gone:
        a.bookings.release(hold.booking_id)
    assert gone.value.status == 410


def test_an_agent_cannot_release_or_cancel_anothers_booking(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    hold = a.bookings.hold(start=at(0), end=at(30))
    commit = a.bookings.commit(start=at(60), end=at(90))
    with pytest.raises(AuthError) as denied:
        b.bookings.release(hold.booking_id)
    assert denied.value.status == 403
    with pytest.raises(AuthError):
        b.bookings.cancel(commit.booking_id)
    assert a.bookings.get(commit.booking_id).status == "COMMITTED"


def test_cancelling_a_commit_frees_it(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(5)
    commit = a.bookings.commit(start=at(0), end=at(30))
    assert a.bookings.cancel(commit.booking_id).status == "CANCELLED"
    assert b.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"
    assert "booking.cancelled" in cal.audit_types()


def test_an_evicted_booking_cannot_be_cancelled(cal: Calendar) -> None:
    low, high = cal.agent(3), cal.agent(1)
    victim = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=60)
    high.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(InvalidState):
        low.bookings.cancel(victim.booking_id)


def test_an_idempotent_retry_returns_the_original_booking(cal: Calendar) -> None:
    a = cal.agent(1)
    first = a.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_1")
    again = a.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_1")
    assert again.booking_id == first.booking_id
    assert cal.audit_types().count("booking.committed") == 1


def test_an_idempotent_retry_of_a_lost_write_returns_the_same_conflict(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    a.bookings.commit(start=at(0), end=at(30))
    with pytest.raises(Conflict) as first:
        b.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_lost")
    with pytest.raises(Conflict) as again:
        b.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_lost")
    assert again.value.audit_event_id == first.value.audit_event_id


def test_reusing_an_idempotency_key_for_another_request_is_refused(cal: Calendar) -> None:
    from coordinator import IdempotencyMismatch

    a = cal.agent(1)
    a.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_1")
    with pytest.raises(IdempotencyMismatch) as err:
        a.bookings.commit(start=at(60), end=at(90), idempotency_key="ik_1")
    assert err.value.error == "idempotency_key_reused"


def test_idempotency_keys_belong_to_one_agent(cal: Calendar) -> None:
    a, b = cal.agent(1), cal.agent(2)
    a.bookings.commit(start=at(0), end=at(30), idempotency_key="same")
    assert b.bookings.commit(start=at(60), end=at(90), idempotency_key="same").status == (
        "COMMITTED"
    )


def test_a_revoked_key_stops_at_once_even_for_a_built_client(cal: Calendar) -> None:
    a = cal.agent(1)
    # Simulate what revoke does to the agent record (the rules issue adds the API).
    cal.coord.redis.hset(cal.coord.store.keys.agent(cal.user_id, a.agent_id), "status", "revoked")
    with pytest.raises(AuthError):
        a.bookings.commit(start=at(0), end=at(30))
    assert "booking.committed" not in cal.audit_types()


def test_an_unknown_api_key_is_refused(cal: Calendar) -> None:
    with pytest.raises(AuthError):
        cal.coord.client("avs_live_not-a-real-key")
    with pytest.raises(AuthError):
        cal.coord.client("sk_wrong_prefix")


def test_agents_me_reports_identity_and_timezone(make_calendar) -> None:
    cal = make_calendar()
    a = cal.agent(4, "recruiter")
    me = a.agents.me()
    assert (me.agent_id, me.user_id, me.priority, me.timezone) == (
        a.agent_id,
        cal.user_id,
        4,
        "UTC",
    )
    assert "bookings:write" in me.scopes
