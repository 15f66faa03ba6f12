"""A calendar server cannot hold the sync worker: each call has a deadline however its
bytes trickle in, and a CalDAV answer is read only up to a size.

One worker thread pulls and pushes every owner's connectors in turn, so before this a
server answering a byte at a time (each byte inside the 20 s read timeout) stopped every
other owner's pulls and pushes; and caldav read every answer whole, whatever its size.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest

from coordinator.connectors import ConnectorError, FeedTooLarge
from coordinator.connectors.adapters.base import RemoteRef
from coordinator.connectors.adapters.caldav import CalDAVAdapter
from coordinator.connectors.adapters.ics import ICSFeedAdapter
from coordinator.connectors.clients import MAX_RESPONSE_BYTES
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
