"""Webhooks end to end: outbox in the same step, signed at-least-once delivery, crash-safe.

The receiver is a real HTTP server on loopback; the dispatcher is the real one,
in this process or in a subprocess that the test kills mid-delivery.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from coordinator import Conflict, Coordinator
from coordinator.cooldown import Cooldowns
from coordinator.webhooks import HEADER, WebhookSignatureError, sign, verify_signature
from coordinator.webhooks.dispatcher import Dispatcher, DispatchSettings
from tests.support.clock import ManualClock
from tests.support.hostile_http import SlowErrorServer, TricklingServer, returns_within
from tests.support.servers import RedisServer

BASE = datetime(2031, 7, 7, 10, tzinfo=UTC)
FAST = DispatchSettings(visibility_ms=200, backoff_base_ms=50, cooldown_seconds=0.05)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


class Receiver:
    """Records every delivery; answers from ``statuses`` (then 200); can hold requests."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.statuses: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self.arrived = threading.Event()
        #: Answer with a body that never ends (until the client hangs up or close()).
        self.endless_body = False
        self.closed = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.deliveries.append((dict(self.headers), body))
                outer.arrived.set()
                outer.hold.wait(30)
                status = outer.statuses.pop(0) if outer.statuses else 200
                self.send_response(status)
                if outer.endless_body:  # HTTP/1.0, no length: the body runs until close
                    self.end_headers()
                    chunk = b"x" * 65536
                    try:
                        while not outer.closed.is_set():
                            self.wfile.write(chunk)
                    except OSError:
                        pass  # the client hung up: what a dispatcher should do
                    return
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(b) for _, b in self.deliveries]

    def close(self) -> None:
        self.hold.set()
        self.closed.set()
        self.server.shutdown()
        # Close the listening socket now, not whenever the garbage collector breaks the
        # Receiver <-> Handler cycle: a later test's dispatcher still sees this owner's
        # undelivered events, and a socket left listening makes its POST hang for the
        # whole HTTP timeout instead of being refused at once.
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def drain(d: Dispatcher, until: Any, deadline_s: float = 10.0) -> None:
    """Run dispatcher passes until a condition holds (bounded; no fixed sleeps)."""
    end = time.monotonic() + deadline_s
    while True:
        delivered = d.run_once()
        if until():
            return
        assert time.monotonic() < end, "condition not reached"
        if delivered == 0:
            time.sleep(0.02)


def test_a_calendar_without_endpoints_writes_no_outbox(coord: Coordinator) -> None:
    owner = coord.owners.create()
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    bot.bookings.commit(start=at(0), end=at(30))
    assert coord.redis.exists(coord.store.keys.prefix(owner.user_id) + "outbox") == 0


def test_every_change_persists_its_event_in_the_same_step(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    coord.webhooks.register(owner.user_id, receiver.url)
    low = coord.client(coord.agents.create(owner.user_id, name="low", priority=3).api_key)
    high = coord.client(coord.agents.create(owner.user_id, name="high", priority=1).api_key)
    hold = low.bookings.hold(start=at(60), end=at(90))
    victim = low.bookings.commit(start=at(0), end=at(30), bump_window_seconds=3600)
    winner = high.bookings.commit(start=at(0), end=at(30))  # evicts
    high.bookings.commit(start=at(60), end=at(90))  # invalidates the hold
    high.bookings.cancel(winner.booking_id)
    outbox = coord.redis.xrange(coord.store.keys.prefix(owner.user_id) + "outbox")
    seen = [(f["type"], json.loads(f["data"])["booking_id"]) for _, f in outbox]
    assert ("booking.evicted", victim.booking_id) in seen
    assert ("hold.invalidated", hold.booking_id) in seen
    assert ("booking.cancelled", winner.booking_id) in seen
    assert [t for t, _ in seen].count("booking.committed") == 3
    # Each event names the audit entry written by the same script.
    audit_ids = {e.id for e in coord.audit.range(owner.user_id)}
    assert all(json.loads(f["data"])["audit_event_id"] in audit_ids for _, f in outbox)


def test_deliveries_are_signed_and_carry_a_dedupe_id(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    ep = coord.webhooks.register(owner.user_id, receiver.url, events=["booking.committed"])
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    b = bot.bookings.commit(start=at(0), end=at(30), title="Demo")
    d = Dispatcher(coord, FAST)
    drain(d, lambda: len(receiver.deliveries) == 1)
    headers, body = receiver.deliveries[0]
    event = verify_signature(body, headers[HEADER], ep.secret)
    assert event["type"] == "booking.committed"
    assert event["data"]["booking_id"] == b.booking_id
    assert event["data"]["id"] == event["id"]
    assert event["data"]["start"] == at(0).isoformat()
    with pytest.raises(WebhookSignatureError):
        verify_signature(body.replace(b"Demo", b"Evil"), headers[HEADER], ep.secret)
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, headers[HEADER], "whsec_wrong_secret_value")
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, sign(ep.secret, body, int(time.time()) - 3600), ep.secret)
    d.close()


def test_a_failing_endpoint_is_retried_until_it_accepts(
    coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    coord.webhooks.register(owner.user_id, receiver.url)
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    bot.bookings.commit(start=at(0), end=at(30))
    receiver.statuses = [500, 503]
    d = Dispatcher(coord, FAST)
    drain(d, lambda: len(receiver.deliveries) == 3)
    ids = {e["data"]["id"] for e in receiver.events()}
    assert len(ids) == 1  # the same event three times: receivers dedupe on data.id
    stream = coord.store.keys.prefix(owner.user_id) + "outbox"
    drain(d, lambda: coord.redis.xpending(stream, "dispatch")["pending"] == 0)
    d.close()


def test_a_receiver_answering_with_an_endless_body_does_not_hold_the_dispatcher(
    coord: Coordinator, receiver: Receiver
) -> None:
    """Only the status is read: a body that never ends would otherwise be read forever
    (data keeps arriving, so no read timeout fires) while every other delivery waits."""
    owner = coord.owners.create()
    coord.webhooks.register(owner.user_id, receiver.url)
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    bot.bookings.commit(start=at(0), end=at(30))
    receiver.endless_body = True
    d = Dispatcher(coord, FAST)
    passes = threading.Thread(
        target=drain, args=(d, lambda: len(receiver.deliveries) == 1), daemon=True
    )
    passes.start()
    passes.join(20)
    assert not passes.is_alive(), "the dispatcher is still reading the receiver's body"
    stream = coord.store.keys.prefix(owner.user_id) + "outbox"
    drain(d, lambda: coord.redis.xpending(stream, "dispatch")["pending"] == 0)
    assert len(receiver.deliveries) == 1  # delivered once, and acknowledged
    d.close()


def test_a_receiver_that_trickles_its_answer_is_cut_off_and_other_calendars_are_served(
    coord: Coordinator, receiver: Receiver
) -> None:
    """One owner's receiver sends its status line a byte at a time, each byte inside the
    read timeout: without a whole-delivery deadline that delivery, and every other
    calendar's behind it in the one dispatcher, would never finish."""
    slow_owner, owner = coord.owners.create(), coord.owners.create()
    with TricklingServer() as slow:
        slow_ep = coord.webhooks.register(slow_owner.user_id, slow.url)
        coord.webhooks.register(owner.user_id, receiver.url)
        for who in (slow_owner, owner):
            bot = coord.client(coord.agents.create(who.user_id, name="a", priority=1).api_key)
            bot.bookings.commit(start=at(0), end=at(30))
        d = Dispatcher(coord, DispatchSettings(visibility_ms=60_000, http_timeout_seconds=1.0))
        passes = threading.Thread(
            target=drain, args=(d, lambda: len(receiver.deliveries) == 1, 30.0), daemon=True
        )
        passes.start()
        passes.join(20)
        assert not passes.is_alive(), "the dispatcher is still waiting on the trickling receiver"
        assert slow.requests == 1
        assert slow.hung_up.wait(10), "the dispatcher kept the trickled connection open"
        log = coord.views.deliveries(slow_owner.user_id, slow_ep.endpoint_id)
        assert [(x.status_code, x.error) for x in log] == [(None, "DeadlineExceeded")]
        d.close()


def test_a_slow_receiver_costs_other_calendars_one_budget_per_pass_not_a_batch(
    coord: Coordinator, receiver: Receiver
) -> None:
    """Ten events for a receiver that answers each only after 0.5 s (an error, so it is
    not cooled down): a pass spends at most its calendar budget on them (plus one
    delivery), serves the other calendar, and offers the rest first on the next pass as
    their first attempt, not as a retry."""
    slow_owner, owner = coord.owners.create(), coord.owners.create()
    with SlowErrorServer(0.5) as slow:
        slow_ep = coord.webhooks.register(slow_owner.user_id, slow.url)
        coord.webhooks.register(owner.user_id, receiver.url)
        bot = coord.client(coord.agents.create(slow_owner.user_id, name="a", priority=1).api_key)
        for i in range(10):
            bot.bookings.commit(start=at(60 * i), end=at(60 * i + 30))
        other = coord.client(coord.agents.create(owner.user_id, name="b", priority=1).api_key)
        other.bookings.commit(start=at(0), end=at(30))
        d = Dispatcher(
            coord,
            DispatchSettings(
                visibility_ms=60_000, http_timeout_seconds=5.0, calendar_budget_seconds=1.0
            ),
        )

        def tried() -> list[Any]:
            return coord.views.deliveries(slow_owner.user_id, slow_ep.endpoint_id)

        assert returns_within(d.run_once, 20) is None
        assert len(receiver.deliveries) == 1
        first = tried()
        assert 1 <= len(first) <= 3, "the pass went on past its budget"
        assert {(x.status_code, x.error) for x in first} == {(503, None)}
        assert returns_within(d.run_once, 20) is None
        later = tried()[: len(tried()) - len(first)]
        assert later, "the events left over were not offered on the next pass"
        assert {x.event_id for x in later}.isdisjoint({x.event_id for x in first})
        assert {x.attempt for x in later} == {1}
        d.close()


def test_a_receiver_that_does_not_answer_is_left_alone_while_it_cools_down(
    coord: Coordinator, receiver: Receiver
) -> None:
    """A receiver cut off at its deadline is not called again until its cool-down ends.
    Before, every pass in which its owner had something new spent the whole deadline on
    it again, and every other calendar waited that long: an owner booking all day on
    their own calendar, with a receiver that trickles, slowed every delivery."""
    slow_owner, owner = coord.owners.create(), coord.owners.create()
    clock = ManualClock()
    with TricklingServer() as slow:
        slow_ep = coord.webhooks.register(slow_owner.user_id, slow.url)
        coord.webhooks.register(owner.user_id, receiver.url)
        slow_bot = coord.client(
            coord.agents.create(slow_owner.user_id, name="a", priority=1).api_key
        )
        other = coord.client(coord.agents.create(owner.user_id, name="b", priority=1).api_key)
        for i in range(3):
            slow_bot.bookings.commit(start=at(60 * i), end=at(60 * i + 30))
        other.bookings.commit(start=at(0), end=at(30))
        settings = DispatchSettings(visibility_ms=60_000, http_timeout_seconds=0.5)
        d = Dispatcher(coord, settings, cooldowns=Cooldowns(30, 600, clock=clock))

        def tried() -> list[Any]:
            return coord.views.deliveries(slow_owner.user_id, slow_ep.endpoint_id)

        assert returns_within(d.run_once, 20) is None
        # One delivery was cut off; the other two events were not tried after it.
        assert (slow.requests, len(receiver.deliveries)) == (1, 1)
        assert [(x.attempt, x.error) for x in tried()] == [(1, "DeadlineExceeded")]
        # More news on both calendars: the slow one is left alone, the other served.
        slow_bot.bookings.commit(start=at(600), end=at(630))
        other.bookings.commit(start=at(60), end=at(90))
        assert returns_within(d.run_once, 20) is None
        assert (slow.connections, slow.requests, len(receiver.deliveries)) == (1, 1, 2)
        assert len(tried()) == 1, "an attempt was counted for a receiver left alone"
        # Once the cool-down is over, the held events go out first, as their first attempt.
        clock.now = 31.0
        assert returns_within(d.run_once, 20) is None
        assert slow.requests == 2
        assert [(x.attempt, x.error) for x in tried()[:1]] == [(1, "DeadlineExceeded")]
        assert tried()[0].event_id != tried()[1].event_id
        assert d.cooldowns.remaining(slow_ep.endpoint_id) == 60  # doubled: failed again
        d.close()


def test_an_endpoint_registered_while_the_only_other_cools_down_is_served_at_once(
    coord: Coordinator, receiver: Receiver
) -> None:
    """The owner whose only receiver stopped answering registers a working one: the next
    pass delivers the news to it, while the first still cools down. Before, the
    calendar stayed unread until the old receiver's cool-down ended (up to ten minutes)."""
    owner = coord.owners.create()
    clock = ManualClock()
    with TricklingServer() as slow:
        slow_ep = coord.webhooks.register(owner.user_id, slow.url)
        bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
        bot.bookings.commit(start=at(0), end=at(30))
        settings = DispatchSettings(visibility_ms=60_000, http_timeout_seconds=0.5)
        d = Dispatcher(coord, settings, cooldowns=Cooldowns(30, 600, clock=clock))
        assert returns_within(d.run_once, 20) is None
        assert slow.requests == 1 and d.cooldowns.remaining(slow_ep.endpoint_id) > 0
        later = bot.bookings.commit(start=at(60), end=at(90))
        coord.webhooks.register(owner.user_id, receiver.url)
        assert returns_within(d.run_once, 20) is None
        assert [json.loads(body)["data"]["booking_id"] for _, body in receiver.deliveries] == [
            later.booking_id
        ]
        assert slow.requests == 1, "the receiver cooling down was called"
        log = coord.views.deliveries(owner.user_id, slow_ep.endpoint_id)
        assert [x.error for x in log] == ["CoolingDown", "DeadlineExceeded"]
        d.close()


def test_an_endpoint_cooling_down_is_skipped_and_the_calendars_other_endpoint_served(
    coord: Coordinator, receiver: Receiver
) -> None:
    """With one of two endpoints cooling down, an event still goes to the other; the one
    cooling down gets a failed attempt with no call made, retried by the usual backoff."""
    owner = coord.owners.create()
    clock = ManualClock()
    with TricklingServer() as slow:
        slow_ep = coord.webhooks.register(owner.user_id, slow.url)
        coord.webhooks.register(owner.user_id, receiver.url)
        bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
        settings = DispatchSettings(visibility_ms=60_000, http_timeout_seconds=0.5)
        d = Dispatcher(coord, settings, cooldowns=Cooldowns(30, 600, clock=clock))
        bot.bookings.commit(start=at(0), end=at(30))
        assert returns_within(d.run_once, 20) is None
        bot.bookings.commit(start=at(60), end=at(90))
        assert returns_within(d.run_once, 20) is None
        assert (slow.requests, len(receiver.deliveries)) == (1, 2)
        log = coord.views.deliveries(owner.user_id, slow_ep.endpoint_id)
        assert [(x.error, x.status_code, x.ok) for x in log] == [
            ("CoolingDown", None, False),
            ("DeadlineExceeded", None, False),
        ]
        assert log[0].next_retry_at is not None
        d.close()


def test_calendars_are_served_a_few_at_once_so_a_slow_one_holds_only_its_thread(
    coord: Coordinator,
) -> None:
    """Two receivers that take their time (held open until the test lets them answer)
    and one that answers at once, on three calendars: within one pass the quick one is
    served and both slow deliveries are under way while neither has answered. Served
    one after another, the second slow receiver and the quick one would have waited for
    the first's whole deadline (30 s here)."""
    slow, quick = [Receiver(), Receiver()], Receiver()
    try:
        for r in slow:
            r.hold.clear()
        for r in [*slow, quick]:
            owner = coord.owners.create()
            coord.webhooks.register(owner.user_id, r.url)
            bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
            bot.bookings.commit(start=at(0), end=at(30))
        settings = DispatchSettings(
            visibility_ms=60_000, http_timeout_seconds=30.0, calendars_at_once=4
        )
        d = Dispatcher(coord, settings)
        one_pass = threading.Thread(target=d.run_once, daemon=True)
        one_pass.start()
        assert quick.arrived.wait(10), "the quick calendar waited behind a slow one"
        assert all(r.arrived.wait(10) for r in slow), "one slow calendar waited for the other"
        assert one_pass.is_alive()  # both slow deliveries are still open
        for r in slow:
            r.hold.set()
        one_pass.join(30)
        assert not one_pass.is_alive()
        assert [len(r.deliveries) for r in [*slow, quick]] == [1, 1, 1]
        d.run_once()
        # Clients are lent per calendar and kept: no more than calendars served at once.
        assert 2 <= len(d._clients) <= settings.calendars_at_once
        d.close()
    finally:
        for r in [*slow, quick]:
            r.close()


def test_a_commit_inside_its_window_is_announced_only_if_it_won(
    redis_server, receiver: Receiver
) -> None:
    coord = Coordinator.from_url(redis_server.url, arbitration_window_ms=2000)
    owner = coord.owners.create()
    coord.webhooks.register(
        owner.user_id, receiver.url, events=["booking.committed", "booking.evicted"]
    )
    top = coord.client(coord.agents.create(owner.user_id, name="top", priority=1).api_key)
    low = coord.client(coord.agents.create(owner.user_id, name="low", priority=2).api_key)
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.setdefault("r", _try(low)))
    t.start()
    stream = coord.store.keys.prefix(owner.user_id) + "outbox"
    end = time.monotonic() + 10
    while coord.redis.xlen(stream) == 0:
        assert time.monotonic() < end
        time.sleep(0.005)
    won = top.bookings.commit(start=at(0), end=at(30))
    t.join(10)
    assert isinstance(out["r"], Conflict)
    d = Dispatcher(coord, FAST)
    drain(
        d,
        lambda: (
            coord.redis.xpending(stream, "dispatch")["pending"] == 0
            and len(receiver.deliveries) >= 1
        ),
    )
    events = receiver.events()
    assert [(e["type"], e["data"]["booking_id"]) for e in events] == [
        ("booking.committed", won.booking_id)
    ]
    d.close()
    coord.close()


def test_an_event_read_inside_its_window_goes_out_once_the_window_closes(
    redis_server, receiver: Receiver
) -> None:
    """The default visibility (30 s) must not delay it: the dispatcher holds what it read
    early and delivers it on the first pass after the window, not when it is reclaimed."""
    coord = Coordinator.from_url(redis_server.url, arbitration_window_ms=2000)
    owner = coord.owners.create()
    coord.webhooks.register(owner.user_id, receiver.url, events=["booking.committed"])
    coord.agents.create(owner.user_id, name="top", priority=1)  # so "a" gets a window
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=2).api_key)
    d = Dispatcher(coord)  # default settings: visibility 30 s
    assert d.settings.visibility_ms >= 30_000
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.setdefault("b", _try(bot)))
    t.start()  # the commit returns once its window has closed
    stream = coord.store.keys.prefix(owner.user_id) + "outbox"
    end = time.monotonic() + 10
    while coord.redis.xlen(stream) == 0:
        assert time.monotonic() < end
        time.sleep(0.005)
    assert d.run_once() == 0 and receiver.deliveries == []  # read inside the window
    t.join(10)
    ((_, fields),) = coord.redis.xrange(stream)
    while coord.store.server_now_ms(owner.user_id) < int(fields["not_before_ms"]):
        assert time.monotonic() < end  # the store's clock past the window
        time.sleep(0.005)
    assert d.run_once() == 1
    assert [e["data"]["booking_id"] for e in receiver.events()] == [out["b"].booking_id]
    assert coord.redis.xpending(stream, "dispatch")["pending"] == 0
    assert d.run_once() == 0 and len(receiver.deliveries) == 1  # once
    d.close()
    coord.close()


def _try(client: Any) -> Any:
    try:
        return client.bookings.commit(start=at(0), end=at(30))
    except Conflict as c:
        return c


def test_a_dispatcher_killed_mid_delivery_loses_nothing(
    redis_server: RedisServer, coord: Coordinator, receiver: Receiver
) -> None:
    owner = coord.owners.create()
    coord.webhooks.register(owner.user_id, receiver.url)
    bot = coord.client(coord.agents.create(owner.user_id, name="a", priority=1).api_key)
    b = bot.bookings.commit(start=at(0), end=at(30))
    receiver.hold.clear()  # the first delivery hangs until the test lets it go
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "coordinator",
            "webhooks",
            "dispatch",
            "--redis-url",
            redis_server.url,
            "--visibility-ms",
            "200",
            "--backoff-ms",
            "50",
        ],
        env={**os.environ},
    )
    try:
        assert receiver.arrived.wait(30), "the dispatcher never delivered"
        proc.send_signal(signal.SIGKILL)  # killed between reading the event and its ack
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    receiver.hold.set()
    stream = coord.store.keys.prefix(owner.user_id) + "outbox"
    assert coord.redis.xpending(stream, "dispatch")["pending"] == 1
    d = Dispatcher(coord, FAST)
    drain(d, lambda: coord.redis.xpending(stream, "dispatch")["pending"] == 0)
    assert {e["data"]["booking_id"] for e in receiver.events()} == {b.booking_id}
    assert len(receiver.deliveries) == 2  # the interrupted attempt, then the redelivery
    d.close()


def test_bad_registrations_name_the_field(coord: Coordinator) -> None:
    from coordinator import ValidationError

    owner = coord.owners.create()
    for kwargs, field in [
        ({"url": "ftp://x"}, "url"),
        ({"url": "http://x", "events": ["booking.exploded"]}, "events"),
        ({"url": "http://x", "secret": "short"}, "secret"),
    ]:
        with pytest.raises(ValidationError) as err:
            coord.webhooks.register(owner.user_id, **kwargs)
        assert err.value.field == field
    assert coord.webhooks.list(owner.user_id) == []


def test_proposal_events_are_delivered_signed(coord: Coordinator, receiver: Receiver) -> None:
    owner = coord.owners.create()
    ep = coord.webhooks.register(
        owner.user_id,
        receiver.url,
        events=[
            "proposal.created",
            "proposal.responded",
            "proposal.confirmed",
            "proposal.cancelled",
        ],
    )
    org = coord.agents.create(owner.user_id, name="org", priority=1)
    guest = coord.agents.create(owner.user_id, name="guest", priority=2)
    slots = [{"start_time": at(0).isoformat(), "end_time": at(60).isoformat(), "weight": 2}]
    p = coord.proposals.create(
        calendar_id=owner.user_id,
        organizer_agent_id=org.agent_id,
        participant_agent_ids=[guest.agent_id],
        slots=slots,
        title="sync",
    )
    coord.proposals.respond(
        p.id, agent_id=guest.agent_id, response="accept", selected_slot_id=p.slots[0].id
    )
    d = Dispatcher(coord, FAST)
    drain(d, lambda: len(receiver.deliveries) == 3)
    events = [
        verify_signature(body, headers[HEADER], ep.secret) for headers, body in receiver.deliveries
    ]
    assert [e["type"] for e in events] == [
        "proposal.created",
        "proposal.responded",
        "proposal.confirmed",
    ]
    created, responded, confirmed = (e["data"] for e in events)
    assert created["proposal_id"] == p.id and created["slots"][0]["weight"] == 2
    assert created["slots"][0]["start_time"] == at(0).isoformat()
    assert created["expires_at"] == p.expires_at.isoformat()
    assert (responded["agent_id"], responded["response"]) == (guest.agent_id, "accept")
    assert confirmed["resolved_slot"]["id"] == p.slots[0].id
    assert confirmed["created_event_id"] == coord.proposals.get(p.id).created_event_id
    assert "start" not in created  # booking-only fields are not invented for proposals
    d.close()
