"""A calendar server that fails to answer is left alone while it cools down.

The sync worker pulls and pushes every owner's connectors in one thread. Deadlines bound
each call, but a server that never answered in time still cost every other owner a
whole deadline on every pass in which its owner had a new booking to push, and on every
pull. Now the worker does not call it (pull or push) until its cool-down ends, reads
nothing of a calendar whose every push target is cooling down, and counts no attempt
for what it did not try.

The worker serves every owner of the suite's shared store, so these tests judge their
own connector's status and calendar, not the worker's counts.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from coordinator.connectors.push import PushSettings
from coordinator.connectors.worker import SyncWorker
from coordinator.cooldown import Cooldowns
from tests.support.calendars import Radicale
from tests.support.clock import ManualClock

from .conftest import Owner, make_owner, soon
from .test_push import remote_events


def last_error(o: Any, c: Any) -> str | None:
    """The connector's last error code; a successful pull clears it."""
    return o.coord.connectors.status(c.connector_id).last_error_code


def cooling_worker(
    o: Owner, clock: ManualClock, pull_every: float, push: PushSettings
) -> SyncWorker:
    """A sync worker for ``o`` whose cool-downs (30 s, then doubling) run on ``clock``."""
    return SyncWorker(
        o.coord.bookings,
        o.coord.connectors,
        pull_interval_seconds=pull_every,
        push=push,
        cooldowns=Cooldowns(30, 600, clock=clock),
    )


def test_a_server_that_is_down_is_not_pulled_or_pushed_to_until_its_cool_down_ends(
    conn_store: Any, own_radicale: Radicale, key_file: Path
) -> None:
    o = make_owner(conn_store, own_radicale, key_file)
    c = o.connect()
    agent = o.agent(1)
    clock = ManualClock()
    # A pull on every round, unless cooling down.
    worker = cooling_worker(o, clock, 0, PushSettings(visibility_ms=60_000))
    stream = o.coord.store.keys.push_outbox(o.user_id)
    try:
        own_radicale.stop()
        booked = [agent.bookings.commit(start=soon(1, 8 + i), end=soon(1, 9 + i)) for i in range(3)]
        worker.run_once()  # the pull fails: nothing is pushed after it
        assert last_error(o, c) == "connector_unreachable"
        assert worker.cooldowns.remaining(c.connector_id) == 30
        # The server is back, but its cool-down is not over: no pull, no push, no attempt.
        own_radicale.start()
        worker.run_once()
        assert last_error(o, c) == "connector_unreachable", "pulled while cooling down"
        assert remote_events(o) == {}
        assert o.coord.redis.xpending(stream, "push")["pending"] == 3
        clock.now = 31.0
        worker.run_once()
        assert last_error(o, c) is None  # pulled
        assert set(remote_events(o)) == {f"agentdraft-{b.booking_id}" for b in booked}
        assert o.coord.redis.xlen(stream) == 0
        assert worker.cooldowns.remaining(c.connector_id) == 0
        assert o.coord.connectors.status(c.connector_id).dead_letters == 0
    finally:
        worker.pusher.close()


def test_a_calendar_connected_while_the_only_other_cools_down_is_pushed_to_at_once(
    conn_store: Any, own_radicale: Radicale, radicale: Radicale, key_file: Path
) -> None:
    """The owner whose only calendar server stopped answering connects another: the next
    booking lands there at once, while the first still cools down. Before, the owner's
    pushes stayed unread until the old server's cool-down ended (up to ten minutes)."""
    o = make_owner(conn_store, own_radicale, key_file)
    c = o.connect()
    agent = o.agent(1)
    clock = ManualClock()
    # The first round's pull is the only one due.
    worker = cooling_worker(o, clock, 3600, PushSettings(visibility_ms=60_000))
    try:
        worker.run_once()  # the first pull
        own_radicale.stop()
        agent.bookings.commit(start=soon(1, 8), end=soon(1, 9))
        worker.run_once()  # the push fails: the only target cools down
        assert worker.cooldowns.why(c.connector_id) == "connector_unreachable"
        second = Owner(o.coord, o.user_id, radicale.new_calendar(), radicale)
        c2 = second.connect()
        booked = agent.bookings.commit(start=soon(1, 10), end=soon(1, 11))
        worker.run_once()
        assert set(remote_events(second)) == {f"agentdraft-{booked.booking_id}"}
        assert worker.cooldowns.remaining(c.connector_id) == 30, "the cooling one was called"
        assert o.coord.connectors.status(c2.connector_id).last_error_code is None
    finally:
        worker.pusher.close()


def test_a_push_that_fails_to_answer_cools_the_connector_down_for_its_pulls_too(
    conn_store: Any, own_radicale: Radicale, key_file: Path
) -> None:
    o = make_owner(conn_store, own_radicale, key_file)
    c = o.connect()
    clock = ManualClock()
    # The first round's pull is the only one due; a failed push is retried soon.
    worker = cooling_worker(o, clock, 3600, PushSettings(visibility_ms=50, backoff_base_ms=10))
    stream = o.coord.store.keys.push_outbox(o.user_id)
    try:
        worker.run_once()  # the first pull
        own_radicale.stop()
        booked = o.agent(1).bookings.commit(start=soon(1, 8), end=soon(1, 9))
        worker.run_once()  # the push fails
        assert worker.cooldowns.why(c.connector_id) == "connector_unreachable"
        assert last_error(o, c) == "connector_unreachable"
        worker._next_pull.clear()  # a pull is due again: the cool-down holds it back
        own_radicale.start()
        threading.Event().wait(0.1)  # the failed push's backoff (50 ms) runs out meanwhile
        worker.run_once()
        assert last_error(o, c) == "connector_unreachable", "pulled while cooling down"
        assert o.coord.redis.xpending_range(stream, "push", "-", "+", 1)[0]["times_delivered"] == 1
        clock.now = 31.0
        worker.run_once()  # the pull, then the push's second attempt
        assert last_error(o, c) is None
        assert set(remote_events(o)) == {f"agentdraft-{booked.booking_id}"}
        assert o.coord.redis.xlen(stream) == 0
    finally:
        worker.pusher.close()
