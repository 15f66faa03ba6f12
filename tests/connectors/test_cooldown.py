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

from .conftest import make_owner, soon
from .test_push import remote_events


def last_error(o: Any, c: Any) -> str | None:
    """The connector's last error code; a successful pull clears it."""
    return o.coord.connectors.status(c.connector_id).last_error_code


def test_a_server_that_is_down_is_not_pulled_or_pushed_to_until_its_cool_down_ends(
    conn_store: Any, own_radicale: Radicale, key_file: Path
) -> None:
    o = make_owner(conn_store, own_radicale, key_file)
    c = o.connect()
    agent = o.agent(1)
    clock = ManualClock()
    worker = SyncWorker(
        o.coord.bookings,
        o.coord.connectors,
        pull_interval_seconds=0,  # a pull on every round, unless cooling down
        push=PushSettings(visibility_ms=60_000),
        cooldowns=Cooldowns(30, 600, clock=clock),
    )
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


def test_a_push_that_fails_to_answer_cools_the_connector_down_for_its_pulls_too(
    conn_store: Any, own_radicale: Radicale, key_file: Path
) -> None:
    o = make_owner(conn_store, own_radicale, key_file)
    c = o.connect()
    clock = ManualClock()
    worker = SyncWorker(
        o.coord.bookings,
        o.coord.connectors,
        pull_interval_seconds=3600,  # the first round's pull is the only one due
        push=PushSettings(visibility_ms=50, backoff_base_ms=10),  # a failed push is retried soon
        cooldowns=Cooldowns(30, 600, clock=clock),
    )
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
