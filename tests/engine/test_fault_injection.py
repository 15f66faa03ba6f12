"""Every script is all-or-nothing: an error at any step leaves the calendar unchanged.

With ``AGENTDRAFT_LUA_FAULTS=1`` the scripts are compiled with ``_fault.lua``: a script
raises at the step its calendar's ``fault`` key names (``<script>:<step>``; the steps
are the ``fault('name')`` calls in its source, the last one, ``sealed``, right after
every record, audit entry and event is encoded and just before the first write).

For every script and every step, scenarios drive real calls through the public
Python API (so the keys and arguments are the production ones). A wrapper around the
target script takes a DUMP of every key of the calendar just before the script runs;
after the injected error, the calendar must be byte-for-byte that snapshot. The test
fails if any (script, step) is never reached by some scenario.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from coordinator import Coordinator, Settings
from coordinator.buckets import BUCKET_MS, to_ms
from coordinator.ids import new_id
from coordinator.proposals.service import visit
from coordinator.store.scripts import FAULTS_ENV, TRANSITIONS, fault_steps

from .conftest import at
from .proposal_helpers import slot
from .snapshot import calendar_dump, changed_keys


@dataclass
class World:
    """One fresh calendar with ranked agents, on a coordinator with the fault hook."""

    coord: Coordinator
    user_id: str
    agents: dict[int, Any]
    ctx: dict[str, Any]

    def agent(self, priority: int) -> Any:
        return self.agents[priority]


Scenario = tuple[str, Callable[[World], None], Callable[[World], Any]]


def _nothing(_w: World) -> None:
    return None


def _booked(w: World) -> None:
    w.ctx["bkg"] = w.agent(2).bookings.commit(start=at(0), end=at(30)).booking_id


def _held(w: World) -> None:
    w.ctx["hld"] = w.agent(2).bookings.hold(start=at(0), end=at(30)).booking_id


def _approval(w: World) -> None:
    w.ctx["apr"] = w.agent(2).approvals.request("send_email", "may I?")["approval_id"]


def _expired_approval(w: World) -> None:
    """A request whose time ran out: the next read lapses it (a state change)."""
    _approval(w)
    key = w.coord.store.keys.approvals(w.user_id)
    rec = json.loads(w.coord.redis.hget(key, w.ctx["apr"]))
    rec["expires_ms"] = 1  # long past, without waiting for it
    w.coord.redis.hset(key, w.ctx["apr"], json.dumps(rec))


def _parked(w: World) -> None:
    """A commit parked for the owner's approval (a hold plus a booking approval)."""
    w.coord.rules.update(w.user_id, require_approval={"agent_ids": [w.agent(2).agent_id]})
    try:
        w.agent(2).bookings.commit(start=at(0), end=at(30))
    except Exception as exc:  # ConsentRequired
        w.ctx["apr"] = exc.context["consent_request_id"]  # type: ignore[attr-defined]


def _proposal(w: World) -> None:
    p = w.agent(3).proposals.create(
        participant_agent_ids=[w.agent(4).agent_id], slots=[slot(0), slot(120)]
    )
    w.ctx["prop"] = p.id
    w.ctx["slot"] = p.slots[0].id


def _lapsed_proposal(w: World) -> None:
    """A pending proposal past its deadline: the timer's visit lapses it."""
    _proposal(w)
    key = w.coord.store.keys.proposals(w.user_id)
    rec = json.loads(w.coord.redis.hget(key, w.ctx["prop"]))
    rec["expires_ms"] = 1
    w.coord.redis.hset(key, w.ctx["prop"], json.dumps(rec))


def _connector(w: World) -> None:
    _booked(w)
    k = w.coord.store.keys
    w.coord.redis.hset(k.prefix(w.user_id) + "connectors", "cx_test", "{}")


def _external_plan(w: World) -> dict[str, Any]:
    s, e = to_ms(at(0)), to_ms(at(30))
    block = {"k": "b1", "u": "uid-1", "s": s, "e": e, "f": s // BUCKET_MS, "l": e // BUCKET_MS}
    return {"add": [block], "state": {"etag": "1"}}


def _mail_sent(w: World) -> None:
    """An outbound message queued and read by a dispatcher (its outbox entry pending)."""
    sent = w.agent(2).mailbox.send(to="ada@example.com", subject="s", body_text="b")
    stream = w.coord.store.keys.mail_outbox(w.user_id)
    w.coord.redis.xgroup_create(stream, "mail", id="0", mkstream=True)
    [(_, [(entry_id, _)])] = w.coord.redis.xreadgroup("mail", "c1", {stream: ">"})
    w.ctx["msg"], w.ctx["entry"] = sent["message_id"], entry_id


def _inbound(w: World) -> Any:
    return w.coord.mailbox.receive(
        w.user_id,
        w.agent(2).agent_id,
        {
            "imid": "<in1@example.com>",
            "from": "ada@example.com",
            "to": ["x@localhost"],
            "subject": "s",
            "body_text": "b",
            "references": [],
            "attachments": [
                {"filename": "a.bin", "content_type": "application/pdf", "size": 3, "stored": True}
            ],
        },
        suppress=[{"address": "gone@example.com", "kind": "hard_bounce", "diagnostic": "5.1.1"}],
        contents=[b"\x00\xff\x80"],  # the attachment's bytes: written in the same plan
    )


def _countered(w: World) -> None:
    """p2's booking at 10:00 and p3's counter offering 12:00 instead."""
    _booked(w)
    alt = {"start": at(120).isoformat(), "end": at(150).isoformat()}
    w.ctx["cnt"] = w.agent(3).bookings.counter(w.ctx["bkg"], proposed=[alt]).counter_id


def _countered_and_taken(w: World) -> None:
    """As _countered, but p4 then took 12:00 for good (no bump window)."""
    _countered(w)
    w.agent(4).bookings.commit(start=at(120), end=at(150), bump_window_seconds=0)


def _accept(w: World) -> Any:
    return w.agent(2).bookings.accept_counter(w.ctx["bkg"], w.ctx["cnt"], slot_index=0)


SCENARIOS: list[Scenario] = [
    ("create_owner", _nothing, lambda w: w.coord.owners.create(user_id=w.ctx["new_owner"])),
    ("create_agent", _nothing, lambda w: w.coord.agents.create(w.user_id, name="n", priority=9)),
    ("update_rules", _nothing, lambda w: w.coord.rules.update(w.user_id, min_lead_minutes=5)),
    (
        "rerank",
        _nothing,
        lambda w: w.coord.agents.rerank(w.user_id, [w.agent(2).agent_id, w.agent(1).agent_id]),
    ),
    ("agent_update", _nothing, lambda w: w.coord.agents.rotate(w.agent(2).agent_id)),
    ("agent_update", _nothing, lambda w: w.coord.agents.revoke(w.agent(2).agent_id)),
    ("authorize", _nothing, lambda w: w.agent(2).agents.me()),
    (
        "read_availability",
        _nothing,
        lambda w: w.agent(2).availability.list(start=at(0), end=at(240)),
    ),
    ("read_booking", _booked, lambda w: w.agent(2).bookings.get(w.ctx["bkg"])),
    # The claim: a free slot, an eviction, a loss, a hold, a hold's promotion.
    ("commit", _nothing, lambda w: w.agent(2).bookings.commit(start=at(0), end=at(30))),
    ("commit", _booked, lambda w: w.agent(1).bookings.commit(start=at(0), end=at(30))),
    (
        "commit",
        _booked,
        lambda w: w.agent(3).bookings.commit(start=at(0), end=at(30), idempotency_key="ik"),
    ),
    ("commit", _held, lambda w: w.agent(2).bookings.commit(start=at(0), end=at(30))),
    ("hold", _nothing, lambda w: w.agent(2).bookings.hold(start=at(0), end=at(30))),
    ("hold", _booked, lambda w: w.agent(3).bookings.hold(start=at(0), end=at(30))),
    ("cancel", _booked, lambda w: w.agent(2).bookings.cancel(w.ctx["bkg"])),
    ("release", _held, lambda w: w.agent(2).bookings.release(w.ctx["hld"])),
    (
        "approval_request",
        _nothing,
        lambda w: w.agent(2).approvals.request("send_email", "may I?", evidence={"n": 1}),
    ),
    ("approval_read", _approval, lambda w: w.agent(2).approvals.get(w.ctx["apr"])),
    ("approval_read", _expired_approval, lambda w: w.agent(2).approvals.get(w.ctx["apr"])),
    ("approval_resolve", _approval, lambda w: w.coord.approvals.approve(w.ctx["apr"])),
    ("approval_resolve", _parked, lambda w: w.coord.approvals.deny(w.ctx["apr"])),
    ("commit", _parked, lambda w: w.coord.approvals.approve(w.ctx["apr"])),
    ("proposal_create", _nothing, _proposal),
    ("proposal_read", _proposal, lambda w: w.agent(3).proposals.get(w.ctx["prop"])),
    (
        "proposal_respond",
        _proposal,
        lambda w: w.agent(4).proposals.respond(
            w.ctx["prop"], response="accept", selected_slot_id=w.ctx["slot"]
        ),
    ),
    ("proposal_resolve", _proposal, lambda w: w.agent(3).proposals.resolve(w.ctx["prop"])),
    ("proposal_finish", _proposal, lambda w: w.agent(3).proposals.resolve(w.ctx["prop"])),
    ("proposal_cancel", _proposal, lambda w: w.agent(3).proposals.cancel(w.ctx["prop"])),
    (
        "proposal_tick",
        _lapsed_proposal,
        lambda w: visit(w.coord.store, w.user_id, w.ctx["prop"]),
    ),
    (
        "counter_create",
        _booked,
        lambda w: w.agent(3).bookings.counter(
            w.ctx["bkg"], proposed=[{"start": at(120), "end": at(150)}], note="later?"
        ),
    ),
    ("counter_read", _countered, lambda w: w.agent(2).bookings.counters(w.ctx["bkg"])),
    ("counter_accept", _countered, _accept),
    ("counter_accept", _countered_and_taken, _accept),
    (
        "counter_reject",
        _countered,
        lambda w: w.agent(2).bookings.reject_counter(w.ctx["bkg"], w.ctx["cnt"]),
    ),
    (
        "connector_apply",
        _connector,
        lambda w: w.coord.bookings.calls.connector_apply(
            user_id=w.user_id, connector_id="cx_test", policy="evict", plan=_external_plan(w)
        ),
    ),
    (
        "mail_send",
        _nothing,
        lambda w: w.agent(2).mailbox.send(to="ada@example.com", subject="s", body_text="b"),
    ),
    ("mail_receive", _nothing, _inbound),
    (
        "mail_deliver",
        _mail_sent,
        lambda w: w.coord.store.calls.mail_deliver(
            user_id=w.user_id,
            message_id=w.ctx["msg"],
            outcome="sent",
            entry_id=w.ctx["entry"],
            group="mail",
            reply="250 ok",
            attempts=1,
        ),
    ),
    (
        "mail_owner",
        _nothing,
        lambda w: w.coord.mailbox.set_policy(w.agent(2).agent_id, send_cap_per_day=5),
    ),
]


class Armed:
    """Wraps one registered script: snapshots the calendar before it runs and notes
    whether the injected fault fired inside it."""

    def __init__(self, coord: Coordinator, name: str, user_id: str) -> None:
        self.coord, self.name, self.user_id = coord, name, user_id
        self.script = getattr(coord.store.scripts, name)
        self.before: dict[str, bytes] | None = None
        self.fired = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.before = calendar_dump(self.coord, self.user_id)
        try:
            return self.script(*args, **kwargs)
        except Exception as exc:
            if "fault injected at" in str(exc):
                self.fired = True
            raise


@pytest.fixture
def faulty(store: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Coordinator]:
    monkeypatch.setenv(FAULTS_ENV, "1")
    # Every audit entry asks for a signed checkpoint (a request in P..'cpdue', queued in
    # the same write plan), so each case also proves the request is all-or-nothing.
    coord = Coordinator(store, Settings(arbitration_window_ms=0, audit_checkpoint_every=1))
    yield coord


def _world(coord: Coordinator) -> World:
    owner = coord.owners.create()
    agents = {}
    for p in (1, 2, 3, 4):
        made = coord.agents.create(owner.user_id, name=f"p{p}", priority=p)
        agents[p] = coord.client(made.api_key)
    return World(coord, owner.user_id, agents, {"new_owner": new_id("usr")})


def test_the_fault_hook_is_compiled_in_only_when_asked() -> None:
    from coordinator.store.scripts import script_source

    assert "fault injected" not in script_source("commit")
    assert "fault injected" in script_source("commit", True)
    assert set(TRANSITIONS) == {name for name, _, _ in SCENARIOS}, "a script with no scenario"


def test_an_error_at_any_step_of_any_script_changes_nothing(faulty: Coordinator) -> None:
    fired: set[tuple[str, str]] = set()
    for name in TRANSITIONS:
        for step in fault_steps(name):
            for script, setup, act in SCENARIOS:
                if script != name or (name, step) in fired:
                    continue
                w = _world(faulty)
                setup(w)
                uid = w.ctx["new_owner"] if name == "create_owner" else w.user_id
                faulty.redis.set(faulty.store.keys.prefix(uid) + "fault", f"{name}:{step}")
                armed = Armed(faulty, name, uid)
                setattr(faulty.store.scripts, name, armed)
                try:
                    act(w)
                except Exception as exc:
                    if not armed.fired:
                        raise
                    assert "fault injected" in str(exc) or exc.__cause__ is not None
                finally:
                    setattr(faulty.store.scripts, name, armed.script)
                if not armed.fired:
                    continue
                assert armed.before is not None
                after = calendar_dump(faulty, uid)
                assert changed_keys(armed.before, after) == [], (name, step)
                fired.add((name, step))
    every = {(name, step) for name in TRANSITIONS for step in fault_steps(name)}
    assert sorted(every - fired) == [], "steps no scenario reached"
    # The worlds really queued checkpoint requests (so the snapshots covered them).
    w = _world(faulty)
    # (one per agent.created entry; owner.created came before the policy was set)
    assert faulty.redis.xlen(faulty.store.keys.prefix(w.user_id) + "cpdue") == len(w.agents)
