"""Agents' keys, scopes and ranks: each change decides the very next call, in any process."""

from __future__ import annotations

import multiprocessing as mp
import time
from datetime import timedelta
from typing import Any

import pytest

from coordinator import AuthError, Conflict, InvalidState, NotFound, ValidationError
from coordinator.agents import hash_key
from tests.support.servers import Backend

from .access_worker import hammer, scripted_calls
from .conftest import Calendar, at
from .test_bad_input import snapshot


def test_a_key_is_shown_once_and_stored_only_as_a_hash(cal: Calendar) -> None:
    made = cal.coord.agents.create(cal.user_id, name="sales", priority=1)
    assert made.api_key.startswith("avs_live_") and len(made.api_key) >= 9 + 43
    assert "api_key" not in repr(made)
    r, k = cal.coord.redis, cal.coord.store.keys
    stored = r.hgetall(k.agent(cal.user_id, made.agent_id))
    assert made.api_key not in " ".join(stored.values())
    assert stored["key_hash"] == hash_key(made.api_key)
    assert cal.coord.agents.get(cal.user_id, made.agent_id).scopes == made.scopes


def test_a_rotated_key_stops_at_once_and_the_new_one_works(cal: Calendar) -> None:
    made = cal.coord.agents.create(cal.user_id, name="sales", priority=1)
    old = cal.coord.client(made.api_key)
    booked = old.bookings.commit(start=at(0), end=at(30))
    fresh = cal.coord.agents.rotate(old.agent_id)
    for call in (
        lambda: old.bookings.get(booked.booking_id),
        lambda: old.bookings.commit(start=at(60), end=at(90)),
        lambda: old.bookings.cancel(booked.booking_id),
        lambda: old.availability.list(start=at(0), end=at(60)),
        old.agents.me,
    ):
        with pytest.raises(AuthError) as err:
            call()
        assert (err.value.status, err.value.error) == (401, "unauthorized")
    with pytest.raises(AuthError):
        cal.coord.client(made.api_key)  # nor can a new client be built on the old key
    new = cal.coord.client(fresh.api_key)
    assert new.agent_id == old.agent_id
    assert new.bookings.cancel(booked.booking_id).status == "CANCELLED"  # still its booking
    assert "agent.key_rotated" in cal.audit_types()


def test_a_revoked_key_stops_but_the_record_and_bookings_stay(cal: Calendar) -> None:
    a = cal.agent(1)
    booked = a.bookings.commit(start=at(0), end=at(30))
    revoked = cal.coord.agents.revoke(a.agent_id)
    assert revoked.status == "revoked"
    with pytest.raises(AuthError) as err:
        a.bookings.commit(start=at(60), end=at(90))
    assert err.value.status == 401
    assert [x.status for x in cal.coord.agents.list(cal.user_id)] == ["revoked"]
    assert cal.coord.bookings.get(cal.user_id, booked.booking_id).status == "COMMITTED"
    with pytest.raises(InvalidState):
        cal.coord.agents.revoke(a.agent_id)
    with pytest.raises(InvalidState):
        cal.coord.agents.rotate(a.agent_id)
    assert "agent.revoked" in cal.audit_types()


def test_unrevoking_mints_a_new_key_and_the_old_one_stays_dead(cal: Calendar) -> None:
    a = cal.agent(1)
    cal.coord.agents.revoke(a.agent_id)
    back = cal.coord.agents.unrevoke(a.agent_id)
    assert back.status == "active"
    with pytest.raises(AuthError):
        a.bookings.commit(start=at(0), end=at(30))
    assert cal.coord.client(back.api_key).bookings.commit(start=at(0), end=at(30)).is_live
    with pytest.raises(InvalidState):
        cal.coord.agents.unrevoke(a.agent_id)


def test_rerank_decides_the_next_write_and_bumps_the_rules_version(cal: Calendar) -> None:
    x, y = cal.agent(1, "x"), cal.agent(2, "y")
    first = x.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    with pytest.raises(Conflict):
        y.bookings.commit(start=at(0), end=at(30))
    agents = cal.coord.agents.rerank(cal.user_id, [y.agent_id, x.agent_id])
    assert [(a.agent_id, a.priority) for a in agents] == [(y.agent_id, 1), (x.agent_id, 2)]
    won = y.bookings.commit(start=at(0), end=at(30))
    assert [d.booking_id for d in won.displaced] == [first.booking_id]
    assert won.priority == 1
    assert y.agents.me().priority == 1
    assert cal.coord.rules.get(cal.user_id).rules_version == 2
    assert "agents.reranked" in cal.audit_types()


def test_agents_left_out_of_a_ranking_follow_in_their_old_order(cal: Calendar) -> None:
    a, b, c = cal.agent(1, "a"), cal.agent(2, "b"), cal.agent(3, "c")
    ranked = cal.coord.agents.rerank(cal.user_id, [c.agent_id])
    assert [x.agent_id for x in ranked] == [c.agent_id, a.agent_id, b.agent_id]
    assert [x.priority for x in ranked] == [1, 2, 3]


def test_a_bad_ranking_names_the_field_and_writes_nothing(
    cal: Calendar, make_calendar: Any
) -> None:
    a = cal.agent(1)
    stranger = make_calendar().agent(1)
    before = snapshot(cal)
    for ids in ([a.agent_id, a.agent_id], [stranger.agent_id], [], "agt_x"):
        with pytest.raises(ValidationError) as err:
            cal.coord.agents.rerank(cal.user_id, ids)  # type: ignore[arg-type]
        assert err.value.field == "agent_ids"
    assert snapshot(cal) == before


def test_rotating_an_unknown_agent_is_not_found(cal: Calendar) -> None:
    with pytest.raises(NotFound):
        cal.coord.agents.rotate("agt_0000000000000000")


SCOPED_CALLS = [
    ("bookings:write", lambda c: c.bookings.commit(start=at(0), end=at(30))),
    ("bookings:write", lambda c: c.bookings.hold(start=at(0), end=at(30))),
    ("bookings:write", lambda c: c.bookings.cancel("bkg_0000000000000000")),
    ("bookings:write", lambda c: c.bookings.release("hld_0000000000000000")),
    ("bookings:read", lambda c: c.bookings.get("bkg_0000000000000000")),
    ("bookings:read", lambda c: c.audit.list()),
    ("availability:read", lambda c: c.availability.list(start=at(0), end=at(60))),
    ("rules:read", lambda c: c.rules.get()),
    ("approvals:request", lambda c: c.approvals.request("deploy", "ship it")),
    ("approvals:request", lambda c: c.approvals.get("apr_0000000000000000")),
]


@pytest.mark.parametrize(
    ("scope", "call"), SCOPED_CALLS, ids=[f"{s}-{i}" for i, (s, _) in enumerate(SCOPED_CALLS)]
)
def test_a_call_without_its_scope_is_a_403_and_writes_nothing(
    cal: Calendar, scope: str, call: Any
) -> None:
    from coordinator.models import ALL_SCOPES

    others = [s for s in ALL_SCOPES if s != scope]
    made = cal.coord.agents.create(cal.user_id, name="narrow", priority=1, scopes=others)
    client = cal.coord.client(made.api_key)
    before = snapshot(cal)
    with pytest.raises(AuthError) as err:
        call(client)
    assert (err.value.status, err.value.error) == (403, "insufficient_scope")
    assert err.value.required_scope == scope
    assert snapshot(cal) == before


def test_an_agent_with_no_scopes_can_still_ask_who_it_is(cal: Calendar) -> None:
    made = cal.coord.agents.create(cal.user_id, name="bare", priority=1, scopes=[])
    me = cal.coord.client(made.api_key).agents.me()
    assert me.scopes == []


def test_an_agent_of_owner_a_can_neither_read_nor_write_owner_bs_calendar(
    cal: Calendar, make_calendar: Any
) -> None:
    other = make_calendar()
    theirs = other.agent(1)
    their_booking = theirs.bookings.commit(start=at(0), end=at(30))
    mine = cal.agent(1)
    before = snapshot(other)
    with pytest.raises(NotFound):
        mine.bookings.get(their_booking.booking_id)
    with pytest.raises(NotFound):
        mine.bookings.cancel(their_booking.booking_id)
    with pytest.raises(AuthError) as err:
        mine.availability.list(start=at(0), end=at(60), user_id=other.user_id)
    assert err.value.status == 403
    # Even pointed at B's calendar directly, A's key is not B's agent's key.
    engine = cal.coord.bookings
    with pytest.raises(AuthError):
        engine.write(
            user_id=other.user_id,
            agent_id=mine.agent_id,
            key_hash=mine.context.key_hash,
            mode="commit",
            start=at(60),
            end=at(90),
        )
    with pytest.raises(AuthError):
        engine.write(
            user_id=other.user_id,
            agent_id=theirs.agent_id,
            key_hash=mine.context.key_hash,
            mode="commit",
            start=at(60),
            end=at(90),
        )
    with pytest.raises(AuthError):
        engine.get(
            other.user_id,
            their_booking.booking_id,
            agent_id=mine.agent_id,
            key_hash=mine.context.key_hash,
        )
    assert snapshot(other) == before
    assert their_booking.booking_id not in {e.booking_id for e in mine.audit.list()}


# -- across processes ------------------------------------------------------------------------


def run_child(backend: Backend, api_key: str, steps: list[tuple[str, ...]]) -> Any:
    """Start a child process that builds a client for ``api_key`` and waits to be told."""
    ctx = mp.get_context("spawn")
    go = [ctx.Event() for _ in steps]
    results = ctx.Queue()
    proc = ctx.Process(
        target=scripted_calls,
        args=(
            backend.url,
            str(backend.data_dir) if backend.data_dir else None,
            api_key,
            steps,
            go,
            results,
        ),
    )
    proc.start()
    assert results.get(timeout=60) == ("ready", "ok")

    def step(i: int) -> str:
        go[i].set()
        kind, result = results.get(timeout=60)
        assert kind == steps[i][0]
        return str(result)

    step.proc = proc  # type: ignore[attr-defined]
    return step


def finish(step: Any) -> None:
    step.proc.join(timeout=60)
    assert step.proc.exitcode == 0


def test_a_key_rotated_in_one_process_fails_at_once_in_another(
    backend: Backend, make_calendar: Any
) -> None:
    cal = make_calendar()
    made = cal.coord.agents.create(cal.user_id, name="remote", priority=1)
    slot = (at(0).isoformat(), at(30).isoformat())
    step = run_child(backend, made.api_key, [("commit", *slot), ("me",), ("me",)])
    assert step(0) == "ok"
    assert step(1) == "ok"
    cal.coord.agents.rotate(made.agent_id)
    assert step(2) == "AuthError:401:unauthorized"
    finish(step)


def test_a_key_revoked_in_one_process_fails_at_once_in_another(
    backend: Backend, make_calendar: Any
) -> None:
    cal = make_calendar()
    made = cal.coord.agents.create(cal.user_id, name="remote", priority=1)
    step = run_child(
        backend, made.api_key, [("me",), ("commit", at(0).isoformat(), at(30).isoformat())]
    )
    assert step(0) == "ok"
    cal.coord.agents.revoke(made.agent_id)
    assert step(1) == "AuthError:401:unauthorized"
    finish(step)
    assert "booking.committed" not in cal.audit_types()


def test_a_rerank_in_one_process_decides_the_next_write_in_another(
    backend: Backend, make_calendar: Any
) -> None:
    cal = make_calendar()
    x = cal.agent(1, "x")
    y = cal.coord.agents.create(cal.user_id, name="y", priority=2)
    x.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    slot = ("commit", at(0).isoformat(), at(30).isoformat())
    step = run_child(backend, y.api_key, [slot, slot])
    assert step(0) == "Conflict:409:outranked"
    cal.coord.agents.rerank(cal.user_id, [y.agent_id])
    assert step(1) == "ok"
    finish(step)
    live = [b for b in cal.coord.audit.range(cal.user_id) if b.type == "booking.evicted"]
    assert len(live) == 1


def test_a_rules_change_in_one_process_decides_the_next_write_in_another(
    backend: Backend, make_calendar: Any
) -> None:
    cal = make_calendar()
    made = cal.coord.agents.create(cal.user_id, name="remote", priority=1)
    step = run_child(
        backend,
        made.api_key,
        [
            ("commit", at(0).isoformat(), at(30).isoformat()),
            ("commit", at(60).isoformat(), (at(60) + timedelta(minutes=30)).isoformat()),
        ],
    )
    assert step(0) == "ok"  # the child now caches the rules as they were
    cal.coord.rules.update(cal.user_id, working_hours={"sun": [("09:00", "17:00")]})
    assert step(1) == "RuleViolation:422:outside_working_hours"
    finish(step)


@pytest.mark.parametrize("change", ["rotate", "revoke"])
def test_no_call_that_starts_after_a_rotation_or_revocation_succeeds_in_a_busy_process(
    backend: Backend, make_calendar: Any, change: str
) -> None:
    """A child process hammers the key from four threads while this one changes it."""
    cal = make_calendar()
    made = cal.coord.agents.create(
        cal.user_id,
        name="busy",
        priority=1,
        rate_limit_per_second=1_000_000,
        rate_limit_burst=1_000_000,
    )
    ctx = mp.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    changed = ctx.Value("d", float("inf"))
    proc = ctx.Process(
        target=hammer,
        args=(
            backend.url,
            str(backend.data_dir) if backend.data_dir else None,
            made.api_key,
            4,
            stop,
            results,
            changed,
        ),
    )
    proc.start()
    try:
        assert results.get(timeout=60) == "warm"
        getattr(cal.coord.agents, change)(made.agent_id)
        changed_at = time.monotonic()
        changed.value = changed_at
        assert results.get(timeout=60) == "refused"  # the child kept calling after it
    finally:
        stop.set()
    calls = results.get(timeout=60)
    proc.join(timeout=60)
    assert proc.exitcode == 0
    before = [o for t, o in calls if t < changed_at]
    after = [o for t, o in calls if t > changed_at]
    assert "ok" in before
    assert after, "the child made no call after the change"
    assert set(after) == {"AuthError:401:unauthorized"}
