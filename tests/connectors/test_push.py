"""Push: the winner's booking lands on the real calendar exactly once; losers never do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coordinator import Conflict
from coordinator.connectors.push import Pusher, PushSettings
from tests.support.calendars import Radicale
from tests.support.hostile_http import HoldingProxy

from .conftest import Owner, make_owner, soon, vevent

FAST = PushSettings(
    visibility_ms=50, backoff_base_ms=50, backoff_cap_ms=200, max_attempts=50, cooldown_seconds=0.05
)


def pusher(o: Owner, **kw: Any) -> Pusher:
    return Pusher(o.coord.bookings, o.coord.connectors, kw.pop("settings", FAST), **kw)


def drain(o: Owner, p: Pusher, rounds: int = 400) -> None:
    """Run the pusher until the calendar's outbox is empty (each round is a real pass)."""
    stream = o.coord.store.keys.push_outbox(o.user_id)
    for _ in range(rounds):
        p.run_once()
        if o.coord.redis.xlen(stream) == 0:
            return
        threading.Event().wait(0.02)  # the window or a backoff is still running
    raise AssertionError(f"outbox not drained: {o.coord.redis.xlen(stream)} left")


def remote_events(o: Owner) -> dict[str, Any]:
    """UID -> parsed VEVENT of every event on the calendar, read by the person's client."""
    out: dict[str, Any] = {}
    cal = o.server.client().calendar(url=str(o.calendar.url))
    coll = cal.get_objects_by_sync_token(load_objects=True)
    gone = {str(u) for u in coll.deleted_urls}  # Radicale lists tombstones on a first sync
    for obj in coll.objects:
        if str(obj.url) in gone:
            continue
        assert obj.data, f"{obj.url} listed without data"
        for comp in obj.icalendar_instance.walk("VEVENT"):
            uid = str(comp["UID"])
            assert uid not in out, f"{uid} twice on the calendar"
            out[uid] = comp
    return out


def test_a_commit_is_pushed_once_with_uid_from_the_booking(owner: Owner) -> None:
    c = owner.connect()
    agent = owner.agent(1)
    b = agent.bookings.commit(
        start=soon(1, 10), end=soon(1, 11), title="Intro call",
        invitee={"name": "Ada", "email": "ada@example.org"},
    )  # fmt: skip
    p = pusher(owner)
    drain(owner, p)
    drain(owner, p)  # a second pass changes nothing
    events = remote_events(owner)
    ev = events[f"agentdraft-{b.booking_id}"]
    assert list(events) == [f"agentdraft-{b.booking_id}"]
    assert str(ev["SUMMARY"]) == "Intro call"
    assert str(ev["X-AGENTDRAFT-BOOKING"]) == b.booking_id
    assert str(ev["ATTENDEE"]).lower() == "mailto:ada@example.org"
    assert agent.agent_id in str(ev["DESCRIPTION"]) and b.audit_event_id in str(ev["DESCRIPTION"])
    assert ev["DTSTART"].dt == soon(1, 10)
    # Pulling it back never makes it an external block
    owner.coord.connectors.sync(c.connector_id)
    assert owner.coord.connectors.blocks(c.connector_id) == []
    status = owner.coord.connectors.status(c.connector_id)
    assert status.backlog == 0 and status.last_push_at is not None


def test_holds_are_not_pushed_and_a_cancel_deletes_the_event(owner: Owner) -> None:
    owner.connect()
    agent = owner.agent(1)
    agent.bookings.hold(start=soon(1, 8), end=soon(1, 9))
    b = agent.bookings.commit(start=soon(1, 10), end=soon(1, 11))
    p = pusher(owner)
    drain(owner, p)
    assert list(remote_events(owner)) == [f"agentdraft-{b.booking_id}"]
    agent.bookings.cancel(b.booking_id)
    drain(owner, p)
    assert remote_events(owner) == {}


def test_an_external_event_evicting_a_booking_removes_its_pushed_copy(owner: Owner) -> None:
    c = owner.connect()
    b = owner.agent(2).bookings.commit(start=soon(1, 15), end=soon(1, 16))
    p = pusher(owner)
    drain(owner, p)
    owner.add(vevent("person-1", soon(1, 15), soon(1, 15, 30)))
    assert owner.coord.connectors.sync(c.connector_id).evicted == [b.booking_id]
    drain(owner, p)
    assert list(remote_events(owner)) == ["person-1"]


def test_read_only_connectors_receive_nothing(owner: Owner) -> None:
    owner.connect(mode="read_only")
    owner.agent(1).bookings.commit(start=soon(1, 10), end=soon(1, 11))
    assert not owner.coord.redis.exists(owner.coord.store.keys.push_outbox(owner.user_id))
    assert remote_events(owner) == {}


def test_racing_agents_only_the_winner_reaches_the_calendar_not_even_briefly(
    conn_store: Any, radicale: Any, key_file: Any, make_owner_with: Callable[..., Owner]
) -> None:
    o = make_owner_with(arbitration_window_ms=400)
    o.connect()
    agents = [o.agent(p) for p in range(1, 7)]
    before = o.calendar.get_objects_by_sync_token(load_objects=False).sync_token
    stop = threading.Event()
    p = pusher(o)
    pushing = threading.Thread(target=lambda: [p.run_once() for _ in iter(stop.is_set, True)])
    pushing.start()
    results: dict[int, Any] = {}
    barrier = threading.Barrier(len(agents))

    def race(i: int) -> None:
        barrier.wait()
        try:
            results[i] = agents[i].bookings.commit(start=soon(2, 10), end=soon(2, 11))
        except Conflict as exc:
            results[i] = exc

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(agents))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    pushing.join()
    drain(o, p)
    winners = [r for r in results.values() if not isinstance(r, Conflict)]
    assert len(winners) == 1 and winners[0].priority == 1
    assert list(remote_events(o)) == [f"agentdraft-{winners[0].booking_id}"]
    # Nothing else was ever written: the calendar's change log since the race began
    # names only the winner's object (a created-then-deleted loser would show as deleted).
    changes = o.calendar.get_objects_by_sync_token(sync_token=before, load_objects=False)
    assert {str(x.url).rsplit("/", 1)[-1] for x in changes.objects} == {
        f"agentdraft-{winners[0].booking_id}.ics"
    }
    assert changes.deleted_urls == set()


@pytest.fixture
def make_owner_with(conn_store: Any, radicale: Any, key_file: Any) -> Callable[..., Owner]:
    from .conftest import make_owner

    return lambda **settings: make_owner(conn_store, radicale, key_file, **settings)


def test_an_entry_delivered_twice_changes_nothing(owner: Owner) -> None:
    owner.connect()
    b = owner.agent(1).bookings.commit(start=soon(3, 10), end=soon(3, 11))
    p = pusher(owner)
    drain(owner, p)
    # The same change again (as after a pusher died between the PUT and its ack), and the
    # pushed-event record lost too: the If-None-Match create finds the event, no copy.
    k = owner.coord.store.keys
    owner.coord.redis.delete(
        k.connector_pushed(
            owner.user_id, owner.coord.connectors.list(owner.user_id)[0].connector_id
        )
    )
    owner.coord.redis.xadd(
        k.push_outbox(owner.user_id),
        {"booking_id": b.booking_id, "type": "booking.committed", "not_before_ms": "0"},
    )
    drain(owner, p)
    assert list(remote_events(owner)) == [f"agentdraft-{b.booking_id}"]


def test_updates_are_conditional_on_the_etag_we_wrote(owner: Owner) -> None:
    # The interface Google/Graph adapters share: create once, If-Match to replace.
    from coordinator.connectors import ConnectorError

    c = owner.connect()
    adapter = owner.coord.connectors.adapter(c)
    try:
        first = adapter.create(
            "agentdraft-bkg_etag", vevent("agentdraft-bkg_etag", soon(5, 9), soon(5, 10))
        )
        again = adapter.create(
            "agentdraft-bkg_etag", vevent("agentdraft-bkg_etag", soon(5, 11), soon(5, 12))
        )
        assert again.href == first.href  # a retried create finds the event, changes nothing
        assert str(remote_events(owner)["agentdraft-bkg_etag"]["DTSTART"].dt) == str(soon(5, 9))
        moved = adapter.update(first, vevent("agentdraft-bkg_etag", soon(5, 13), soon(5, 14)))
        assert moved.etag and moved.etag != first.etag
        with pytest.raises(ConnectorError) as exc:
            adapter.update(first, vevent("agentdraft-bkg_etag", soon(5, 15), soon(5, 16)))
        assert exc.value.error == "connector_etag_mismatch"
        assert remote_events(owner)["agentdraft-bkg_etag"]["DTSTART"].dt == soon(5, 13)
        adapter.delete(moved)
        adapter.delete(moved)  # deleting a missing event is done, not an error
        assert remote_events(owner) == {}
    finally:
        adapter.close()


def test_pull_and_push_work_on_every_backend(backend_store: Any, owner_on: Any) -> None:
    o: Owner = owner_on(backend_store)
    o.add(vevent("every-1", soon(1, 9), soon(1, 10)))
    c = o.connect()
    agent = o.agent(1)
    with pytest.raises(Conflict):
        agent.bookings.commit(start=soon(1, 9), end=soon(1, 10))
    b = agent.bookings.commit(start=soon(1, 10), end=soon(1, 11))
    p = pusher(o)
    drain(o, p)
    assert set(remote_events(o)) == {"every-1", f"agentdraft-{b.booking_id}"}
    agent.bookings.cancel(b.booking_id)
    drain(o, p)
    assert set(remote_events(o)) == {"every-1"}
    assert o.coord.connectors.status(c.connector_id).backlog == 0


def test_pushes_run_a_few_calendars_at_once_so_a_slow_server_holds_only_its_thread(
    conn_store: Any, radicale: Radicale, key_file: Path
) -> None:
    """Two owners' calendar servers take their time (a proxy in front of each holds every
    new connection unanswered); within the same pass both their pushes are under way and
    a third owner's booking lands on their calendar. One calendar after another, the
    second slow push and the third would have waited for the first's whole deadline."""
    slow = [make_owner(conn_store, radicale, key_file) for _ in range(2)]
    other = make_owner(conn_store, radicale, key_file)
    proxies = [HoldingProxy(("127.0.0.1", radicale.port)) for _ in slow]
    try:
        for o, proxy in zip(slow, proxies, strict=True):
            o.connect(url=str(o.calendar.url).replace(f":{radicale.port}/", f":{proxy.port}/"))
            proxy.hold.clear()  # from now on this owner's server does not answer
        other.connect()
        held = [o.agent(1).bookings.commit(start=soon(1, 8), end=soon(1, 9)) for o in slow]
        landed = other.agent(1).bookings.commit(start=soon(1, 8), end=soon(1, 9))
        p = pusher(other, settings=PushSettings(visibility_ms=60_000, calendars_at_once=4))
        one_pass = threading.Thread(target=p.run_once, daemon=True)
        one_pass.start()
        assert all(proxy.held.wait(10) for proxy in proxies), "a slow push waited for another"
        end = time.monotonic() + 20
        while f"agentdraft-{landed.booking_id}" not in remote_events(other):
            assert time.monotonic() < end, "the other owner's push waited for a slow one"
            threading.Event().wait(0.05)  # polling a condition with a deadline
        assert one_pass.is_alive()  # the slow pushes are still under way
        for proxy in proxies:
            proxy.hold.set()
        one_pass.join(60)
        assert not one_pass.is_alive()
        for o, b in zip(slow, held, strict=True):
            assert f"agentdraft-{b.booking_id}" in remote_events(o)
        p.close()
    finally:
        for proxy in proxies:
            proxy.close()
