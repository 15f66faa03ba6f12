"""The race timeline (coordinator/timeline.py) is the engine's own history, checked on real races.

The notebooks plot what ``build_timeline`` makes of an audit stream, so a wrong
timeline is a wrong picture. Each test races real agents on every backend
(embedded engine, redis-server, Cluster) and holds the timeline against what the
engine itself says: its bucket map, its booking records and its audit entries.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest

from coordinator import Conflict, Coordinator
from coordinator.buckets import BUCKETS_PER_DAY
from coordinator.race import RaceResult, run_race, run_staggered_race, staggered_plan
from coordinator.timeline import DISPLACEMENTS, Timeline, build_timeline
from tests.support.servers import Backend

#: A Monday far ahead, clear of any lead-time rule.
BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)
#: Booking status -> the audit entry that ended it.
ENDED_BY = {
    "EVICTED": "booking.evicted",
    "INVALIDATED": "hold.invalidated",
    "PROMOTED": "hold.promoted",
    "REPLACED": "hold.replaced",
    "RELEASED": "hold.released",
    "CANCELLED": "booking.cancelled",
    "EXPIRED": "hold.expired",
}


@pytest.fixture(scope="module")
def coord(backend: Backend) -> Iterator[Coordinator]:
    """A coordinator with the default settings (150 ms arbitration window) on one backend."""
    c = (
        Coordinator.embedded(backend.data_dir)
        if backend.url is None
        else Coordinator.from_url(backend.url)
    )
    yield c
    c.close()


@dataclass(frozen=True)
class Raced:
    result: RaceResult
    timeline: Timeline


@pytest.fixture(scope="module")
def staggered(coord: Coordinator) -> Raced:
    """One staggered race per backend (about 1.5 s), shared by the tests that read it."""
    result = run_staggered_race(coord, staggered_plan(6, 3, seed=3, round_ms=450))
    return Raced(result, build_timeline(result.audit))


def bucket_map(coord: Coordinator, user_id: str, buckets: list[int]) -> dict[int, str]:
    """The engine's own answer to "who occupies each bucket now", read from its day hashes."""
    out: dict[int, str] = {}
    for day in sorted({b // BUCKETS_PER_DAY for b in buckets}):
        fields = coord.redis.hgetall(coord.store.keys.day(user_id, day))
        out.update({day * BUCKETS_PER_DAY + int(f): bid for f, bid in fields.items()})
    return out


def test_a_one_slot_race_ends_with_one_open_interval_per_bucket_owned_by_the_winner(
    coord: Coordinator,
) -> None:
    result = run_race(coord, 6)
    tl = build_timeline(result.audit)
    [winner] = result.winners
    assert winner.booking is not None
    open_ = [i for i in tl.intervals() if i.end_ms is None]
    assert sorted(i.bucket for i in open_) == tl.buckets
    assert len(tl.buckets) == 6  # 30 minutes
    assert {i.booking_id for i in open_} == {winner.booking.booking_id}
    assert {i.agent_id for i in open_} == {winner.agent_id}
    assert tl.occupants() == bucket_map(coord, result.user_id, tl.buckets)
    # Five losers: each was either displaced (an eviction) or refused (a rejection).
    losers = {o.agent_id for o in result.outcomes if not o.won}
    assert len(losers) == 5
    assert losers == {e.agent_id for e in tl.evictions} | {r.agent_id for r in tl.rejections}


def test_open_intervals_are_exactly_the_engines_bucket_map(
    coord: Coordinator, staggered: Raced
) -> None:
    tl = staggered.timeline
    engine = bucket_map(coord, staggered.result.user_id, tl.buckets)
    assert engine, "the race left nothing on the calendar"
    assert tl.occupants() == engine
    for bucket in tl.buckets:
        still_open = [i for i in tl.intervals() if i.bucket == bucket and i.end_ms is None]
        assert len(still_open) == (1 if bucket in engine else 0)


def test_intervals_of_one_bucket_never_overlap(staggered: Raced) -> None:
    by_bucket: dict[int, list[tuple[int, int | None]]] = {}
    for i in staggered.timeline.intervals():
        by_bucket.setdefault(i.bucket, []).append((i.start_ms, i.end_ms))
    assert len(by_bucket) > 1
    for bucket, spans in by_bucket.items():
        for (_, end), (next_start, _) in pairwise(spans):
            assert end is not None, f"bucket {bucket}: an open interval is followed by another"
            assert end <= next_start, f"bucket {bucket}: {spans}"


def test_every_eviction_is_an_audit_entry_by_a_better_writer(staggered: Raced) -> None:
    tl = staggered.timeline
    entries = {e.id: e for e in staggered.result.audit}
    displaced = [e.id for e in staggered.result.audit if e.type in DISPLACEMENTS]
    assert displaced, "the staggered race displaced nobody: nothing worth watching"
    assert [ev.entry_id for ev in tl.evictions] == displaced
    spans = {s.booking_id: s for s in tl.spans}
    for ev in tl.evictions:
        entry = entries[ev.entry_id]
        assert entry.type == ev.type and entry.booking_id == ev.booking_id
        assert entry.fields["by_agent_id"] == ev.by_agent_id
        assert int(entry.fields["ts"]) == ev.at_ms
        victim, winner = spans[ev.booking_id], spans[ev.by_booking_id]
        assert (victim.end_entry, victim.end_ms, victim.ended_by_agent_id) == (
            ev.entry_id,
            ev.at_ms,
            ev.by_agent_id,
        )
        assert winner.start_ms == ev.at_ms  # the same script wrote both entries
        assert set(ev.buckets) & set(winner.buckets), "evicted by a booking elsewhere"
        # The engine's rules: a hold yields to a same-or-better commit, a commit only
        # to a strictly better writer (inside its arbitration or bump window).
        if ev.type == "hold.invalidated":
            assert ev.by_priority <= ev.priority
        else:
            assert ev.by_priority < ev.priority


def test_what_each_agent_was_told_matches_the_timeline(
    coord: Coordinator, staggered: Raced
) -> None:
    tl = staggered.timeline
    spans = {s.booking_id: s for s in tl.spans}
    evictions = {ev.booking_id: ev for ev in tl.evictions}
    audit_ids = {e.id for e in staggered.result.audit}
    told_won = [o for o in staggered.result.outcomes if o.won]
    assert told_won and len(told_won) < len(staggered.result.outcomes)
    for o in staggered.result.outcomes:
        if not o.won:
            assert o.conflict is not None and o.conflict.audit_event_id in audit_ids
            continue
        assert o.booking is not None
        span = spans[o.booking.booking_id]
        assert span.agent_id == o.agent_id
        # A writer told it won was never displaced inside its arbitration window.
        ev = evictions.get(span.booking_id)
        assert ev is None or not ev.in_arbitration_window
        now = coord.bookings.get(staggered.result.user_id, span.booking_id)
        if now.status in ("HOLD", "COMMITTED"):
            assert span.is_open
        else:
            assert span.end_type == ENDED_BY[now.status]
            assert now.ended_at is not None
            assert span.end_ms == round(now.ended_at.timestamp() * 1000)


def test_each_kind_of_ending_closes_the_right_interval(coord: Coordinator) -> None:
    """Driven one write at a time (no window), so the expected timeline is exact."""
    c = coord.with_settings(arbitration_window_ms=0)
    user = c.owners.create().user_id
    p1, p2, p3 = (
        c.client(c.agents.create(user, name=f"p{p}", priority=p).api_key) for p in (1, 2, 3)
    )

    def slot(a: int, b: int) -> dict[str, Any]:
        return {"start": BASE + timedelta(minutes=a), "end": BASE + timedelta(minutes=b)}

    p3.bookings.commit(**slot(0, 30))  # evicted by p1 below
    p1.bookings.commit(**slot(15, 45))
    h = p2.bookings.hold(**slot(60, 75))
    p2.bookings.promote(h.booking_id)  # hold.promoted, commit stays
    p3.bookings.hold(**slot(90, 100))  # invalidated by p2's commit
    p2.bookings.commit(**slot(90, 105))
    p3.bookings.release(p3.bookings.hold(**slot(120, 130)).booking_id)
    p1.bookings.cancel(p1.bookings.commit(**slot(150, 160)).booking_id)
    with pytest.raises(Conflict):
        p3.bookings.commit(**slot(20, 30))  # rejected: p1 holds 15..45
    short = p2.bookings.hold(**slot(180, 190), hold_ttl_seconds=0.001)
    deadline = time.monotonic() + 10
    while c.bookings.get(user, short.booking_id).status != "EXPIRED":  # poll the server clock
        assert time.monotonic() < deadline
    p3.bookings.commit(**slot(180, 190))  # finds and frees the expired hold

    tl = build_timeline(c.audit.range(user))
    names = {a.agent_id: a.name for a in c.agents.list(user)}
    first = tl.spans[0].buckets.start
    got = [
        (
            names[s.agent_id],
            s.mode,
            s.buckets.start - first,
            len(s.buckets),
            s.end_type,
            names.get(s.ended_by_agent_id or ""),
        )
        for s in tl.spans
    ]
    assert got == [
        ("p3", "commit", 0, 6, "booking.evicted", "p1"),
        ("p1", "commit", 3, 6, None, None),
        ("p2", "hold", 12, 3, "hold.promoted", None),
        ("p2", "commit", 12, 3, None, None),
        ("p3", "hold", 18, 2, "hold.invalidated", "p2"),
        ("p2", "commit", 18, 3, None, None),
        ("p3", "hold", 24, 2, "hold.released", None),
        ("p1", "commit", 30, 2, "booking.cancelled", None),
        ("p2", "hold", 36, 2, "hold.expired", None),
        ("p3", "commit", 36, 2, None, None),
    ]
    assert [(names[e.agent_id], e.type, names[e.by_agent_id]) for e in tl.evictions] == [
        ("p3", "booking.evicted", "p1"),
        ("p3", "hold.invalidated", "p2"),
    ]
    assert [(names[r.agent_id], r.reason, names[r.winner_agent_id]) for r in tl.rejections] == [
        ("p3", "outranked", "p1")
    ]
    assert tl.occupants() == bucket_map(c, user, tl.buckets)
    assert tl.rel(tl.spans[0].start_ms) == 0 and tl.last_ms >= tl.spans[-1].start_ms
    # A window of the stream: endings of bookings that began before it close nothing.
    entries = c.audit.range(user)
    tail = build_timeline(entries[[e.type for e in entries].index("hold.created") :])
    assert [e.type for e in tail.evictions] == ["hold.invalidated"]


def test_a_staggered_plan_sends_the_worst_first_and_never_books_an_agent_against_itself() -> None:
    plan = staggered_plan(6, 3, seed=11, round_ms=600)
    assert plan == staggered_plan(6, 3, seed=11, round_ms=600)  # replayable from its seed
    assert [s.at_ms for s in plan] == sorted(s.at_ms for s in plan)
    writes = [s for s in plan if s.action != "promote"]
    assert len(writes) == 18
    for r in range(3):
        arrivals = [s.agent for s in writes if r * 600 <= s.at_ms < (r + 1) * 600]
        assert arrivals == [5, 4, 3, 2, 1, 0], arrivals  # top-ranked (0) last
    for agent in range(6):
        mine = sorted((s.offset_min, s.offset_min + s.minutes) for s in writes if s.agent == agent)
        assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(mine))
        holds = [s for s in plan if s.agent == agent and s.action == "hold"]
        promotes = [s for s in plan if s.agent == agent and s.action == "promote"]
        assert [h.at_ms + 300 for h in holds] == [p.at_ms for p in promotes]
    assert all(0 <= s.offset_min and s.offset_min + s.minutes <= 150 for s in writes)


@pytest.mark.parametrize(
    "kwargs", [{"agents": 0}, {"rounds": 0}, {"lengths": (7,)}, {"lengths": (180,)}]
)
def test_a_staggered_plan_refuses_what_it_cannot_lay_out(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        staggered_plan(**kwargs)
