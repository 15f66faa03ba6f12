"""Incremental sync on Radicale and Xandikos: moves, deletes, invalidated tokens, and what
an external event does to a live booking (policy evict or keep)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from coordinator import Conflict, NotFound, ValidationError

from .conftest import Owner, soon, vevent


def _uids(o: Owner, cid: str) -> list[str]:
    return [b.event_uid for b in o.coord.connectors.blocks(cid)]


def test_a_moved_event_frees_its_old_slot_on_the_next_incremental_sync(owner_any: Owner) -> None:
    o = owner_any
    ev = o.add(vevent("move-1", soon(1, 10), soon(1, 11)))
    c = o.connect()
    ev.data = vevent("move-1", soon(1, 15), soon(1, 16))
    ev.save()
    report = o.coord.connectors.sync(c.connector_id)
    assert not report.full and report.objects == 1
    [b] = o.coord.connectors.blocks(c.connector_id)
    assert (b.start, b.end) == (soon(1, 15), soon(1, 16))
    agent = o.agent(1)
    assert agent.bookings.commit(start=soon(1, 10), end=soon(1, 11)).status == "COMMITTED"
    with pytest.raises(Conflict) as exc:
        agent.bookings.commit(start=soon(1, 15), end=soon(1, 16))
    assert exc.value.reason == "external_event"


def test_a_deleted_event_frees_its_slot(owner_any: Owner) -> None:
    o = owner_any
    ev = o.add(vevent("del-1", soon(2, 10), soon(2, 11)))
    o.add(vevent("stay-1", soon(2, 12), soon(2, 13)))
    c = o.connect()
    ev.delete()
    report = o.coord.connectors.sync(c.connector_id)
    assert not report.full and report.removed == 1
    assert _uids(o, c.connector_id) == ["stay-1"]
    assert o.agent(1).bookings.commit(start=soon(2, 10), end=soon(2, 11)).status == "COMMITTED"


def test_an_invalidated_sync_token_falls_back_to_a_full_resync(owner_any: Owner) -> None:
    o = owner_any
    gone = o.add(vevent("tok-1", soon(3, 9), soon(3, 10)))
    c = o.connect()
    gone.delete()
    o.add(vevent("tok-2", soon(3, 11), soon(3, 12)))
    k = o.coord.store.keys
    o.coord.redis.hset(k.connector_state(o.user_id, c.connector_id), "sync_token", "bogus-token")
    report = o.coord.connectors.sync(c.connector_id)
    assert report.full
    assert _uids(o, c.connector_id) == ["tok-2"]
    assert o.coord.connectors.status(c.connector_id).last_error is None


def test_an_unchanged_calendar_syncs_without_fetching_anything(owner_any: Owner) -> None:
    o = owner_any
    o.add(vevent("same-1", soon(1, 9), soon(1, 10)))
    c = o.connect()
    report = o.coord.connectors.sync(c.connector_id)
    assert (report.objects, report.added, report.removed) == (0, 0, 0)
    assert _uids(o, c.connector_id) == ["same-1"]


def test_an_event_the_coordinator_pushed_is_never_treated_as_external(owner: Owner) -> None:
    owner.add(vevent("agentdraft-bkg_1234", soon(1, 9), soon(1, 10)))
    owner.add(vevent("app-made-1", soon(1, 11), soon(1, 12), X_AGENTDRAFT_BOOKING="bkg_99"))
    c = owner.connect()
    assert _uids(owner, c.connector_id) == []


def test_evict_policy_ends_the_booking_with_reason_external_event(
    owner: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_PORTS", "9")
    c = owner.connect()
    owner.coord.webhooks.register(owner.user_id, "http://127.0.0.1:9/hook")
    agent = owner.agent(2)
    booked = agent.bookings.commit(start=soon(1, 15), end=soon(1, 16))
    other = agent.bookings.commit(start=soon(1, 17), end=soon(1, 18))
    # A person puts a meeting over it in their calendar app
    owner.add(vevent("boss-1", soon(1, 15, 30), soon(1, 16, 30)))
    report = owner.coord.connectors.sync(c.connector_id)
    assert report.evicted == [booked.booking_id]
    seen = agent.bookings.get(booked.booking_id)
    assert seen.status == "EVICTED" and seen.end_reason == "external_event"
    assert (seen.ended_by_connector_id, seen.ended_by_event_uid) == (c.connector_id, "boss-1")
    assert agent.bookings.get(other.booking_id).status == "COMMITTED"
    evicted = [e for e in owner.coord.audit.range(owner.user_id) if e.type == "booking.evicted"]
    assert len(evicted) == 1
    assert owner.coord.audit.verify(owner.user_id).ok
    # the webhook event is queued with the reason, the connector and the event
    outbox = owner.coord.redis.xrange(owner.coord.store.keys.prefix(owner.user_id) + "outbox")
    fired = [json.loads(f["data"]) for _, f in outbox if f["type"] == "booking.evicted"]
    assert [(d["booking_id"], d["reason"], d["event_uid"]) for d in fired] == [
        (booked.booking_id, "external_event", "boss-1")
    ]
    # and the slot now belongs to the person's event
    with pytest.raises(Conflict) as exc:
        owner.agent(1).bookings.commit(start=soon(1, 15), end=soon(1, 16))
    assert exc.value.reason == "external_event"


def test_keep_policy_leaves_the_booking_and_reports_the_conflict_once(
    owner: Owner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    monkeypatch.setenv("AGENTDRAFT_WEBHOOK_ALLOW_PORTS", "9")
    c = owner.connect(policy="keep")
    owner.coord.webhooks.register(
        owner.user_id, "http://127.0.0.1:9/hook", events=["booking.external_conflict"]
    )
    agent = owner.agent(2)
    booked = agent.bookings.commit(start=soon(1, 15), end=soon(1, 16))
    owner.add(vevent("boss-2", soon(1, 15, 30), soon(1, 16, 30)))
    first = owner.coord.connectors.sync(c.connector_id)
    again = owner.coord.connectors.sync(c.connector_id)
    assert [x["booking_id"] for x in first.conflicts] == [booked.booking_id]
    assert again.conflicts == []
    assert agent.bookings.get(booked.booking_id).status == "COMMITTED"
    status = owner.coord.connectors.status(c.connector_id)
    assert status.conflicts == 1 and status.last_conflict
    assert status.last_conflict["event_uid"] == "boss-2"
    types = [e.type for e in owner.coord.audit.range(owner.user_id)]
    assert types.count("booking.external_conflict") == 1
    # and an endpoint subscribed to it gets the event, naming the booking and the event
    outbox = owner.coord.redis.xrange(owner.coord.store.keys.prefix(owner.user_id) + "outbox")
    fired = [json.loads(f["data"]) for _, f in outbox if f["type"] == "booking.external_conflict"]
    assert [(d["booking_id"], d["event_uid"]) for d in fired] == [(booked.booking_id, "boss-2")]
    # When the booking goes, the person's event takes its buckets back at once
    agent.bookings.cancel(booked.booking_id)
    with pytest.raises(Conflict) as exc:
        owner.agent(1).bookings.commit(start=soon(1, 15, 30), end=soon(1, 16))
    assert exc.value.reason == "external_event"
    assert owner.coord.audit.verify(owner.user_id).ok


def test_overlapping_events_keep_the_slot_busy_until_the_last_one_goes(owner: Owner) -> None:
    a = owner.add(vevent("lap-a", soon(4, 10), soon(4, 11)))
    owner.add(vevent("lap-b", soon(4, 10, 30), soon(4, 11, 30)))
    c = owner.connect()
    a.delete()
    owner.coord.connectors.sync(c.connector_id)
    agent = owner.agent(1)
    with pytest.raises(Conflict) as exc:
        agent.bookings.commit(start=soon(4, 10, 30), end=soon(4, 10, 45))
    assert exc.value.body["event_uid"] == "lap-b"
    assert agent.bookings.commit(start=soon(4, 10), end=soon(4, 10, 30)).status == "COMMITTED"


def test_a_recurring_event_edited_to_fewer_instances_frees_the_dropped_ones(
    owner_any: Owner,
) -> None:
    o = owner_any
    first = soon(1, 7)
    ev = o.add(vevent("rec-1", first, first + timedelta(hours=1), RRULE="FREQ=DAILY;COUNT=5"))
    c = o.connect()
    assert len(_uids(o, c.connector_id)) == 5
    ev.data = vevent("rec-1", first, first + timedelta(hours=1), RRULE="FREQ=DAILY;COUNT=2")
    ev.save()
    o.coord.connectors.sync(c.connector_id)
    assert [b.start for b in o.coord.connectors.blocks(c.connector_id)] == [
        first,
        first + timedelta(days=1),
    ]
    last = first + timedelta(days=4)
    assert o.agent(1).bookings.commit(start=last, end=last + timedelta(hours=1)).is_live


def test_the_ctag_fallback_skips_an_unchanged_calendar_and_lists_a_changed_one(
    owner_any: Owner,
) -> None:
    # For servers without RFC 6578 the token is "ctag:<value>"; both servers here have a
    # ctag, so the fallback path runs against them for real.
    from coordinator.connectors.adapters.caldav import CTAG_TOKEN

    o = owner_any
    o.add(vevent("ctag-1", soon(1, 9), soon(1, 10)))
    c = o.connect()
    adapter = o.coord.connectors.adapter(c)
    try:
        first = adapter.pull(CTAG_TOKEN + "stale", {})
        assert first.full and [x.href for x in first.changed] == sorted(first.listed)
        assert first.token and first.token.startswith(CTAG_TOKEN)
        known = {x.href: x.etag for x in first.changed}
        same = adapter.pull(first.token, known)
        assert (same.changed, same.full) == ([], False)
        o.add(vevent("ctag-2", soon(1, 11), soon(1, 12)))
        moved = adapter.pull(first.token, known)
        assert moved.full and len(moved.changed) == 1 and "ctag-2" in moved.changed[0].ics
    finally:
        adapter.close()


def test_sync_now_waits_for_a_running_pull_then_pulls_what_changed_since(owner: Owner) -> None:
    """An owner's "sync now" that meets the worker's pull (which may have fetched before
    the person's change) waits for it to end and pulls again, rather than 409 at once."""
    import threading

    from coordinator.connectors.errors import ConnectorError

    c = owner.connect()
    conns = owner.coord.connectors
    lease, token = conns._lease(c)  # the worker's pull, still running
    with pytest.raises(ConnectorError) as busy:
        conns.sync(c.connector_id)  # the worker's own call does not wait
    assert (busy.value.error, busy.value.status) == ("connector_busy", 409)
    with pytest.raises(ConnectorError) as still:
        conns.sync(c.connector_id, wait_seconds=0.1)  # a bounded wait, then busy
    assert still.value.error == "connector_busy"
    owner.add(vevent("late-1", soon(1, 13), soon(1, 14)))  # after the running pull fetched
    out: dict[str, object] = {}
    t = threading.Thread(
        target=lambda: out.setdefault("r", conns.sync(c.connector_id, wait_seconds=30))
    )
    t.start()
    t.join(0.3)
    assert t.is_alive()  # waiting for the lease, not answering busy
    conns._unlease(lease, token)  # the running pull ends
    t.join(30)
    assert not t.is_alive()
    report = out["r"]
    assert report.added == 1  # type: ignore[attr-defined]
    assert _uids(owner, c.connector_id) == ["late-1"]


def test_a_pull_lets_its_lease_go_in_one_step_and_never_drops_another_pulls(
    owner: Owner,
) -> None:
    """A pull whose lease expired while it ran must not delete the lease a later pull
    took; so the release compares and deletes in one server-side step, never a GET and
    then a DEL with room for another pull between them."""
    c = owner.connect()
    conns = owner.coord.connectors
    r = owner.coord.redis
    lease, token = conns._lease(c)
    r.set(lease, "a-later-pull")  # this pull's lease expired; another pull took it
    conns._unlease(lease, token)
    assert r.get(lease) == "a-later-pull"
    r.delete(lease)

    lease, token = conns._lease(c)
    sent: list[str] = []
    with r.monitor() as m:
        conns._unlease(lease, token)
        r.echo("end-of-unlease")
        for cmd in m.listen():
            if "end-of-unlease" in cmd["command"]:
                break
            if cmd["client_type"] != "lua" and lease in cmd["command"]:
                sent.append(cmd["command"].split()[0].upper())
    assert sent and set(sent) <= {"EVALSHA", "EVAL"}  # no GET, no DEL from the client
    assert r.get(lease) is None  # its own lease is gone


def _calendar_keys(o: Owner) -> dict[str, bytes | None]:
    """DUMP of every key of ``o``'s calendar except connector leases."""
    r = o.coord.redis
    prefix = o.coord.store.keys.prefix(o.user_id)
    keys = sorted(k for k in r.scan_iter(match=prefix + "*") if not k.endswith(":lease"))
    return {k: r.dump(k) for k in keys}


def test_a_pull_that_lost_its_lease_to_a_later_pull_applies_nothing(owner: Owner) -> None:
    """A pull that ran past its lease's expiry holds a listing older than the pull that
    took the lease since: it must not land, not even its sync token."""
    from coordinator.connectors.errors import ConnectorError
    from coordinator.connectors.pull import pull_once

    owner.add(vevent("first-1", soon(1, 9), soon(1, 10)))
    c = owner.connect()
    conns = owner.coord.connectors
    owner.add(vevent("late-2", soon(1, 13), soon(1, 14)))  # what the slow pull would add
    lease, token = conns._lease(c)
    owner.coord.redis.set(lease, "a-later-pull")  # expired meanwhile; another pull took it
    before = _calendar_keys(owner)
    with pytest.raises(ConnectorError) as lost:
        pull_once(owner.coord.bookings, c, conns._pulling_adapter(c), lease_token=token)
    assert (lost.value.error, lost.value.status) == ("connector_busy", 409)
    assert _calendar_keys(owner) == before
    assert _uids(owner, c.connector_id) == ["first-1"]
    owner.coord.redis.delete(lease)
    assert conns.sync(c.connector_id).added == 1  # the lease's holder applies as before
    assert _uids(owner, c.connector_id) == ["first-1", "late-2"]


def test_removing_a_connector_waits_for_a_running_pull_so_no_block_outlives_it(
    owner: Owner,
) -> None:
    """A pull that applied after a removal had taken the blocks away would leave busy
    blocks that no connector owns and no later pull removes; so removal takes the
    connector's lease, waiting for a running pull (then 409 if it does not end)."""
    import threading

    from coordinator.connectors.errors import ConnectorError

    owner.add(vevent("rm-1", soon(2, 9), soon(2, 10)))
    c = owner.connect()
    conns = owner.coord.connectors
    lease, token = conns._lease(c)  # the worker's pull, running
    with pytest.raises(ConnectorError) as busy:
        conns.remove(c.connector_id, wait_seconds=0)
    assert (busy.value.error, busy.value.status) == ("connector_busy", 409)
    assert conns.get(c.connector_id).connector_id == c.connector_id
    assert _uids(owner, c.connector_id) == ["rm-1"]  # nothing taken away
    errors: list[BaseException] = []

    def remove() -> None:
        try:
            conns.remove(c.connector_id, wait_seconds=30)
        except BaseException as exc:  # handed to the test thread
            errors.append(exc)

    t = threading.Thread(target=remove)
    t.start()
    t.join(0.3)
    assert t.is_alive()  # waiting for the pull, not removing under it
    conns._unlease(lease, token)
    t.join(30)
    assert not t.is_alive() and errors == []
    with pytest.raises(NotFound):
        conns.get(c.connector_id)
    assert owner.coord.redis.hlen(owner.coord.store.keys.external_blocks(owner.user_id)) == 0
    agent = owner.agent(1)
    assert agent.bookings.commit(start=soon(2, 9), end=soon(2, 10)).status == "COMMITTED"


def test_the_sync_now_wait_comes_from_its_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from coordinator.connectors.registry import SYNC_WAIT_SECONDS, sync_wait_seconds

    monkeypatch.delenv("AGENTDRAFT_CONNECTOR_SYNC_WAIT", raising=False)
    assert sync_wait_seconds() == SYNC_WAIT_SECONDS == 15.0
    for raw, seconds in (("0", 0.0), ("2.5", 2.5), (" 120 ", 120.0)):
        monkeypatch.setenv("AGENTDRAFT_CONNECTOR_SYNC_WAIT", raw)
        assert sync_wait_seconds() == seconds


@pytest.mark.parametrize("raw", ["soon", "-1", "121", "nan", "inf"])
def test_a_bad_sync_now_wait_is_refused_by_name_and_stops_serve_at_start_up(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    from coordinator.connectors.registry import sync_wait_seconds
    from coordinator.server.config import ServerConfig

    monkeypatch.setenv("AGENTDRAFT_CONNECTOR_SYNC_WAIT", raw)
    with pytest.raises(ValidationError) as err:
        sync_wait_seconds()
    assert err.value.field == "AGENTDRAFT_CONNECTOR_SYNC_WAIT"
    with pytest.raises(ValidationError, match="AGENTDRAFT_CONNECTOR_SYNC_WAIT"):
        ServerConfig.from_env()
