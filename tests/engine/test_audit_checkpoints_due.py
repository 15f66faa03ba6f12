"""Checkpoints in the write path: every N-th entry asks for one in the script that writes it.

With ``audit_checkpoint_every = N`` a calendar's N-th, 2N-th, ... audit entry adds a
request naming itself (id, position, hash) to the calendar's ``cpdue`` stream, in the
same atomic step (test_fault_injection.py runs every script with N = 1, so every
failing step also leaves no request behind). The signer (coordinator/audit/signer.py,
a thread of ``serve``) signs exactly those entries and deletes the requests.
``audit verify`` reports an entry that fell due longer than the grace ago without a
checkpoint covering it, whatever happened to the request.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coordinator.audit.checkpoints import KEY_FILE, Checkpoints
from coordinator.audit.signer import CheckpointSigner, start_checkpoint_signer

from .audit_story import admin
from .conftest import Calendar, at


@pytest.fixture
def key(tmp_path: Path) -> Path:
    return tmp_path / "keys" / KEY_FILE


@pytest.fixture
def every5(make_calendar: Callable[..., Calendar]) -> Calendar:
    """A calendar created with checkpoints due every 5 entries."""
    return make_calendar(audit_checkpoint_every=5)


def _requests(cal: Calendar) -> list[dict[str, str]]:
    stream = Checkpoints(cal.coord.store).due_stream(cal.user_id)
    return [f for _, f in cal.coord.redis.xrange(stream)]


def _entries(cal: Calendar) -> list[tuple[str, dict[str, str]]]:
    return list(cal.coord.redis.xrange(cal.coord.store.keys.audit(cal.user_id)))


def _write(cal: Calendar, commits: int) -> None:
    """``commits`` commits on fresh slots (the first call also creates the agent: an
    ``agent.created`` entry)."""
    a = cal.clients.get(1) or cal.agent(1)
    taken = len(cal.coord.redis.hkeys(cal.coord.store.keys.bookings(cal.user_id)))
    for i in range(taken, taken + commits):
        a.bookings.commit(start=at(60 * i), end=at(60 * i + 30))


def _problems(cal: Calendar, key: Path, grace_ms: int = 0) -> list[tuple[str, str]]:
    v = cal.coord.audit.verify(cal.user_id, key=key, grace_ms=grace_ms)
    return [(p.problem, p.entry_id) for p in v.problems]


def test_every_nth_entry_queues_a_request_for_itself(every5: Calendar) -> None:
    _write(every5, 10)  # owner.created, agent.created, 10 commits: 12 entries
    entries = _entries(every5)
    assert len(entries) == 12
    # owner.created came before the policy was set: the next script starts counting
    # at position 1, so positions 5 and 10 fall due.
    assert _requests(every5) == [
        {"entry_id": entries[i - 1][0], "position": str(i), "hash": entries[i - 1][1]["hash"]}
        for i in (5, 10)
    ]


def test_the_signer_signs_exactly_the_due_entries_and_verify_then_holds(
    every5: Calendar, key: Path
) -> None:
    _write(every5, 10)
    entries = _entries(every5)
    # Unsigned: the latest due entry is reported once its grace has passed...
    assert _problems(every5, key) == [("checkpoint_overdue", entries[9][0])]
    # ...and not while it is within the grace.
    assert _problems(every5, key, grace_ms=3_600_000) == []
    signed = CheckpointSigner(every5.coord.store, key).sign_due(every5.user_id)
    assert [(c.entry_id, c.position) for c in signed] == [
        (entries[4][0], 5),
        (entries[9][0], 10),
    ]
    assert _requests(every5) == []
    v = every5.coord.audit.verify(every5.user_id, key=key, grace_ms=0)
    assert v.ok, v.problems
    assert v.checkpoint == entries[9][0]


def test_a_deleted_request_still_leaves_the_checkpoint_overdue(every5: Calendar, key: Path) -> None:
    _write(every5, 3)  # 5 entries: one due
    stream = Checkpoints(every5.coord.store).due_stream(every5.user_id)
    admin(every5.coord).delete(stream)
    assert CheckpointSigner(every5.coord.store, key).sign_due(every5.user_id) == []
    assert _problems(every5, key) == [("checkpoint_overdue", _entries(every5)[4][0])]


def test_a_forged_request_is_never_signed(every5: Calendar, key: Path) -> None:
    _write(every5, 3)
    stream = Checkpoints(every5.coord.store).due_stream(every5.user_id)
    [(rid, f)] = every5.coord.redis.xrange(stream)
    every5.coord.redis.xdel(stream, rid)
    every5.coord.redis.xadd(stream, {**f, "hash": "0" * 40})
    assert CheckpointSigner(every5.coord.store, key).sign_due(every5.user_id) == []
    assert _requests(every5) == []
    assert every5.coord.audit.checkpoints.list(every5.user_id) == []


def test_switching_on_later_asks_only_for_entries_written_after(cal: Calendar, key: Path) -> None:
    _write(cal, 8)  # 10 entries, no policy: nothing queued, nothing due
    assert _requests(cal) == []
    Checkpoints(cal.coord.store).enable(cal.user_id, 5)
    assert _problems(cal, key) == []
    _write(cal, 5)  # positions 11..15: 15 falls due
    assert [r["position"] for r in _requests(cal)] == ["15"]
    Checkpoints(cal.coord.store).enable(cal.user_id, 0)
    _write(cal, 5)  # off again: 20 is not asked for
    assert [r["position"] for r in _requests(cal)] == ["15"]


def test_the_serve_signer_thread_signs_as_entries_are_written(
    make_calendar: Callable[..., Calendar], key: Path
) -> None:
    cal = make_calendar(audit_checkpoint_every=3)
    store: Any = cal.coord.store
    signer = start_checkpoint_signer(store, key)
    assert signer is not None
    try:
        _write(cal, 1)  # owner.created, agent.created, one commit: position 3 falls due
        cps = Checkpoints(store).stream(cal.user_id)
        # Wait for the signer's checkpoint as an event (a blocking read), not a sleep.
        got = cal.coord.redis.xread({cps: "0"}, count=1, block=10_000)
        assert got, "the signer did not sign within 10 s"
        [[_, [(_, fields)]]] = got
        assert fields["position"] == "3"
        assert fields["entry_id"] == _entries(cal)[2][0]
    finally:
        signer.stop()
    assert cal.coord.audit.verify(cal.user_id, key=key, grace_ms=0).ok


def test_the_http_app_runs_the_signer_when_the_setting_asks(
    fresh_redis_server: Any, key: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve``'s app starts the signer in its lifespan (with the key from the
    environment) and switches calendars made before the setting on. On a Redis of its
    own: switching on reaches every calendar of the store."""
    from fastapi.testclient import TestClient

    from coordinator import Coordinator
    from coordinator.server.app import create_app

    plain = Coordinator.from_url(fresh_redis_server.url, arbitration_window_ms=0)
    old = Calendar(plain, plain.owners.create().user_id)  # before the setting
    coord = plain.with_settings(audit_checkpoint_every=2, run_connector_sync=False)
    monkeypatch.setenv("AGENTDRAFT_AUDIT_KEY", str(key))
    try:
        with TestClient(create_app(coord)):
            assert Checkpoints(coord.store).policy(old.user_id)[0] == 2
            _write(old, 2)  # agent.created and two commits: entries 2 and 4 fall due
            checkpoints = Checkpoints(coord.store)
            every, since = checkpoints.policy(old.user_id)
            n = int(coord.redis.hget(coord.store.keys.owner(old.user_id), "audit_n") or 0)
            due = n // every - (since or 0) // every
            assert due >= 1
            # Wait for every checkpoint that fell due, each a new entry of the stream
            # (the first alone left verify a race with the signer's second).
            cps, last = checkpoints.stream(old.user_id), "0"
            for _ in range(due):
                got = coord.redis.xread({cps: last}, count=1, block=10_000)
                assert got, "the app's signer did not sign within 10 s"
                last = got[0][1][0][0]
        assert plain.audit.verify(old.user_id, key=key, grace_ms=0).ok
    finally:
        plain.close()
