"""Losing Redis: a clear error, and a retry that never books twice.

A real TCP proxy on loopback sits between the coordinator and a real
redis-server so a test can let a write land and then cut the connection before
the reply comes back: the one failure an idempotency key exists for.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from coordinator import Conflict, Coordinator, StoreUnavailable
from coordinator.errors import OUTCOME_UNKNOWN
from tests.support.servers import RedisServer

from .conftest import at


class ReplyDroppingProxy:
    """Forwards TCP to Redis; when armed, closes the client socket instead of replying."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.armed = threading.Event()
        self.dropped = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, is_reply: bool) -> None:
        try:
            while data := src.recv(65536):
                if is_reply and self.armed.is_set():
                    self.armed.clear()
                    self.dropped.set()
                    for s in (dst, src):  # shutdown, not close: another thread is in recv
                        s.shutdown(socket.SHUT_RDWR)
                    return
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass

    def close(self) -> None:
        self._listener.close()


@pytest.fixture
def proxied(fresh_redis_server: RedisServer) -> Iterator[tuple[Coordinator, ReplyDroppingProxy]]:
    proxy = ReplyDroppingProxy(fresh_redis_server.port)
    coord = Coordinator.from_url(f"redis://127.0.0.1:{proxy.port}/0", arbitration_window_ms=0)
    yield coord, proxy
    coord.close()
    proxy.close()


def test_a_lost_reply_to_a_landed_write_is_retried_without_booking_twice(proxied) -> None:
    coord, proxy = proxied
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="bot", priority=1).api_key)
    proxy.armed.set()
    booking = bot.bookings.commit(start=at(0), end=at(30))  # the client retries the call
    assert proxy.dropped.is_set(), "the proxy never dropped a reply"
    assert booking.status == "COMMITTED"
    # The write ran once, the retry found it: one booking, one commit entry.
    assert coord.redis.hlen(coord.store.keys.bookings(owner.user_id)) == 1
    types = [e.type for e in coord.audit.range(owner.user_id)]
    assert types.count("booking.committed") == 1
    assert "booking.rejected" not in types


def test_a_dead_server_raises_store_unavailable_and_a_keyed_retry_books_once(
    fresh_redis_server: RedisServer,
) -> None:
    coord = Coordinator.from_url(fresh_redis_server.url, arbitration_window_ms=0)
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="bot", priority=1).api_key)
    first = bot.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_outage")

    fresh_redis_server.kill()
    with pytest.raises(StoreUnavailable) as err:
        bot.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_outage")
    assert err.value.status == 503
    assert "idempotency key" in err.value.detail
    # The script may have run before the connection died: never claim nothing was written.
    assert OUTCOME_UNKNOWN in err.value.detail
    assert "Nothing is known" not in err.value.detail

    fresh_redis_server.restart()  # append-only file: the acknowledged write survived
    again = bot.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_outage")
    assert again.booking_id == first.booking_id
    assert coord.redis.hlen(coord.store.keys.bookings(owner.user_id)) == 1
    with pytest.raises(Conflict):
        bot.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_other")
    assert coord.audit.verify(owner.user_id).ok
    coord.close()


def test_scripts_are_reloaded_after_the_server_forgets_them(
    fresh_redis_server: RedisServer,
) -> None:
    coord = Coordinator.from_url(fresh_redis_server.url, arbitration_window_ms=0)
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="bot", priority=1).api_key)
    bot.bookings.commit(start=at(0), end=at(30))
    coord.redis.script_flush()  # as after a restart or failover: EVALSHA gets NOSCRIPT
    assert bot.bookings.commit(start=at(60), end=at(90)).status == "COMMITTED"
    coord.close()


def test_a_store_failure_during_the_arbitration_wait_says_the_outcome_is_unknown(
    fresh_redis_server: RedisServer,
) -> None:
    """The claim was written; only the wait for its window failed. The 503 must not
    say nothing was written, and the keyed retry must return the booking that stands."""
    coord = Coordinator.from_url(fresh_redis_server.url, arbitration_window_ms=5000)
    owner = coord.owners.create()
    coord.agents.create(owner.user_id, name="top", priority=1)  # so the writer waits
    low = coord.client(coord.agents.create(owner.user_id, name="low", priority=2).api_key)
    out: dict[str, BaseException] = {}

    def run() -> None:
        try:
            low.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_wait")
        except BaseException as exc:  # the test inspects whatever was raised
            out["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    watcher = Coordinator.from_url(fresh_redis_server.url)
    end = time.monotonic() + 10
    while "booking.committed" not in [e.type for e in watcher.audit.range(owner.user_id)]:
        assert time.monotonic() < end, "the claim never landed"
        time.sleep(0.005)
    watcher.close()
    assert t.is_alive(), "the writer must be waiting for its window"
    fresh_redis_server.kill()
    t.join(timeout=30)
    assert not t.is_alive()

    err = out["error"]
    assert isinstance(err, StoreUnavailable)
    assert err.status == 503 and err.error == "store_unavailable"
    assert "arbitration wait" in err.detail
    assert OUTCOME_UNKNOWN in err.detail
    assert "Nothing is known" not in err.detail

    fresh_redis_server.restart()  # append-only, fsync always: the claim survived
    again = low.bookings.commit(start=at(0), end=at(30), idempotency_key="ik_wait")
    assert again.status == "COMMITTED"
    assert coord.redis.hlen(coord.store.keys.bookings(owner.user_id)) == 1
    assert coord.audit.verify(owner.user_id).ok
    coord.close()
