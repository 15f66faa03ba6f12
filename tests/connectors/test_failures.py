"""Failures and races against real servers: the CalDAV server down during a burst, the
sync worker SIGKILLed mid-push, a person adding an event while agents race, an ICS feed
that changes and breaks. After each, the calendar holds exactly the winners' events,
none twice, and the coordinator's bucket index agrees with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from coordinator import Conflict
from coordinator.connectors import FeedMalformed
from coordinator.connectors.worker import SyncWorker
from coordinator.store.records import expand_booking
from tests.support.calendars import FeedServer, Radicale

from .conftest import Owner, make_owner, soon, vevent
from .test_push import FAST, drain, pusher, remote_events


def _wait(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)  # polling a condition with a deadline


def _live_uids(o: Owner) -> set[str]:
    out = set()
    for bid, raw in o.coord.redis.hgetall(o.coord.store.keys.bookings(o.user_id)).items():
        rec = expand_booking(bid, raw)
        if rec["status"] == "COMMITTED" and not rec.get("lost_in_window"):
            out.add(f"agentdraft-{rec['id']}")
    return out


def test_server_down_during_a_burst_arbitration_goes_on_and_recovery_applies_each_once(
    conn_store: Any, own_radicale: Radicale, key_file: Path
) -> None:
    o = make_owner(conn_store, own_radicale, key_file)
    c = o.connect()
    agent = o.agent(1)
    worker = SyncWorker(o.coord.bookings, o.coord.connectors, pull_interval_seconds=0.2, push=FAST)
    stop = threading.Event()
    running = threading.Thread(target=worker.run_forever, args=(stop,))
    running.start()
    booked = []
    try:
        for i in range(12):
            if i == 4:
                own_radicale.stop()  # the calendar server goes away mid-burst
            if i == 9:
                # while it is down: commits still win, the outbox grows, status says why
                _wait(
                    lambda: (
                        o.coord.connectors.status(c.connector_id).last_error_code
                        == "connector_unreachable"
                    ),
                    "the worker to record the outage",
                )
                assert o.coord.connectors.status(c.connector_id).backlog >= 5
                own_radicale.start()
            b = agent.bookings.commit(
                start=soon(1, 8) + timedelta(hours=i), end=soon(1, 9) + timedelta(hours=i)
            )
            booked.append(b)
        _wait(lambda: o.coord.redis.xlen(o.coord.store.keys.push_outbox(o.user_id)) == 0, "drain")
    finally:
        stop.set()
        running.join()
    assert set(remote_events(o)) == {f"agentdraft-{b.booking_id}" for b in booked}
    assert o.coord.connectors.status(c.connector_id).dead_letters == 0
    o.coord.connectors.sync(c.connector_id)  # the pushed events never come back as busy
    assert o.coord.connectors.blocks(c.connector_id) == []


def test_worker_sigkilled_mid_push_loses_nothing_and_duplicates_nothing(
    owner: Owner, redis_server: Any, key_file: Path
) -> None:
    c = owner.connect()
    agent = owner.agent(1)
    booked = [
        agent.bookings.commit(start=soon(2, 0) + timedelta(minutes=30 * i),
                              end=soon(2, 0) + timedelta(minutes=30 * i + 20))
        for i in range(24)
    ]  # fmt: skip
    pushed_key = owner.coord.store.keys.connector_pushed(owner.user_id, c.connector_id)
    env = {**os.environ, "AGENTDRAFT_CONNECTOR_KEY_FILE": str(key_file)}
    cmd = [
        sys.executable, "-m", "coordinator", "connectors", "sync", "--redis-url", redis_server.url,
        "--visibility-ms", "300", "--backoff-ms", "100", "--pull-interval", "3600",
    ]  # fmt: skip
    first = subprocess.Popen(cmd, env=env)
    try:
        _wait(lambda: owner.coord.redis.hlen(pushed_key) >= 3, "the first pushes")
        first.send_signal(signal.SIGKILL)  # mid-batch: some pushed, some not, one maybe mid-PUT
        first.wait(timeout=10)
        assert owner.coord.redis.hlen(pushed_key) < len(booked)
    finally:
        if first.poll() is None:
            first.kill()
    second = subprocess.Popen(cmd, env=env)
    try:
        stream = owner.coord.store.keys.push_outbox(owner.user_id)
        _wait(lambda: owner.coord.redis.xlen(stream) == 0, "the second worker to drain")
    finally:
        second.terminate()
        second.wait(timeout=10)
    assert set(remote_events(owner)) == {f"agentdraft-{b.booking_id}" for b in booked}


def test_agents_race_while_a_person_adds_an_event_over_the_slot(
    conn_store: Any, radicale: Radicale, key_file: Path
) -> None:
    o = make_owner(conn_store, radicale, key_file, arbitration_window_ms=200)
    c = o.connect()
    agents = [o.agent(p) for p in range(1, 6)]
    p = pusher(o)
    barrier = threading.Barrier(len(agents) + 1)
    outcomes: list[Any] = []

    def race(i: int) -> None:
        barrier.wait()
        try:
            outcomes.append(agents[i].bookings.commit(start=soon(3, 10), end=soon(3, 11)))
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(agents))]
    for t in threads:
        t.start()
    barrier.wait()
    o.add(vevent("person-race-1", soon(3, 10, 30), soon(3, 11, 30)))  # the person, meanwhile
    for t in threads:
        t.join()
    o.coord.connectors.sync(c.connector_id)
    drain(o, p)
    # Whatever the interleaving: the person's event holds the slot, no agent's booking does,
    # and the calendar holds the person's event only (an evicted winner's copy is removed).
    assert sum(not isinstance(x, Conflict) for x in outcomes) <= 1
    assert _live_uids(o) == set()
    assert set(remote_events(o)) == {"person-race-1"}
    assert [b.event_uid for b in o.coord.connectors.blocks(c.connector_id)] == ["person-race-1"]
    with pytest.raises(Conflict) as exc:
        agents[0].bookings.commit(start=soon(3, 10, 30), end=soon(3, 11))
    assert exc.value.reason == "external_event"
    assert o.coord.audit.verify(o.user_id).ok


def _feed_body(*events: tuple[str, Any, Any, str | None]) -> bytes:
    import icalendar

    cal = icalendar.Calendar()
    cal.add("PRODID", "-//Provider//Feed//EN")
    cal.add("VERSION", "2.0")
    for uid, start, end, rrule in events:
        ev = icalendar.Event()
        ev.add("UID", uid)
        ev.add("DTSTAMP", start)
        ev.add("DTSTART", start)
        ev.add("DTEND", end)
        if rrule:
            ev.add("RRULE", icalendar.vRecur.from_ical(rrule))
        cal.add_component(ev)
    return bytes(cal.to_ical())


def test_an_ics_feed_blocks_updates_and_survives_breaking(owner: Owner, feed: FeedServer) -> None:
    feed.body = _feed_body(
        ("feed-weekly", soon(1, 12), soon(1, 13), "FREQ=WEEKLY;COUNT=3"),
        ("feed-once", soon(2, 16), soon(2, 17), None),
    )
    c = owner.coord.connectors.add(owner.user_id, "ics", url=feed.url)
    assert c.mode == "read_only" and not c.pushes
    blocks = owner.coord.connectors.blocks(c.connector_id)
    assert [(b.event_uid, b.start) for b in blocks] == [
        ("feed-weekly", soon(1, 12)),
        ("feed-once", soon(2, 16)),
        ("feed-weekly", soon(8, 12)),
        ("feed-weekly", soon(15, 12)),
    ]
    with pytest.raises(Conflict):
        owner.agent(1).bookings.commit(start=soon(8, 12), end=soon(8, 12, 30))
    # unchanged: a 304, nothing fetched
    assert owner.coord.connectors.sync(c.connector_id).objects == 0
    # the provider drops the one-off
    feed.body = _feed_body(("feed-weekly", soon(1, 12), soon(1, 13), "FREQ=WEEKLY;COUNT=3"))
    owner.coord.connectors.sync(c.connector_id)
    assert {b.event_uid for b in owner.coord.connectors.blocks(c.connector_id)} == {"feed-weekly"}
    # a broken feed: a typed error, shown in status; the last good view stays
    feed.body = b"<html>maintenance</html>"
    with pytest.raises(FeedMalformed):
        owner.coord.connectors.sync(c.connector_id)
    status = owner.coord.connectors.status(c.connector_id)
    assert status.last_error_code == "connector_feed_malformed" and status.blocks == 3
    worker = SyncWorker(owner.coord.bookings, owner.coord.connectors, push=FAST)
    worker.run_once()  # the worker records the failure and carries on
    assert len(owner.coord.connectors.blocks(c.connector_id)) == 3
