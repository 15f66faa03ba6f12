"""The audit stream: complete, queryable, and tamper-evident, on every backend.

Each calendar's audit log is a Redis Stream whose entries chain SHA-1 hashes
(coordinator/lua/_lib.lua writes them, coordinator/audit/chain.py re-walks them). These
tests write a story that touches every kind of transition, then query it by booking
and by server-time range, then tamper with the stream the ways an operator with
Redis access could (edit, delete, reorder, cut the tail) and check each is caught
and named, while a neighbouring calendar still verifies clean. The CLI is checked
end to end in a subprocess.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

from coordinator.models import AuditEntry
from tests.support.servers import Backend

from .audit_story import (
    STORY_TYPES,
    Entry,
    Story,
    admin,
    entries,
    mentions,
    rewrite,
)
from .conftest import Calendar, at

REPO = Path(__file__).resolve().parents[2]


def problems(s: Story) -> list[tuple[str, str]]:
    v = s.coord.audit.verify(s.user_id)
    assert v.ok == (not v.problems)
    return [(p.problem, p.entry_id) for p in v.problems]


# -- a clean log ---------------------------------------------------------------------------


def test_a_mixed_history_is_fully_audited_and_the_chain_verifies(story: Story) -> None:
    log = story.coord.audit.range(story.user_id)
    assert [e.type for e in log] == STORY_TYPES
    v = story.coord.audit.verify(story.user_id)
    assert v.ok and v.problems == ()
    assert v.entries == len(STORY_TYPES)
    assert v.head == log[-1].fields["hash"]
    assert v.head == story.coord.redis.hget(
        story.coord.store.keys.owner(story.user_id), "audit_head"
    )
    # Every entry is chained to the one before it, from genesis.
    assert log[0].fields["prev"] == "genesis"
    assert all(b.fields["prev"] == a.fields["hash"] for a, b in itertools.pairwise(log))


def test_entries_are_stamped_with_server_time_in_increasing_order(story: Story) -> None:
    log = story.coord.audit.range(story.user_id)
    for e in log:
        assert round(e.ts.timestamp() * 1000) == int(e.fields["ts"])
        # The script reads TIME before it appends, so the stream id is never earlier.
        assert written_at(e) >= e.ts
    assert [e.ts for e in log] == sorted(e.ts for e in log)
    ids = [_id_key(e.id) for e in log]
    assert ids == sorted(set(ids)), "ids strictly increase"


def _id_key(eid: str) -> tuple[int, int]:
    ms, seq = eid.split("-")
    return int(ms), int(seq)


def test_a_booking_query_returns_exactly_its_entries_oldest_first(story: Story) -> None:
    everything = story.coord.audit.range(story.user_id)
    for bid in (
        story.victim,
        story.winner,
        story.released,
        story.spare,
        story.promoted_hold,
        story.promotion,
    ):
        got = story.coord.audit.for_booking(story.user_id, bid)
        assert got == [e for e in everything if mentions(e, bid)], bid

    def types(bid: str) -> list[str]:
        return [e.type for e in story.coord.audit.for_booking(story.user_id, bid)]

    # The victim: its commit, its eviction, and the commit that displaced it.
    assert types(story.victim) == ["booking.committed", "booking.evicted", "booking.committed"]
    evicted = story.coord.audit.for_booking(story.user_id, story.victim)[1]
    assert evicted.fields["by_booking_id"] == story.winner
    assert evicted.fields["by_priority"] == "1"
    # The winner: the eviction it caused, its commit, then the rejection it caused.
    assert types(story.winner) == ["booking.evicted", "booking.committed", "booking.rejected"]
    assert story.coord.audit.for_booking(story.user_id, story.winner)[2].id == (
        story.rejection_event
    )
    assert types(story.released) == ["hold.created", "hold.released"]
    assert types(story.spare) == ["booking.committed", "booking.cancelled"]
    assert types(story.promoted_hold) == ["hold.created", "hold.promoted"]
    assert types(story.promotion) == ["hold.promoted", "booking.committed"]


def test_the_client_lists_a_bookings_entries_like_the_sdk(story: Story) -> None:
    client = story.cal.clients[1]
    got = client.audit.list(resource=story.victim)
    assert got == story.coord.audit.for_booking(story.user_id, story.victim)


def test_a_booking_with_no_history_has_no_entries(story: Story) -> None:
    assert story.coord.audit.for_booking(story.user_id, "bkg_0000000000000000") == []


def written_at(e: AuditEntry) -> datetime:
    """When the change happened on the server's clock: the entry's ``ts``."""
    return e.ts


def test_a_time_range_query_returns_the_entries_written_in_it(story: Story) -> None:
    log = story.coord.audit.range(story.user_id)
    stamps = sorted({written_at(e) for e in log})
    assert len(stamps) >= 2, "the story spans at least two server milliseconds"

    def between(lo: datetime, hi: datetime) -> list[AuditEntry]:
        return [e for e in log if lo <= written_at(e) <= hi]

    # Bounds are inclusive, on the server's clock.
    lo, hi = stamps[0], stamps[-2]
    subset = story.coord.audit.range(story.user_id, lo, hi)
    assert subset == between(lo, hi)
    assert 0 < len(subset) < len(log)
    assert story.coord.audit.range(story.user_id, start=stamps[1]) == between(stamps[1], stamps[-1])
    tail = story.coord.audit.range(story.user_id, start=stamps[-1])
    assert tail == between(stamps[-1], stamps[-1]) and tail[-1] == log[-1]
    one_ms = timedelta(milliseconds=1)
    assert story.coord.audit.range(story.user_id, end=stamps[0] - one_ms) == []
    assert story.coord.audit.range(story.user_id, start=stamps[-1] + one_ms) == []
    # ISO text works as well as datetimes, and limit keeps the oldest.
    assert story.coord.audit.range(story.user_id, lo.isoformat(), hi.isoformat()) == subset
    assert story.coord.audit.range(story.user_id, limit=3) == log[:3]


def test_an_entry_is_found_by_a_range_bounded_by_its_own_timestamp(cal: Calendar) -> None:
    low, high = cal.agent(3), cal.agent(1)
    # One commit that evicts 200 others: its script runs for several milliseconds, so the
    # stream id of its last entry is later than the 'ts' the script read at its start.
    for i in range(200):
        low.bookings.commit(start=at(5 * i), end=at(5 * i + 5), bump_window_seconds=3600)
    winner = high.bookings.commit(start=at(0), end=at(1000))
    assert len(winner.displaced) == 200
    for e in cal.coord.audit.range(cal.user_id):
        assert e in cal.coord.audit.range(cal.user_id, e.ts, e.ts), (e.id, e.fields["ts"])


# -- tampering -----------------------------------------------------------------------------


def test_rebuilding_the_stream_unchanged_still_verifies(story: Story) -> None:
    """The forging method itself leaves no trace; so what the tests below see is the edit."""
    before = entries(story)
    rewrite(story, lambda es: es)
    assert entries(story) == before
    assert story.coord.audit.verify(story.user_id).ok


def test_an_edited_entry_is_named_as_edited(story: Story, neighbour: Story) -> None:
    es = entries(story)
    k = STORY_TYPES.index("booking.rejected")
    target = es[k][0]
    assert target == story.rejection_event
    loser = es[k][1]["agent_id"]

    def forge(es: list[Entry]) -> list[Entry]:
        # Pretend the rejected agent was the winner all along.
        return [(eid, {**f, "winner_agent_id": loser} if eid == target else f) for eid, f in es]

    rewrite(story, forge)
    assert problems(story) == [("edited", target)]
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_a_deleted_middle_entry_breaks_the_chain_at_the_next_one(
    story: Story, neighbour: Story
) -> None:
    es = entries(story)
    k = STORY_TYPES.index("booking.evicted")
    assert admin(story.coord).xdel(story.coord.store.keys.audit(story.user_id), es[k][0]) == 1
    assert problems(story) == [("chain_broken", es[k + 1][0])]
    v = story.coord.audit.verify(story.user_id)
    assert v.entries == len(STORY_TYPES) - 1
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_two_swapped_entries_are_detected(story: Story, neighbour: Story) -> None:
    es = entries(story)
    k = STORY_TYPES.index("hold.released")

    def swap(es: list[Entry]) -> list[Entry]:
        out = list(es)
        (id_a, f_a), (id_b, f_b) = out[k], out[k + 1]
        out[k], out[k + 1] = (id_a, f_b), (id_b, f_a)  # ids stay increasing, contents swap
        return out

    rewrite(story, swap)
    found = problems(story)
    assert found, "a reordering must not verify"
    assert found[0] == ("chain_broken", es[k][0])
    assert {p for p, _ in found} == {"chain_broken"}  # each entry is intact, only out of order
    assert ("chain_broken", es[k + 1][0]) in found
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_a_cut_off_tail_no_longer_matches_the_recorded_head(story: Story, neighbour: Story) -> None:
    es = entries(story)
    assert admin(story.coord).xdel(story.coord.store.keys.audit(story.user_id), es[-1][0]) == 1
    assert problems(story) == [("head_mismatch", es[-2][0])]
    assert neighbour.coord.audit.verify(neighbour.user_id).ok


def test_a_new_write_after_tampering_does_not_heal_the_chain(story: Story) -> None:
    es = entries(story)
    admin(story.coord).xdel(story.coord.store.keys.audit(story.user_id), es[3][0])
    story.cal.clients[1].bookings.commit(start=at(300), end=at(330))
    assert problems(story) == [("chain_broken", es[4][0])]


# -- the CLI -------------------------------------------------------------------------------


def cli_store_args(backend: Backend) -> list[str]:
    if backend.url is not None:
        return ["--redis-url", backend.url]
    assert backend.data_dir is not None
    return ["--data-dir", str(backend.data_dir)]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coordinator", "audit", "verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_passes_a_clean_calendar_and_fails_a_tampered_one(
    story: Story, neighbour: Story, backend: Backend
) -> None:
    store = cli_store_args(backend)
    clean = run_cli(*store, "--user", story.user_id)
    assert clean.returncode == 0, clean.stderr
    assert f"{story.user_id}: ok, {len(STORY_TYPES)} entries" in clean.stdout

    es = entries(story)
    admin(story.coord).xdel(story.coord.store.keys.audit(story.user_id), es[2][0])
    tampered = run_cli(*store, "--user", story.user_id)
    assert tampered.returncode == 1, tampered.stderr
    assert f"{story.user_id}: TAMPERED" in tampered.stdout
    assert f"{es[3][0]}: chain_broken" in tampered.stdout

    as_json = run_cli(*store, "--user", story.user_id, "--json")
    assert as_json.returncode == 1
    report = json.loads(as_json.stdout)
    assert report["ok"] is False
    assert [(p["problem"], p["entry_id"]) for p in report["problems"]] == [
        ("chain_broken", es[3][0])
    ]
    # The untouched calendar next to it still passes on its own.
    assert run_cli(*store, "--user", neighbour.user_id).returncode == 0
