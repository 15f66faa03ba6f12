"""Values that cannot be stored are refused before Redis, naming the field; nothing changes.

Regression (issue 10): ``"metadata": {"x": NaN}`` from a priority-1 agent over a
priority-2 fresh commit answered 500 *after* the script had evicted the victim and
appended ``booking.committed`` for a phantom booking; ``"\\ud800"`` in a title, a
metadata key or ``invitee.name`` answered 500; an agent with only
``approvals:request`` sending ``evidence: {"\\ud800": 1}`` stored an approval that made
the owner's approvals listing fail forever. Each is now a 422 ``ValidationError``
naming the field, and every key of the store is byte-for-byte what it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from coordinator import NotFound, ValidationError
from coordinator.inputs import MAX_DEPTH, MAX_SAFE_INTEGER
from tests.support.dump import dump_keys

from .conftest import Calendar, at
from .proposal_helpers import make_team, slot

LONE = "\ud800"


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` containers deep: ``{"a": {"a": … {}}}``."""
    value: dict[str, Any] = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def store_dump(cal: Calendar) -> dict[str, bytes]:
    """DUMP of every key of this calendar (one hash tag, so one node even on a Cluster).

    Other tests share the engine, and their rate-limit buckets expire while this one
    runs, so only this calendar's keys are compared.
    """
    pattern = f"{cal.coord.store.keys.namespace}:{{{cal.user_id}}}:*"
    return dump_keys(cal.coord.redis, pattern)


def refused(cal: Calendar, field: str, call: Callable[[], object]) -> ValidationError:
    """Assert ``call`` raises a 422 naming ``field`` and leaves the store as it was."""
    before = store_dump(cal)
    with pytest.raises(ValidationError) as err:
        call()
    assert err.value.field == field
    assert err.value.status == 422
    # The message must itself be encodable: it goes out in a UTF-8 JSON body.
    err.value.detail.encode("utf-8")
    json.dumps(err.value.body, ensure_ascii=False).encode("utf-8")
    assert store_dump(cal) == before
    return err.value


BAD_BOOKINGS: list[tuple[str, dict[str, Any], str]] = [
    ("NaN in metadata", {"metadata": {"x": float("nan")}}, "metadata"),
    ("Infinity in metadata", {"metadata": {"x": float("inf")}}, "metadata"),
    ("-Infinity in metadata", {"metadata": {"x": float("-inf")}}, "metadata"),
    ("400-digit integer in metadata", {"metadata": {"x": 10**400}}, "metadata"),
    ("2^53+1 in a metadata list", {"metadata": {"x": [1, MAX_SAFE_INTEGER + 1]}}, "metadata"),
    ("lone surrogate metadata key", {"metadata": {LONE: 1}}, "metadata"),
    ("lone surrogate metadata value", {"metadata": {"x": ["ok", LONE]}}, "metadata"),
    ("NUL in a metadata value", {"metadata": {"x": "a\x00b"}}, "metadata"),
    ("newline in a metadata key", {"metadata": {"a\nb": 1}}, "metadata"),
    ("metadata nested too deep", {"metadata": nested(MAX_DEPTH + 1)}, "metadata"),
    ("a set in metadata", {"metadata": {"x": {1, 2}}}, "metadata"),
    ("lone surrogate title", {"title": LONE}, "title"),
    ("NUL in title", {"title": "stand\x00up"}, "title"),
    ("newline in title", {"title": "stand\nup"}, "title"),
    ("lone surrogate invitee name", {"invitee": {"name": LONE}}, "invitee.name"),
    ("control char in invitee email", {"invitee": {"email": "a@b\x1b.c"}}, "invitee.email"),
    ("NUL in invitee notes", {"invitee": {"notes": "x\x00"}}, "invitee.notes"),
    ("number as invitee name", {"invitee": {"name": 5}}, "invitee.name"),
    ("lone surrogate idempotency key", {"idempotency_key": "k" + LONE}, "idempotency_key"),
]


@pytest.mark.parametrize("case", BAD_BOOKINGS, ids=[c[0] for c in BAD_BOOKINGS])
def test_an_unstorable_commit_over_a_fresh_commit_is_refused_and_evicts_nothing(
    cal: Calendar, case: tuple[str, dict[str, Any], str]
) -> None:
    # Given a priority-2 agent's fresh commit, still inside its bump window
    _, extra, field = case
    victim = cal.agent(2).bookings.commit(start=at(0), end=at(30))
    top = cal.agent(1)
    # When the priority-1 agent commits over it with a value that cannot be stored
    refused(cal, field, lambda: top.bookings.commit(start=at(0), end=at(30), **extra))
    # Then the victim still stands and nothing was written (checked byte for byte above)
    assert top.bookings.get(victim.booking_id).status == "COMMITTED"
    assert cal.coord.audit.verify(cal.user_id).ok


def test_a_hold_with_unstorable_metadata_is_refused(cal: Calendar) -> None:
    a = cal.agent(1)
    refused(
        cal, "metadata", lambda: a.bookings.hold(start=at(0), end=at(30), metadata={"x": 1e400})
    )


def test_storable_edge_values_are_accepted_and_read_back_unchanged(cal: Calendar) -> None:
    a = cal.agent(1)
    metadata = {
        "deep": nested(MAX_DEPTH - 1),
        "big": MAX_SAFE_INTEGER,
        "small": -MAX_SAFE_INTEGER,
        "float": 1.5e300,
        "lines": "first\nsecond\tthird\r\n",
        "emoji 😀": "日本語 ✓",
        "list": [None, True, 0, ""],
    }
    invitee = {"name": "Zoë 😀", "email": "zoe@example.com", "notes": "line 1\nline 2\tend"}
    b = a.bookings.commit(
        start=at(0), end=at(30), title="Café ☕ sync", invitee=invitee, metadata=metadata
    )
    got = a.bookings.get(b.booking_id)
    assert got.metadata == metadata
    assert got.invitee == invitee
    assert got.title == "Café ☕ sync"


# -- approvals -----------------------------------------------------------------------------


def _requester(cal: Calendar) -> Any:
    made = cal.coord.agents.create(
        cal.user_id, name="asker", priority=5, scopes=["approvals:request"]
    )
    return cal.coord.client(made.api_key)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"evidence": {LONE: 1}}, "evidence"),
        ({"evidence": {"x": float("nan")}}, "evidence"),
        ({"evidence": {"x": -(10**20)}}, "evidence"),
        ({"evidence": nested(MAX_DEPTH + 1)}, "evidence"),
        ({"summary": "ok" + LONE}, "summary"),
        ({"summary": "nul\x00"}, "summary"),
        ({"action_type": "refund\n"}, "action_type"),
    ],
    ids=["surrogate key", "NaN", "huge int", "too deep", "surrogate", "NUL", "newline"],
)
def test_an_unstorable_approval_request_is_refused_and_the_owner_can_still_list(
    cal: Calendar, kwargs: dict[str, Any], field: str
) -> None:
    asker = _requester(cal)
    call = {"action_type": "refund", "summary": "Refund order 1", **kwargs}
    refused(cal, field, lambda: asker.approvals.request(**call))
    assert cal.coord.approvals.list(cal.user_id) == []


def test_an_approval_summary_may_span_lines_and_the_listing_shows_it(cal: Calendar) -> None:
    asker = _requester(cal)
    made = asker.approvals.request(
        "refund", "Refund order 1\n- reason: damaged", evidence={"note": "a\tb"}
    )
    listed = cal.coord.approvals.list(cal.user_id)
    assert [a["approval_id"] for a in listed] == [made["approval_id"]]
    assert listed[0]["summary"] == "Refund order 1\n- reason: damaged"
    assert listed[0]["evidence"] == {"note": "a\tb"}


def test_an_unstorable_decision_note_is_refused(cal: Calendar) -> None:
    asker = _requester(cal)
    made = asker.approvals.request("refund", "Refund order 1")
    refused(cal, "note", lambda: cal.coord.approvals.deny(made["approval_id"], note="no" + LONE))
    assert cal.coord.approvals.get(made["approval_id"])["status"] == "pending"


# -- proposals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"title": LONE}, "title"),
        ({"title": "a\nb"}, "title"),
        ({"description": "x\x00"}, "description"),
        ({"slots": [slot(0, weight=float("nan"))]}, "slots[0].weight"),
        ({"participant_agent_ids": ["agt_" + LONE]}, "participant_agent_ids[0]"),
    ],
    ids=["surrogate title", "newline title", "NUL description", "NaN weight", "surrogate id"],
)
def test_an_unstorable_proposal_is_refused(
    cal: Calendar, kwargs: dict[str, Any], field: str
) -> None:
    team = make_team(cal, participants=2)
    call = {"participant_agent_ids": team.ids, "slots": [slot(0)], **kwargs}
    refused(cal, field, lambda: team.organizer.proposals.create(**call))


def test_an_unstorable_proposal_answer_is_refused(cal: Calendar) -> None:
    team = make_team(cal, participants=2)
    p = team.propose([slot(0)], description="Two lines\nof text")
    assert p.description == "Two lines\nof text"
    refused(
        cal,
        "message",
        lambda: team.participants[0].proposals.respond(
            p.id, response="decline", message="no" + LONE
        ),
    )


# -- webhooks, rules, agents ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "https://example.com/\x00hook"}, "url"),
        ({"url": "https://example.com/" + LONE}, "url"),
        ({"url": "https://example.com/h", "secret": LONE * 16}, "secret"),
        ({"url": "https://example.com/h", "events": [["booking.committed"]]}, "events[0]"),
    ],
    ids=["NUL url", "surrogate url", "surrogate secret", "list as event"],
)
def test_an_unstorable_webhook_is_refused(
    cal: Calendar, kwargs: dict[str, Any], field: str
) -> None:
    refused(cal, field, lambda: cal.coord.webhooks.register(cal.user_id, **kwargs))


@pytest.mark.parametrize(
    "patch",
    [
        {"focus_blocks": [{"weekday": "mon", "start": "09:00", "end": "10:00", "title": LONE}]},
        {"focus_blocks": [{"weekday": "mon", "start": "09:00", "end": "10:00", "title": "\x07"}]},
        {"require_approval": {"agent_ids": ["agt_" + LONE]}},
    ],
    ids=["surrogate focus title", "BEL focus title", "surrogate agent id"],
)
def test_unstorable_rules_are_refused(cal: Calendar, patch: dict[str, Any]) -> None:
    field = next(iter(patch))
    refused(cal, field, lambda: cal.coord.rules.update(cal.user_id, **patch))


@pytest.mark.parametrize("name", [LONE, "bot\x00", "bot\n2"], ids=["surrogate", "NUL", "newline"])
def test_an_unstorable_agent_name_is_refused(cal: Calendar, name: str) -> None:
    refused(cal, "name", lambda: cal.coord.agents.create(cal.user_id, name=name, priority=3))


def test_an_approval_stored_before_these_checks_still_lists_with_a_replacement_character(
    cal: Calendar,
) -> None:
    # Given a record with a lone surrogate in its evidence, as an older version stored it
    # (written through the script call directly: the checks above refuse it today)
    asker = _requester(cal)
    store, ctx = cal.coord.store, asker.context
    approval_id = "apr_legacy0000000001"
    store.redis.set(store.keys.approval_index(approval_id), cal.user_id)
    reply = store.calls.approval_request(
        user_id=ctx.user_id,
        agent_id=ctx.agent_id,
        key_hash=ctx.key_hash,
        limits=store.limits,
        approval_id=approval_id,
        action_type="refund",
        summary="legacy",
        evidence_json=json.dumps({LONE: 1, "note": "a" + LONE}),
        ttl_ms=60_000,
    )
    assert reply["r"] == "ok"
    # When the owner lists approvals, Then the listing answers and can be sent as UTF-8
    listed = cal.coord.approvals.list(cal.user_id)
    assert [a["approval_id"] for a in listed] == [approval_id]
    assert listed[0]["evidence"] == {"\ufffd": 1, "note": "a\ufffd"}
    json.dumps(listed, ensure_ascii=False).encode("utf-8")
    assert asker.approvals.get(approval_id)["evidence"] == {"\ufffd": 1, "note": "a\ufffd"}


# -- ids: a lone surrogate in an id is a typed refusal, never a crash ----------------------


def test_ids_that_cannot_be_text_are_refused_naming_the_field(cal: Calendar) -> None:
    a = cal.agent(1)
    for field, call in [
        ("booking_id", lambda: a.bookings.get("bkg_" + LONE)),
        ("booking_id", lambda: a.bookings.cancel("bkg_" + LONE)),
        ("booking_id", lambda: a.bookings.release("hld_" + LONE)),
        ("approval_id", lambda: a.approvals.get("apr_" + LONE)),
        ("approval_id", lambda: cal.coord.approvals.approve("apr_" + LONE)),
        ("agent_ids", lambda: cal.coord.agents.rerank(cal.user_id, ["agt_" + LONE])),
        ("agent_id", lambda: cal.coord.agents.revoke("agt_" + LONE)),
    ]:
        refused(cal, field, call)


def test_an_unknown_webhook_id_that_cannot_be_text_is_not_found(cal: Calendar) -> None:
    before = store_dump(cal)
    with pytest.raises(NotFound):
        cal.coord.webhooks.delete(cal.user_id, "whe_" + LONE)
    assert store_dump(cal) == before
