"""A calendar server cannot hold the sync worker: each call has a deadline however its
bytes trickle in, and a CalDAV answer is read only up to a size.

One worker thread pulls and pushes every owner's connectors in turn, so before this a
server answering a byte at a time (each byte inside the 20 s read timeout) stopped every
other owner's pulls and pushes; and caldav read every answer whole, whatever its size.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from coordinator.connectors import ConnectorError, FeedTooLarge
from coordinator.connectors.adapters.base import RemoteRef
from coordinator.connectors.adapters.caldav import CalDAVAdapter
from coordinator.connectors.adapters.ics import ICSFeedAdapter
from coordinator.connectors.clients import MAX_RESPONSE_BYTES
from coordinator.connectors.push import PushSettings
from coordinator.connectors.urls import ALLOW_HOSTS_ENV
from coordinator.connectors.worker import SyncWorker
from tests.support.calendars import Radicale
from tests.support.dns_server import SilentDNS
from tests.support.hostile_http import BloatedServer, TricklingServer, returns_within

from .conftest import make_owner, soon, vevent


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda a: a.check(), id="check"),
        pytest.param(lambda a: a.pull(None, {}), id="pull"),
        pytest.param(lambda a: a.delete(RemoteRef(a.url + "x.ics", None)), id="delete"),
    ],
)
def test_a_caldav_server_that_trickles_is_cut_off_at_the_deadline(call: Any) -> None:
    with TricklingServer() as server:
        adapter = CalDAVAdapter(server.url + "cal/", deadline_seconds=1.0)
        started = time.monotonic()
        exc = returns_within(lambda: call(adapter))
        assert isinstance(exc, ConnectorError)
        assert (exc.error, exc.detail.endswith("did not finish answering within 1 s")) == (
            "connector_unreachable",
            True,
        )
        assert time.monotonic() - started >= 1.0
        assert server.hung_up.wait(10), "the trickled connection was left open"
        adapter.close()


def test_a_feed_that_trickles_is_cut_off_at_the_deadline() -> None:
    with TricklingServer() as server:
        adapter = ICSFeedAdapter(server.url, deadline_seconds=1.0)
        exc = returns_within(lambda: adapter.pull(None, {}))
        assert isinstance(exc, ConnectorError)
        assert exc.error == "connector_unreachable"
        assert "within 1 s" in exc.detail
        assert server.hung_up.wait(10)
        adapter.close()


@pytest.mark.parametrize("kind", ["caldav", "ics"])
def test_a_calendar_name_whose_nameserver_never_answers_is_cut_off_at_the_deadline(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name lookup is not a socket the watchdog can shut down: it now runs where the
    call can stop waiting for it (deadlines.bounded)."""
    monkeypatch.setenv(ALLOW_HOSTS_ENV, "calendar.test")
    with SilentDNS(lifetime=30.0) as dns:
        monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
        url = "http://calendar.test:5232/cal/"
        adapter = (
            CalDAVAdapter(url, deadline_seconds=1.0)
            if kind == "caldav"
            else ICSFeedAdapter(url + "feed.ics", deadline_seconds=1.0)
        )
        exc = returns_within(adapter.check if kind == "caldav" else lambda: adapter.pull(None, {}))
        assert isinstance(exc, ConnectorError)
        assert exc.error == "connector_unreachable"
        assert "within 1 s" in exc.detail
        assert dns.asked.is_set()
        adapter.close()


def test_a_caldav_answer_is_read_only_up_to_its_limit() -> None:
    """caldav reads each answer whole: 256 MiB would be read into memory and parsed."""
    size = 8 * MAX_RESPONSE_BYTES
    with BloatedServer(size, content_type="application/xml") as server:
        adapter = CalDAVAdapter(server.url + "cal/")
        exc = returns_within(adapter.check, 60)
        assert isinstance(exc, FeedTooLarge)
        assert (exc.error, exc.status) == ("connector_feed_too_large", 422)
        assert f"over {MAX_RESPONSE_BYTES} bytes" in exc.detail
        assert server.hung_up.wait(10)
        assert server.sent < 2 * MAX_RESPONSE_BYTES  # the rest was never read
        adapter.close()


def test_one_owners_trickling_calendar_does_not_stop_the_worker_for_the_others(
    conn_store: Any, radicale: Radicale, key_file: Path
) -> None:
    slow = make_owner(conn_store, radicale, key_file, connector_deadline_seconds=1.0)
    other = make_owner(conn_store, radicale, key_file, connector_deadline_seconds=1.0)
    with TricklingServer() as server:
        server.healthy = vevent("standup", soon(2, 9), soon(2, 10)).encode()
        slow_conn = slow.coord.connectors.add(slow.user_id, "ics", url=server.url)
        server.healthy = None  # from now on every answer comes a byte at a time
        other_conn = other.connect()
        other.add(vevent("dentist", soon(3, 9), soon(3, 10)))  # for the worker's pull
        worker = SyncWorker(slow.coord.bookings, slow.coord.connectors)
        assert returns_within(worker.run_once, 60) is None
        uids = [b.event_uid for b in other.coord.connectors.blocks(other_conn.connector_id)]
        assert uids == ["dentist"]
        status = slow.coord.connectors.status(slow_conn.connector_id)
        assert status.last_error_code == "connector_unreachable"
        assert "did not finish answering within 1 s" in (status.last_error or "")
        # The last good pull stays: the owner's standup still blocks the slot.
        assert [b.event_uid for b in slow.coord.connectors.blocks(slow_conn.connector_id)] == [
            "standup"
        ]
        assert server.hung_up.wait(10)
        worker.pusher.close()


def test_pulls_run_a_few_at_once_so_a_trickling_feed_holds_only_its_thread(
    conn_store: Any, radicale: Radicale, key_file: Path
) -> None:
    """Two owners' feeds trickle (each pull could take the whole 60 s deadline); within
    the same round both pulls are under way and a third owner's Radicale pull lands.
    One pull after another, the second feed and the Radicale pull would have waited."""
    slow_owners = [make_owner(conn_store, radicale, key_file) for _ in range(2)]
    other = make_owner(conn_store, radicale, key_file)
    servers = [TricklingServer(), TricklingServer()]
    worker = SyncWorker(
        other.coord.bookings, other.coord.connectors, push=PushSettings(calendars_at_once=4)
    )
    try:
        for o, server in zip(slow_owners, servers, strict=True):
            server.healthy = vevent("standup", soon(2, 9), soon(2, 10)).encode()
            o.coord.connectors.add(o.user_id, "ics", url=server.url)
            server.healthy = None  # from now on every answer comes a byte at a time
        before = [server.requests for server in servers]
        other_conn = other.connect()
        other.add(vevent("dentist", soon(3, 9), soon(3, 10)))
        one_round = threading.Thread(target=worker.run_once, daemon=True)
        one_round.start()

        def landed() -> bool:
            blocks = other.coord.connectors.blocks(other_conn.connector_id)
            asked = all(s.requests > n for s, n in zip(servers, before, strict=True))
            return asked and [b.event_uid for b in blocks] == ["dentist"]

        end = time.monotonic() + 20
        while not landed():
            assert time.monotonic() < end, "a pull waited for a trickling one"
            threading.Event().wait(0.05)  # polling a condition with a deadline
        assert one_round.is_alive()  # both trickling pulls are still under way
        for server in servers:
            server.close()  # they end now, refused
        one_round.join(30)
        assert not one_round.is_alive()
    finally:
        for server in servers:
            server.close()
        worker.pusher.close()
