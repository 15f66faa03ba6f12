"""coordinator/deadlines.py: a whole exchange ends at its deadline, pooled connections
included, and only the client's own sockets are ever shut down."""

from __future__ import annotations

import os
import socket
import threading

import httpx
import pytest

from coordinator.deadlines import Deadline, SocketSet, bounded
from coordinator.outbound import AddressPolicy, guarded_client
from tests.support.dns_server import SilentDNS
from tests.support.hostile_http import TricklingServer, returns_within

LOOPBACK = AddressPolicy.of(["127.0.0.1"])


def test_a_pooled_connection_opened_before_the_deadline_is_cut_off_too() -> None:
    """The dispatcher's client keeps connections alive between deliveries: the second
    delivery reuses the first one's socket, opened under no deadline of its own."""
    sockets = SocketSet()
    with (
        TricklingServer() as server,
        guarded_client(lambda: LOOPBACK, sockets=sockets, timeout=5.0) as client,
    ):
        server.healthy = b"ok"
        assert client.get(server.url).content == b"ok"
        assert len(sockets) == 1
        server.healthy = None

        def slow_request() -> None:
            with Deadline(0.5, sockets) as deadline:
                try:
                    client.get(server.url)
                finally:
                    assert deadline.expired

        exc = returns_within(slow_request)
        assert isinstance(exc, httpx.HTTPError)
        assert (server.connections, server.requests) == (1, 2)
        # After the deadline, the client connects again as usual.
        server.healthy = b"again"
        assert client.get(server.url).content == b"again"


def test_a_deadline_that_does_not_pass_leaves_the_connection_alone() -> None:
    sockets = SocketSet()
    with (
        TricklingServer() as server,
        guarded_client(lambda: LOOPBACK, sockets=sockets, timeout=5.0) as client,
    ):
        server.healthy = b"ok"
        for _ in range(3):
            with Deadline(5.0, sockets) as deadline:
                assert client.get(server.url).content == b"ok"
            assert not deadline.expired
        assert (server.connections, server.requests) == (1, 3)


def test_a_closed_socket_is_forgotten_and_its_reused_descriptor_never_shut_down() -> None:
    """The set keeps descriptor numbers, not sockets: once the client closes one, the
    system may give its number to another file, which expiry must not touch."""
    listener = socket.create_server(("127.0.0.1", 0))
    sockets = SocketSet()
    first = socket.create_connection(listener.getsockname())
    listener.accept()[0].close()
    sockets.add(first)
    number = first.fileno()
    first.close()
    second = socket.create_connection(listener.getsockname())
    peer, _ = listener.accept()
    if second.fileno() != number:  # the system picked another number: force the reuse
        os.dup2(second.fileno(), number)
        second.close()
        second = socket.socket(fileno=number)
    with Deadline(0.05, sockets) as deadline:
        assert deadline.wait(10)
    assert len(sockets) == 0
    second.sendall(b"x")
    assert peer.recv(1) == b"x"  # still connected: not shut down
    for s in (second, peer, listener):
        s.close()


def test_a_socket_opened_after_the_deadline_passed_is_shut_down_at_once() -> None:
    """A retry or a redirect after the deadline cannot start a new exchange."""
    listener = socket.create_server(("127.0.0.1", 0))
    sockets = SocketSet()
    with Deadline(0.05, sockets) as deadline:
        assert deadline.wait(10)
        late = socket.create_connection(listener.getsockname())
        sockets.add(late)
        assert late.recv(1) == b""  # shut down: end of stream at once, not a wait
    late.close()
    listener.close()


def test_a_deadline_needs_a_positive_time() -> None:
    with pytest.raises(ValueError, match="positive"):
        Deadline(0, SocketSet())


def test_a_name_lookup_that_never_answers_ends_at_the_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``getaddrinfo`` waits out the system resolver's timeouts and no socket shutdown
    wakes it, so a receiver's name whose nameserver never answers held the dispatcher
    past its deadline (glibc: up to 10 s per nameserver)."""
    with SilentDNS(lifetime=20.0) as dns:
        monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
        sockets = SocketSet()
        with guarded_client(
            lambda: AddressPolicy.of(["hooks.test"]), sockets=sockets, timeout=30.0
        ) as client:

            def call() -> None:
                with Deadline(0.5, sockets) as deadline:
                    try:
                        client.get("http://hooks.test:8080/")
                    finally:
                        assert deadline.expired

            exc = returns_within(call, 10)
        assert isinstance(exc, httpx.ConnectError)
        assert str(exc) == "the name lookup of hooks.test did not finish within 0.5 s"
        assert dns.asked.is_set()


def test_a_name_lookup_outside_a_deadline_runs_in_the_callers_thread() -> None:
    sockets = SocketSet()
    assert bounded(sockets, threading.current_thread, "a call") is threading.current_thread()
    with Deadline(5.0, sockets):
        assert bounded(sockets, lambda: 42, "a call") == 42
        with pytest.raises(KeyError):  # its own failure comes through as it is
            bounded(sockets, lambda: {}["x"], "a call")
    assert sockets.deadline is None
