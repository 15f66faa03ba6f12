"""The Webhooks and Connectors pages in a real browser, with real receivers.

This module runs its own ``coordinator serve`` (``--dispatch``, loopback webhook URLs
allowed, a connector key in a temp folder), so deliveries really leave the server and a
CalDAV calendar (Radicale) is really pulled.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from coordinator.webhooks.signing import HEADER, verify_signature
from tests.dashboard.conftest import WAIT_MS, Dash
from tests.dashboard.sdk_agents import sdk, slot
from tests.server.conftest import HttpServer, start_server
from tests.support.calendars import PASSWORD, USER, Radicale
from tests.support.servers import RedisServer

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def dashboard_server(
    dashboard_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpServer]:
    """This module's server: a webhook dispatcher in-process, loopback receivers allowed."""
    key = tmp_path_factory.mktemp("connector-key") / "connector.key"
    server = start_server(
        dashboard_redis.url,
        dev=True,
        extra=["--dispatch"],
        env={
            "AGENTDRAFT_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
            "AGENTDRAFT_CONNECTOR_ALLOW_HOSTS": "127.0.0.1",
            "AGENTDRAFT_CONNECTOR_KEY_FILE": str(key),
            # No background pulls: "Sync now" is the only pull (a busy one is tested apart).
            "AGENTDRAFT_CONNECTOR_SYNC": "0",
            # The test holds a lease on purpose: "Sync now" then answers busy after 1 s,
            # not after the default 15 s that its 15 s expect timeout would race.
            "AGENTDRAFT_CONNECTOR_SYNC_WAIT": "1",
        },
    )
    yield server
    server.stop()


class Receiver:
    """A webhook receiver on loopback: keeps every POST and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.cond = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with outer.cond:
                    outer.posts.append((dict(self.headers), body))
                    outer.cond.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait_for(self, count: int, timeout: float = 20) -> list[tuple[dict[str, str], bytes]]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.posts) >= count, timeout), self.posts
            return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def reload_until(dash: Dash, locator: Any) -> None:
    """The delivery log is written after the POST returns: reload until the row is there
    (a readiness condition with a deadline, not a sleep)."""
    end = time.monotonic() + WAIT_MS / 1000
    while locator.count() == 0:
        assert time.monotonic() < end, "the delivery never showed in the log"
        dash.page.reload()


def test_register_shows_the_secret_once_deliveries_are_logged_and_redelivered(
    signed_in: Dash, receiver: Receiver
) -> None:
    dash = signed_in
    dash.go("/dashboard/webhooks")
    dash.page.get_by_label("URL").fill(receiver.url)
    dash.page.get_by_role("button", name="Register endpoint").click()
    reveal = dash.page.locator("section.reveal")
    expect(reveal).to_contain_text("You will not see this again")
    secret = dash.page.get_by_role("textbox", name="Signing secret").input_value()
    assert len(secret) >= 16
    dash.shot("webhooks-secret")

    dash.page.reload()
    expect(dash.page.locator("section.reveal")).to_have_count(0)
    assert secret not in dash.page.content()
    listed = dash.page.request.get(dash.url + "/v1/dashboard/webhooks").json()
    assert [e["url"] for e in listed] == [receiver.url] and listed[0]["secret"] is None
    dash.shot("webhooks")

    # An agent books: the dispatcher delivers, signed with the secret the page showed.
    agent = sdk(dash, "Assistant", 1)
    start, end = slot(2, 9)
    booked = agent.bookings.commit(start=start, end=end, title="Intro")
    headers, raw = receiver.wait_for(1)[0]
    event = verify_signature(raw, headers.get(HEADER), secret)
    assert event["type"] == "booking.committed"
    assert event["data"]["booking_id"] == booked.booking_id

    dash.page.locator("li.endpoint").get_by_role("link", name="Deliveries").click()
    dash.page.wait_for_url("**/dashboard/webhooks/whe_*")
    row = dash.page.locator(f"tr[data-event='{event['id']}']")
    reload_until(dash, row)
    expect(row).to_contain_text("delivered (200)")
    row.get_by_role("button", name="Redeliver").click()
    expect(dash.page.get_by_role("status")).to_contain_text(event["id"])
    again = receiver.wait_for(2)[1]
    assert json.loads(again[1])["id"] == event["id"]
    reload_until(dash, row.nth(1))  # the second attempt is logged too
    dash.shot("webhook-deliveries")

    dash.go("/dashboard/webhooks")
    dash.page.get_by_role("button", name="Delete").click()
    expect(dash.page.locator("li.endpoint")).to_have_count(0)
    assert dash.coord.webhooks.list(dash.user_id) == []


def test_an_internal_url_is_refused_next_to_the_field(signed_in: Dash) -> None:
    dash = signed_in
    dash.go("/dashboard/webhooks")
    dash.page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data")
    dash.page.get_by_role("button", name="Register endpoint").click()
    expect(dash.page.locator("#err-url")).to_be_visible()
    expect(dash.page.get_by_label("URL")).to_have_attribute("aria-invalid", "true")
    assert dash.coord.webhooks.list(dash.user_id) == []


@pytest.fixture(scope="module")
def radicale() -> Iterator[Radicale]:
    server = Radicale()
    yield server
    server.close()


def sync_now(dash: Dash, lease: str) -> None:
    """Click "Sync now" until the page says "Synced".

    The server's own sync worker picks a new connector up by itself and may hold its
    lease at that moment; the page then says the calendar is being synced, and the
    click is repeated once that sync has let go of the lease (polled: it has no event).
    """
    status = dash.page.get_by_role("status")
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        with dash.settled():
            dash.page.locator("li.connector").get_by_role("button", name="Sync now").click()
        said = status.inner_text()
        if "Synced" in said:
            return
        assert "being synced right now" in said, said
        while dash.coord.redis.exists(lease):
            assert time.monotonic() < deadline, "the background sync kept its lease"
            time.sleep(0.05)


def test_a_caldav_calendar_connects_syncs_and_its_password_never_comes_back(
    signed_in: Dash, radicale: Radicale, tmp_path: Path
) -> None:
    dash = signed_in
    calendar = radicale.new_calendar()
    start, end = slot(3, 9)
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    calendar.add_event(
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nBEGIN:VEVENT\nUID:dentist-1\n"
        f"DTSTAMP:{stamp}\nDTSTART:{stamp}\nDTEND:{end.strftime('%Y%m%dT%H%M%SZ')}\n"
        "SUMMARY:Dentist\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    dash.go("/dashboard/connectors")
    dash.page.get_by_label("Calendar URL").fill(str(calendar.url))
    dash.page.get_by_label("Username").fill(USER)
    dash.page.get_by_label("Password", exact=True).fill(PASSWORD)
    dash.page.get_by_role("button", name="Connect").click()
    card = dash.page.locator("li.connector")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Busy blocks")
    assert PASSWORD not in dash.page.content()
    expect(dash.page.get_by_label("Password", exact=True)).to_have_value("")

    [stored] = dash.coord.connectors.list(dash.user_id)
    lease = dash.coord.store.keys.connector_state(dash.user_id, stored.connector_id) + ":lease"
    sync_now(dash, lease)
    blocks = dash.page.locator("li.connector dt:text-is('Busy blocks') + dd")
    expect(blocks).to_have_text(re.compile(r"^1 \("))  # the dentist appointment
    assert dash.coord.connectors.status(stored.connector_id).blocks == 1
    listed = dash.page.request.get(dash.url + "/v1/dashboard/connectors").text()
    assert PASSWORD not in listed and PASSWORD not in dash.page.content()
    dash.shot("connectors")

    # Another worker holds the connector's sync lease: "Sync now" says so, not an error.
    dash.coord.redis.set(lease, "another-worker", px=60_000)
    dash.page.locator("li.connector").get_by_role("button", name="Sync now").click()
    expect(dash.page.get_by_role("status")).to_contain_text("being synced right now")
    assert dash.page.locator(".error.banner").count() == 0
    dash.coord.redis.delete(lease)

    dash.page.locator("li.connector").get_by_role("button", name="Remove").click()
    expect(dash.page.locator("li.connector")).to_have_count(0)
    assert dash.coord.connectors.list(dash.user_id) == []


class _Hanging:
    """A calendar server that accepts a connection and never answers, until released."""

    def __init__(self) -> None:
        import socket

        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/alice/cal/"
        self.accepted = threading.Event()
        self.released = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        self.accepted.set()
        self.released.wait(60)
        conn.close()

    def close(self) -> None:
        self.released.set()
        self.sock.close()


def test_adding_a_connector_to_a_hanging_server_does_not_hold_the_event_loop(
    dashboard_server: HttpServer,
) -> None:
    """Adding validates by a first pull; while the remote server hangs, the coordinator
    still answers everyone else (the pull runs in a thread, not on the event loop)."""
    import httpx

    url = dashboard_server.url
    owner = httpx.Client(base_url=url, headers={"Origin": url}, timeout=60)
    link = owner.post("/v1/auth/magic-link", json={"email": "hang@example.com"}).json()
    assert owner.post("/v1/auth/verify", json={"token": link["dev_token"]}).status_code == 200
    page = owner.get("/dashboard/connectors").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token, "the page carries its form token"
    hanging = _Hanging()
    answer: dict[str, int] = {}

    def add() -> None:
        form = {"kind": "caldav", "url": hanging.url, "username": USER, "password": PASSWORD}
        form["csrf_token"] = token.group(1)
        answer["status"] = owner.post("/dashboard/connectors", data=form).status_code

    adding = threading.Thread(target=add)
    adding.start()
    try:
        assert hanging.accepted.wait(15), "the first pull never reached the server"
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        assert adding.is_alive()  # the add is still waiting for the remote server
    finally:
        hanging.close()
        adding.join(60)
        owner.close()
    assert answer["status"] == 422  # the remote server hung up: a typed refusal
