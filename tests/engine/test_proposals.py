"""Multi-slot proposals (Chronary-style) on every backend: lifecycle, scoring, refusals.

Races, expiry and recovery live in ``test_proposal_races.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from coordinator import (
    AuthError,
    Conflict,
    DuplicateResponse,
    InvalidState,
    NotFound,
    ResolutionFailed,
    ValidationError,
)

from .conftest import BASE, Calendar
from .proposal_helpers import Team, at, make_team, slot


@pytest.fixture
def team(make_calendar: Callable[..., Calendar]) -> Team:
    return make_team(make_calendar())


def test_create_assigns_ids_defaults_and_audits(team: Team) -> None:
    p = team.propose(
        [slot(0, weight=2.0), slot(24 * 60)], title="Q2 planning sync", description="lock the OKRs"
    )
    assert p.status == "pending" and p.id.startswith("spr_")
    assert p.organizer_agent_id == team.organizer.agent_id
    assert p.participant_agent_ids == team.ids and p.calendar_id == team.user_id
    assert [s.weight for s in p.slots] == [2.0, 1.0]
    assert all(s.id.startswith("slt_") for s in p.slots) and len({s.id for s in p.slots}) == 2
    assert p.slots[0].start_time == BASE and p.responses == [] and p.pending_agent_ids == team.ids
    ttl = team.coord.settings.proposal_ttl_seconds
    assert abs((p.expires_at - p.created_at).total_seconds() - ttl) < 1
    entries = team.coord.audit.range(team.user_id)
    created = [e for e in entries if e.type == "proposal.created"]
    assert len(created) == 1 and created[0].fields["proposal_id"] == p.id
    assert created[0].id == p.audit_event_id
    # Every party reads it; the owner too, by id alone.
    assert team.participants[0].proposals.get(p.id) == p
    assert team.coord.proposals.get(p.id) == p


def test_last_answer_resolves_and_books_with_the_organizers_priority(team: Team) -> None:
    p = team.propose([slot(0, weight=2.0), slot(24 * 60), slot(48 * 60, weight=1.5)])
    a, b, c = team.participants
    s0, s1, _ = (s.id for s in p.slots)
    a.proposals.respond(p.id, response="accept", selected_slot_id=s1)
    b.proposals.respond(p.id, response="accept", selected_slot_id=s1)
    done = c.proposals.respond(
        p.id,
        response="counter",
        selected_slot_id=s0,
        counter_slots=[slot(72 * 60)],
        message="either works",
    )
    # slot 1: 1.0 + 1.0 + 1.0 = 3.0 beats slot 0: 2.0 + 0.3 and slot 2: 1.5
    assert done.status == "confirmed" and done.resolved_slot == p.slots[1]
    booking = team.organizer.bookings.get(done.created_event_id)
    assert booking.status == "COMMITTED" and booking.agent_id == team.organizer.agent_id
    assert booking.priority == 3 and booking.start == p.slots[1].start_time
    assert done.responses[2].counter_slots[0].start_time == at(72 * 60)
    assert done.responses[2].message == "either works"
    types = [
        e.type
        for e in team.coord.audit.range(team.user_id)
        if e.type.startswith("proposal.") or e.type == "booking.committed"
    ]
    assert types[-6:] == [
        "proposal.created",
        "proposal.responded",
        "proposal.responded",
        "proposal.responded",
        "proposal.resolving",
        "booking.committed",
    ] or types[-7:] == [
        "proposal.created",
        "proposal.responded",
        "proposal.responded",
        "proposal.responded",
        "proposal.resolving",
        "booking.committed",
        "proposal.confirmed",
    ]
    assert types[-1] == "proposal.confirmed"
    assert team.coord.audit.verify(team.user_id).ok


# Each case: slots as (start minutes, weight), answers as (response, slot index or None),
# and the index of the slot the proposal flow's scorer must pick.
SCORING = [
    pytest.param([(0, 1.0), (60, 1.0)], [("accept", 1)], 1, id="an-accept-carries"),
    pytest.param([(0, 2.0), (60, 1.0)], [("accept", 1)], 0, id="weight-2-beats-1+1-on-start"),
    pytest.param([(0, 1.0), (60, 1.0)], [("counter", 1)], 1, id="counter-adds-0.3"),
    pytest.param([(0, 1.3), (60, 1.0)], [("counter", 1)], 0, id="tie-goes-to-earliest"),
    pytest.param([(60, 1.0), (0, 1.3)], [("counter", 0)], 1, id="tie-earliest-not-listed"),
    pytest.param(
        [(0, 0.6), (60, 0.3)], [("counter", 1), ("decline", 0)], 0, id="0.3+0.3-ties-0.6-exactly"
    ),
    pytest.param(
        [(0, 1.0), (60, 1.0), (120, 1.0)],
        [("counter", 2), ("counter", 2), ("counter", 2), ("accept", 1)],
        1,
        id="three-counters-lose-to-one-accept",
    ),
    pytest.param(
        [(0, 1.0), (60, 1.0), (120, 1.0)],
        [("counter", 2)] * 4 + [("accept", 1)],
        2,
        id="four-counters-beat-one-accept",
    ),
    pytest.param(
        [(0, 1.0), (60, 1.2)], [("decline", 1), ("accept", 0)], 0, id="a-decline-adds-nothing"
    ),
    pytest.param(
        [(0, 0.0), (60, 0.0)],
        [("decline", None), ("decline", 1), ("counter", None)],
        0,
        id="unslotted-counter-keeps-it-alive",
    ),
]


@pytest.mark.parametrize(("slots", "answers", "expected"), SCORING)
def test_scoring_matches_seed_004(
    make_calendar: Callable[..., Calendar],
    slots: list[tuple[int, float]],
    answers: list[tuple[str, int | None]],
    expected: int,
) -> None:
    team = make_team(make_calendar(), participants=len(answers))
    p = team.propose([slot(m, weight=w) for m, w in slots])
    for who, (response, index) in zip(team.participants, answers, strict=True):
        out = who.proposals.respond(
            p.id, response=response, selected_slot_id=None if index is None else p.slots[index].id
        )
    assert out.status == "confirmed"
    assert out.resolved_slot == p.slots[expected]
    assert (
        max(out.scores(), key=lambda s: (out.scores()[s], -_start(out, s))) == p.slots[expected].id
    )


def _start(p: Any, slot_id: str) -> float:
    return next(s.start_time.timestamp() for s in p.slots if s.id == slot_id)


def test_all_declined_cancels_without_booking(team: Team) -> None:
    p = team.propose([slot(0), slot(60)])
    for who in team.participants:
        out = who.proposals.respond(p.id, response="decline")
    assert out.status == "cancelled" and out.reason == "all_declined"
    assert out.created_event_id is None and team.bookings_for(p.id) == []
    ended = [e for e in team.coord.audit.range(team.user_id) if e.type == "proposal.cancelled"]
    assert [e.fields["reason"] for e in ended] == ["all_declined"]


def test_early_resolve_by_the_organizer(team: Team) -> None:
    p = team.propose([slot(0), slot(60)])
    team.participants[0].proposals.respond(p.id, response="accept", selected_slot_id=p.slots[1].id)
    res = team.organizer.proposals.resolve(p.id)
    assert res.status == "confirmed" and res.resolved_slot == p.slots[1]
    assert res.proposal.status == "confirmed" and res.created_event_id
    # Everyone else is too late now.
    with pytest.raises(InvalidState) as late:
        team.participants[1].proposals.respond(p.id, response="decline")
    assert late.value.error == "proposal_not_pending" and late.value.status == 409
    assert late.value.context["proposal_status"] == "confirmed"


def test_early_resolve_with_only_declines_is_all_declined(team: Team) -> None:
    p = team.propose([slot(0)])
    team.participants[0].proposals.respond(p.id, response="decline")
    res = team.organizer.proposals.resolve(p.id)
    assert (res.status, res.reason, res.resolved_slot) == ("cancelled", "all_declined", None)


def test_owner_side_surface_names_the_agents(team: Team) -> None:
    coord = team.coord
    p = coord.proposals.create(
        calendar_id=team.user_id,
        organizer_agent_id=team.organizer.agent_id,
        participant_agent_ids=team.ids[:1],
        slots=[slot(0)],
    )
    out = coord.proposals.respond(
        p.id, agent_id=team.ids[0], response="accept", selected_slot_id=p.slots[0].id
    )
    assert out.status == "confirmed"
    assert coord.proposals.list(team.user_id, status="confirmed") == [out]
    assert coord.proposals.list(team.user_id, status="pending") == []


def test_a_second_answer_is_duplicate_response(team: Team) -> None:
    p = team.propose([slot(0), slot(60)])
    a = team.participants[0]
    a.proposals.respond(p.id, response="accept", selected_slot_id=p.slots[0].id)
    before = team.store_snapshot()
    with pytest.raises(DuplicateResponse) as dup:
        a.proposals.respond(p.id, response="decline")
    assert dup.value.status == 409 and dup.value.error == "duplicate_response"
    assert team.store_snapshot() == before
    assert a.proposals.get(p.id).responses[0].response == "accept"


def test_only_participants_answer_and_only_the_organizer_resolves(team: Team) -> None:
    p = team.propose([slot(0)])
    before = team.store_snapshot()
    for outsider in (team.top, team.organizer):
        with pytest.raises(AuthError) as no:
            outsider.proposals.respond(p.id, response="accept", selected_slot_id=p.slots[0].id)
        assert no.value.status == 403 and no.value.error == "forbidden"
    with pytest.raises(AuthError):
        team.coord.proposals.respond(p.id, agent_id=team.top.agent_id, response="decline")
    for who in (team.top, team.participants[0]):
        with pytest.raises(AuthError) as no:
            who.proposals.resolve(p.id)
        assert no.value.status == 403
        with pytest.raises(AuthError):
            who.proposals.cancel(p.id)
    with pytest.raises(AuthError):  # not invited: cannot even read it
        team.top.proposals.get(p.id)
    assert team.top.proposals.list() == []
    assert [x.id for x in team.participants[0].proposals.list()] == [p.id]
    assert team.store_snapshot()[0] == before[0]


def test_cancel_then_everything_is_a_conflict(team: Team) -> None:
    p = team.propose([slot(0)])
    out = team.organizer.proposals.cancel(p.id)
    assert out.status == "cancelled" and out.reason == "organizer_cancelled"
    before = team.store_snapshot()
    calls = [
        lambda: team.participants[0].proposals.respond(p.id, response="decline"),
        lambda: team.organizer.proposals.resolve(p.id),
        lambda: team.organizer.proposals.cancel(p.id),
    ]
    for call in calls:
        with pytest.raises(InvalidState) as no:
            call()
        assert no.value.status == 409 and no.value.context["proposal_status"] == "cancelled"
    assert team.store_snapshot() == before


def test_unknown_ids_are_not_found(team: Team) -> None:
    with pytest.raises(NotFound) as nf:
        team.organizer.proposals.get("spr_doesnotexist")
    assert nf.value.error == "proposal_not_found" and nf.value.status == 404
    with pytest.raises(NotFound):
        team.coord.proposals.resolve("spr_doesnotexist")


def test_resolution_that_loses_says_who_won_and_stays_actionable(team: Team) -> None:
    p = team.propose([slot(0, weight=3.0), slot(60), slot(120, weight=0.5)])
    # The top-ranked agent takes the best slot before the proposal resolves.
    winner = team.top.bookings.commit(start=at(0), end=at(60))
    for who in team.participants[:2]:
        who.proposals.respond(p.id, response="accept", selected_slot_id=p.slots[0].id)
    out = team.participants[2].proposals.respond(
        p.id, response="accept", selected_slot_id=p.slots[0].id
    )
    # The auto-resolution lost: the answer stands, the proposal stays pending.
    assert out.status == "pending" and len(out.responses) == 3
    [failure] = out.failed_slots
    assert failure.slot_id == p.slots[0].id and failure.cause == "outranked"
    assert failure.winning_booking_id == winner.booking_id
    assert failure.winning_agent_id == team.top.agent_id and failure.winning_agent_priority == 1
    assert failure.your_priority == 3 and failure.audit_event_id
    # The organizer acts: resolving again books the next-best slot.
    res = team.organizer.proposals.resolve(p.id)
    assert res.status == "confirmed" and res.resolved_slot == p.slots[1]
    assert team.top.bookings.get(winner.booking_id).status == "COMMITTED"


def test_a_failed_manual_resolve_raises_with_the_winner(team: Team) -> None:
    p = team.propose([slot(0), slot(60)])
    team.top.bookings.commit(start=at(0), end=at(60))
    team.top.bookings.commit(start=at(60), end=at(120))
    with pytest.raises(ResolutionFailed) as lost:
        team.organizer.proposals.resolve(p.id)
    e = lost.value
    assert isinstance(e, Conflict) and e.status == 409 and e.error == "resolution_failed"
    assert e.winning_agent_id == team.top.agent_id and e.winning_agent_priority == 1
    assert e.slot_id == p.slots[0].id and e.remaining_slot_ids == [p.slots[1].id]
    assert e.body["proposal_status"] == "pending" and e.body["cause"] == "outranked"
    with pytest.raises(ResolutionFailed) as again:
        team.organizer.proposals.resolve(p.id)
    assert again.value.slot_id == p.slots[1].id and again.value.remaining_slot_ids == []
    with pytest.raises(ResolutionFailed) as none_left:
        team.organizer.proposals.resolve(p.id)
    assert none_left.value.cause == "no_slot_left"
    assert team.organizer.proposals.cancel(p.id).status == "cancelled"
    assert team.bookings_for(p.id) == []


def test_resolution_obeys_the_owners_rules(team: Team) -> None:
    team.coord.rules.update(
        team.user_id,
        working_hours={d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")},
    )
    # 18:00-19:00 on a Monday is outside working hours; 11:00 is inside.
    p = team.propose([slot(8 * 60, weight=5.0), slot(60)])
    with pytest.raises(ResolutionFailed) as refused:
        team.organizer.proposals.resolve(p.id)
    assert refused.value.cause == "outside_working_hours"
    assert team.organizer.proposals.resolve(p.id).resolved_slot == p.slots[1]


BAD_CREATE: list[Any] = [
    ("slots", {"slots": []}),
    ("slots", {"slots": [slot(i * 60) for i in range(21)]}),
    (
        "slots[0].end_time",
        {"slots": [{"start_time": at(60).isoformat(), "end_time": at(0).isoformat()}]},
    ),
    (
        "slots[0].start_time",
        {"slots": [{"start_time": "2031-03-03T10:00:00", "end_time": at(60).isoformat()}]},
    ),
    ("slots[0].start_time", {"slots": [{"start_time": "tomorrow", "end_time": "x"}]}),
    ("slots[0].weight", {"slots": [slot(0, weight=-1)]}),
    ("slots[0].weight", {"slots": [slot(0, weight=float("nan"))]}),
    ("slots[0].weight", {"slots": [slot(0, weight=True)]}),  # type: ignore[arg-type]
    ("slots[1]", {"slots": [slot(0), slot(0)]}),
    ("slots[0].calendar_id", {"slots": [{**slot(0), "calendar_id": "usr_other"}]}),
    ("slots[0]", {"slots": ["2031-03-03T10:00:00Z"]}),
    ("participant_agent_ids", {"participant_agent_ids": []}),
    ("participant_agent_ids", {"participant_agent_ids": [f"agt_{i}" for i in range(51)]}),
    ("participant_agent_ids", {"participant_agent_ids": "agt_x"}),
    ("participant_agent_ids", {"participant_agent_ids": "DUP"}),
    ("participant_agent_ids[0]", {"participant_agent_ids": ["agt_nobody"]}),
    ("expires_at", {"expires_at": "2020-01-01T00:00:00Z"}),
    ("expires_at", {"expires_at": "2099-01-01T00:00:00Z"}),
    ("expires_at", {"expires_at": 12}),
    ("title", {"title": "x" * 201}),
    ("description", {"description": 7}),
    ("organizer_agent_id", {"organizer_agent_id": "agt_someone_else"}),
    ("calendar_id", {"calendar_id": "usr_other"}),
    ("idempotency_key", {"idempotency_key": ""}),
]


@pytest.mark.parametrize(
    ("field", "change"), BAD_CREATE, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_CREATE)]
)
def test_bad_create_names_the_field_and_writes_nothing(
    team: Team, field: str, change: dict[str, Any]
) -> None:
    kw: dict[str, Any] = {"participant_agent_ids": team.ids, "slots": [slot(0)], **change}
    if kw["participant_agent_ids"] == "DUP":
        kw["participant_agent_ids"] = [team.ids[0], team.ids[0]]
    before = team.store_snapshot()
    with pytest.raises(ValidationError) as bad:
        team.organizer.proposals.create(**kw)
    assert bad.value.field == field and bad.value.status == 422
    assert team.store_snapshot() == before


BAD_RESPOND: list[Any] = [
    ("response", {"response": "maybe"}),
    ("selected_slot_id", {"response": "accept"}),
    ("selected_slot_id", {"response": "accept", "selected_slot_id": "slt_notthere"}),
    ("selected_slot_id", {"response": "accept", "selected_slot_id": 3}),
    (
        "counter_slots",
        {"response": "accept", "selected_slot_id": "FIRST", "counter_slots": [slot(0)]},
    ),
    ("counter_slots", {"response": "counter", "counter_slots": [slot(i) for i in range(21)]}),
    (
        "counter_slots[0].end_time",
        {
            "response": "counter",
            "counter_slots": [{"start_time": at(60).isoformat(), "end_time": at(0).isoformat()}],
        },
    ),
    ("message", {"response": "counter", "message": "x" * 2001}),
    ("agent_id", {"response": "decline", "agent_id": "agt_someone_else"}),
    ("proposal_id", {"response": "decline", "proposal_id": "nope"}),
]


@pytest.mark.parametrize(
    ("field", "change"), BAD_RESPOND, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_RESPOND)]
)
def test_bad_answer_names_the_field_and_writes_nothing(
    team: Team, field: str, change: dict[str, Any]
) -> None:
    p = team.propose([slot(0)])
    kw = dict(change)
    pid = kw.pop("proposal_id", p.id)
    if kw.get("selected_slot_id") == "FIRST":
        kw["selected_slot_id"] = p.slots[0].id
    before = team.store_snapshot()
    with pytest.raises(ValidationError) as bad:
        team.participants[0].proposals.respond(pid, **kw)
    assert bad.value.field == field
    assert team.store_snapshot() == before
    assert team.participants[0].proposals.get(p.id).responses == []


def test_keys_scopes_and_revocation_apply(team: Team) -> None:
    cal = team.cal
    reader = cal.coord.agents.create(
        cal.user_id, name="reader", priority=9, scopes=["bookings:read"]
    )
    client = cal.coord.client(reader.api_key)
    with pytest.raises(AuthError) as scope:
        client.proposals.create(participant_agent_ids=team.ids, slots=[slot(0)])
    assert scope.value.error == "insufficient_scope"
    p = team.propose([slot(0)])
    cal.coord.agents.revoke(team.participants[0].agent_id)
    with pytest.raises(AuthError) as revoked:
        team.participants[0].proposals.respond(p.id, response="decline")
    assert revoked.value.status == 401
    # A revoked organizer cannot book: resolution says so and leaves it pending.
    cal.coord.agents.revoke(team.organizer.agent_id)
    with pytest.raises(ResolutionFailed) as org:
        team.coord.proposals.resolve(p.id)
    assert org.value.cause == "organizer_revoked"
    assert team.coord.proposals.get(p.id).status == "pending"


def test_idempotent_create_returns_the_same_proposal(team: Team) -> None:
    one = team.propose([slot(0)], idempotency_key="plan-q2")
    two = team.propose([slot(0)], idempotency_key="plan-q2")
    assert one == two
    assert len(team.coord.proposals.list(team.user_id)) == 1


def test_webhook_events_are_written_with_the_change(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    from coordinator.webhooks.dispatcher import envelope
    from coordinator.webhooks.urls import ALLOW_HOSTS_ENV

    monkeypatch.setenv(ALLOW_HOSTS_ENV, "127.0.0.1")  # a local endpoint, never called here

    coord = team.coord
    coord.webhooks.register(
        team.user_id,
        "http://127.0.0.1:9/hook",
        events=[
            "proposal.created",
            "proposal.responded",
            "proposal.confirmed",
            "proposal.cancelled",
        ],
    )
    p = team.propose([slot(0), slot(60)])
    for who in team.participants:
        who.proposals.respond(p.id, response="accept", selected_slot_id=p.slots[1].id)
    q = team.propose([slot(120)])
    team.organizer.proposals.cancel(q.id)
    outbox = coord.redis.xrange(coord.store.keys.prefix(team.user_id) + "outbox")
    events = [json.loads(envelope(f)) for _, f in outbox]
    mine = [
        (e["type"], e["data"]["proposal_id"]) for e in events if e["type"].startswith("proposal.")
    ]
    assert mine == [("proposal.created", p.id)] + [("proposal.responded", p.id)] * 3 + [
        ("proposal.confirmed", p.id),
        ("proposal.created", q.id),
        ("proposal.cancelled", q.id),
    ]
    by_type = {e["type"]: e["data"] for e in events if e["data"].get("proposal_id") == p.id}
    assert by_type["proposal.created"]["slots"][0]["start_time"] == at(0).isoformat()
    assert by_type["proposal.confirmed"]["resolved_slot"]["id"] == p.slots[1].id
    assert (
        by_type["proposal.confirmed"]["created_event_id"]
        == coord.proposals.get(p.id).created_event_id
    )
    assert by_type["proposal.responded"]["response"] == "accept"
    audit_ids = {e.id for e in coord.audit.range(team.user_id)}
    assert all(e["data"]["audit_event_id"] in audit_ids for e in events)
    cancelled = [e for e in events if e["type"] == "proposal.cancelled"]
    assert cancelled[0]["data"]["reason"] == "organizer_cancelled"
