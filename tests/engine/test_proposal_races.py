"""Proposals under concurrency and time: real threads racing, real deadlines.

Every transition is one Lua script, so whatever interleaving the threads produce,
the stored record must stay consistent: one resolution, one booking, no answer
recorded after the deadline. Deadlines are awaited on the audit stream (XREAD
BLOCK), not slept on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator import (
    Coordinator,
    InvalidState,
    ResolutionFailed,
    ResolutionInProgress,
    ValidationError,
)
from coordinator.proposals.service import OWNER

from .conftest import Calendar
from .proposal_helpers import Team, make_team, slot


def server_ms(coord: Coordinator) -> int:
    secs, micros = (
        coord.redis.time()
        if not hasattr(coord.redis, "get_node_from_key")
        else coord.redis.time(target_nodes=coord.redis.get_random_node())
    )
    return int(secs) * 1000 + int(micros) // 1000


def iso_ms(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat()


def await_audit(
    coord: Coordinator, user_id: str, kind: str, proposal_id: str, timeout: float = 15.0
) -> dict[str, str]:
    """Block on the calendar's audit stream until ``kind`` is written for the proposal."""
    key = coord.store.keys.audit(user_id)
    last = "0-0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, entries in coord.redis.xread({key: last}, block=500) or []:
            for eid, fields in entries:
                last = eid
                if fields.get("type") == kind and fields.get("proposal_id") == proposal_id:
                    return {"id": eid, **fields}
    raise AssertionError(f"no {kind} for {proposal_id} within {timeout}s")


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run the calls in threads released by one barrier; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    out: list[Any] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = calls[i]()
        except Exception as exc:  # the race's outcome, inspected by the test
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def audit_count(team: Team, kind: str, proposal_id: str) -> int:
    return sum(
        1
        for e in team.coord.audit.range(team.user_id)
        if e.type == kind and e.fields.get("proposal_id") == proposal_id
    )


def test_participants_answering_at_once_resolve_exactly_once(
    make_calendar: Callable[..., Calendar],
) -> None:
    team = make_team(make_calendar(), participants=8)
    for rnd in range(8):
        p = team.propose([slot(rnd * 600 + m * 60, weight=1 + m / 10) for m in range(4)])
        pick = p.slots[rnd % 4].id
        results = run_together(
            *[
                (
                    lambda w=w, p=p, pick=pick: w.proposals.respond(
                        p.id, response="accept", selected_slot_id=pick
                    )
                )
                for w in team.participants
            ]
        )
        assert not [r for r in results if isinstance(r, Exception)]
        final = team.coord.proposals.get(p.id)
        assert final.status == "confirmed" and len(final.responses) == 8
        assert final.resolved_slot is not None and final.resolved_slot.id == pick
        [booking] = team.bookings_for(p.id)
        assert booking["status"] == "COMMITTED" and booking["id"] == final.created_event_id
        assert audit_count(team, "proposal.resolving", p.id) == 1
        assert audit_count(team, "proposal.confirmed", p.id) == 1
    assert team.coord.audit.verify(team.user_id).ok


def test_an_answer_racing_the_organizers_resolve(make_calendar: Callable[..., Calendar]) -> None:
    team = make_team(make_calendar(), participants=2)
    seen: set[str] = set()
    for rnd in range(12):
        p = team.propose([slot(rnd * 600), slot(rnd * 600 + 120)])
        team.participants[0].proposals.respond(
            p.id, response="accept", selected_slot_id=p.slots[1].id
        )
        resolved, answered = run_together(
            lambda p=p: team.organizer.proposals.resolve(p.id),
            lambda p=p: team.participants[1].proposals.respond(
                p.id, response="accept", selected_slot_id=p.slots[0].id
            ),
        )
        seen.add(type(resolved).__name__ + "/" + type(answered).__name__)
        assert not isinstance(resolved, Exception) or isinstance(
            resolved, ResolutionInProgress | InvalidState
        ), resolved
        assert not isinstance(answered, Exception) or (
            isinstance(answered, InvalidState) and answered.error == "proposal_not_pending"
        )
        final = team.coord.proposals.get(p.id)
        assert final.status == "confirmed" and not final.resolving
        [booking] = team.bookings_for(p.id)
        assert booking["status"] == "COMMITTED" and booking["id"] == final.created_event_id
        assert audit_count(team, "proposal.confirmed", p.id) == 1
        # The answer counted if and only if it was recorded before the pick.
        assert len(final.responses) == (1 if isinstance(answered, Exception) else 2)
    assert seen  # the interleavings observed, for the record


def test_answers_racing_the_deadline(make_calendar: Callable[..., Calendar]) -> None:
    team = make_team(make_calendar(), participants=4)
    outcomes: dict[str, int] = {}
    margin = 2
    for rnd in range(16):
        # A deadline a few ms after the answers start: some rounds end before every
        # answer is in. The margin adapts to how long a create takes on this backend.
        while True:
            expires = server_ms(team.coord) + margin + (rnd % 4) * 2
            try:
                p = team.propose([slot(rnd * 600)], expires_at=iso_ms(expires))
                break
            except ValidationError:
                margin += 2
        results = run_together(
            *[
                (
                    lambda w=w, p=p: w.proposals.respond(
                        p.id, response="accept", selected_slot_id=p.slots[0].id
                    )
                )
                for w in team.participants
            ]
        )
        final = team.coord.proposals.get(p.id)
        if final.status == "pending":  # not everyone got in: it lapses at its deadline
            await_audit(team.coord, team.user_id, "proposal.expired", p.id)
            final = team.coord.proposals.get(p.id)
        outcomes[final.status] = outcomes.get(final.status, 0) + 1
        assert final.status in ("confirmed", "expired")
        for r in results:
            assert not isinstance(r, Exception) or (
                isinstance(r, InvalidState) and r.error == "proposal_not_pending"
            ), r
        assert all(a.responded_at.timestamp() * 1000 < expires for a in final.responses)
        if final.status == "expired":
            assert team.bookings_for(p.id) == [] and len(final.responses) < 4
        else:
            assert len(team.bookings_for(p.id)) == 1 and len(final.responses) == 4
    assert sum(outcomes.values()) == 16


def test_expires_on_time_without_any_api_call(make_calendar: Callable[..., Calendar]) -> None:
    team = make_team(make_calendar(), participants=2)
    expires = server_ms(team.coord) + 300
    p = team.propose([slot(0)], expires_at=iso_ms(expires))
    # Nobody calls the API from here on: only the timer can expire it.
    entry = await_audit(team.coord, team.user_id, "proposal.expired", p.id)
    assert int(entry["ts"]) >= expires
    assert team.raw(p.id)["status"] == "expired"
    with pytest.raises(InvalidState) as late:
        team.participants[0].proposals.respond(p.id, response="decline")
    assert late.value.context["proposal_status"] == "expired"


def test_expiry_survives_a_coordinator_restart(tmp_path: Path) -> None:
    from coordinator.store.embedded import stop_embedded

    folder = tmp_path / "engine"
    first = Coordinator.embedded(folder, run_proposal_timer=False)
    owner = first.owners.create()
    org = first.agents.create(owner.user_id, name="org", priority=1)
    guest = first.agents.create(owner.user_id, name="guest", priority=2)
    expires = server_ms(first) + 200
    p = first.proposals.create(
        calendar_id=owner.user_id,
        organizer_agent_id=org.agent_id,
        participant_agent_ids=[guest.agent_id],
        slots=[slot(0)],
        expires_at=iso_ms(expires),
    )
    first.close()
    assert stop_embedded(folder)  # the whole coordinator is gone, engine included
    while time.time() * 1000 < expires + 50:  # let the deadline pass while nothing runs
        time.sleep(0.05)
    second = Coordinator.embedded(folder)  # restarts the engine from its AOF
    try:
        key = second.store.keys.proposals(owner.user_id)
        entry = await_audit(second, owner.user_id, "proposal.expired", p.id)
        assert int(entry["ts"]) >= expires
        assert json.loads(second.redis.hget(key, p.id))["status"] == "expired"
        # The timer drops its entry just after the script; a visit of our own settles
        # that race, and finds nothing left to fire.
        second.proposals.timers.run_due()
        assert second.proposals.timers.pending() == 0
    finally:
        second.close()
        stop_embedded(folder)


def test_a_resolver_that_died_after_booking_is_confirmed_by_the_timer(
    make_calendar: Callable[..., Calendar],
) -> None:
    # A lease long enough that the cancel below surely meets it on a loaded machine.
    team = make_team(make_calendar(proposal_resolution_lease_seconds=1.5), participants=1)
    svc = team.coord.proposals.service
    p = team.propose([slot(0)])
    reply = svc._call("proposal_resolve", team.user_id, OWNER, p.id, {"lease_ms": 1500})
    lease = reply["resolution"]["resolving"]
    svc.timers.schedule(team.user_id, p.id, int(lease["lease_ms"]))
    # The resolver commits its slot ... and dies before recording it.
    booking = team.coord.bookings.write(
        user_id=team.user_id,
        agent_id=team.organizer.agent_id,
        key_hash="",
        mode="commit",
        start=p.slots[0].start_time,
        end=p.slots[0].end_time,
        idempotency_key=lease["idem_key"],
        metadata={"proposal_id": p.id},
    )
    with pytest.raises(ResolutionInProgress):
        team.organizer.proposals.cancel(p.id)
    await_audit(team.coord, team.user_id, "proposal.confirmed", p.id)
    final = team.coord.proposals.get(p.id)
    assert final.status == "confirmed" and final.created_event_id == booking.booking_id


def test_a_resolver_that_died_before_booking_is_abandoned_and_a_late_one_undone(
    make_calendar: Callable[..., Calendar],
) -> None:
    team = make_team(make_calendar(proposal_resolution_lease_seconds=0.2), participants=1)
    svc = team.coord.proposals.service
    p = team.propose([slot(0), slot(120)])
    reply = svc._call("proposal_resolve", team.user_id, OWNER, p.id, {"lease_ms": 200})
    svc.timers.schedule(team.user_id, p.id, int(reply["resolution"]["resolving"]["lease_ms"]))
    await_audit(team.coord, team.user_id, "proposal.resolution_abandoned", p.id)
    assert team.coord.proposals.get(p.id).status == "pending"
    # The resolver was only slow: its booking now belongs to no resolution and is undone.
    with pytest.raises(InvalidState) as stale:
        svc._drive(team.user_id, reply["proposal"], reply["resolution"])
    assert stale.value.error == "resolution_stale"
    [undone] = team.bookings_for(p.id)
    assert undone["status"] == "CANCELLED"
    res = team.organizer.proposals.resolve(p.id)
    assert res.status == "confirmed"
    assert [b["status"] for b in team.bookings_for(p.id)].count("COMMITTED") == 1


def test_resolution_racing_a_better_agent_loses_inside_the_window(
    make_calendar: Callable[..., Calendar],
) -> None:
    # A window wide enough that both writers surely land in it, even on a loaded machine;
    # the loser is answered the moment it is displaced, so nobody waits it out.
    team = make_team(make_calendar(arbitration_window_ms=1000), participants=1)
    for rnd in range(6):
        p = team.propose([slot(rnd * 600), slot(rnd * 600 + 120, weight=0.5)])
        s = p.slots[0]
        resolved, top = run_together(
            lambda p=p: team.organizer.proposals.resolve(p.id),
            lambda s=s: team.top.bookings.commit(start=s.start_time, end=s.end_time),
        )
        assert isinstance(resolved, ResolutionFailed), resolved
        assert resolved.winning_agent_id == team.top.agent_id
        assert resolved.winning_booking_id == top.booking_id
        assert resolved.remaining_slot_ids == [p.slots[1].id]
        final = team.coord.proposals.get(p.id)
        assert final.status == "pending" and final.failed_slots[0].slot_id == s.id
        assert [b["status"] for b in team.bookings_for(p.id)] in ([], ["EVICTED"])
        assert team.top.bookings.get(top.booking_id).status == "COMMITTED"


@pytest.fixture(scope="module")
def model_cal(store: Any) -> Callable[[], Team]:
    def make() -> Team:
        coord = Coordinator(store, __import__("coordinator").Settings(arbitration_window_ms=0))
        return make_team(Calendar(coord, coord.owners.create().user_id), participants=4)

    return make


ANSWER = st.tuples(
    st.sampled_from(["accept", "decline", "counter"]), st.one_of(st.none(), st.integers(0, 4))
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    weights=st.lists(
        st.sampled_from([0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 1.0, 1.3, 2.0]), min_size=1, max_size=5
    ),
    starts=st.permutations(range(5)),
    answers=st.lists(ANSWER, min_size=4, max_size=4),
)
def test_the_picked_slot_is_the_reference_scorers(
    model_cal: Callable[[], Team],
    weights: list[float],
    starts: list[int],
    answers: list[tuple[str, int | None]],
) -> None:
    team = model_cal()
    p = team.propose([slot(starts[i] * 120, weight=w) for i, w in enumerate(weights)])
    for who, (kind, idx) in zip(team.participants, answers, strict=True):
        chosen = None if idx is None or idx >= len(weights) else p.slots[idx].id
        if kind == "accept" and chosen is None:
            chosen = p.slots[0].id
        out = who.proposals.respond(p.id, response=kind, selected_slot_id=chosen)
    # Reference: decimal arithmetic, max score, then earliest start, then listed order.
    from decimal import Decimal

    score = {s.id: Decimal(str(s.weight)) for s in p.slots}
    bonus = {"accept": Decimal("1.0"), "counter": Decimal("0.3"), "decline": Decimal(0)}
    for r in out.responses:
        if r.selected_slot_id:
            score[r.selected_slot_id] += bonus[r.response]
    if all(r.response == "decline" for r in out.responses):
        assert (out.status, out.reason) == ("cancelled", "all_declined")
        return
    best = min(p.slots, key=lambda s: (-score[s.id], s.start_time, p.slots.index(s)))
    assert out.status == "confirmed" and out.resolved_slot == best
