"""The owner's connector endpoints over real HTTP, and ``serve`` pushing from its lifespan."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.server.conftest import HttpServer, start_server
from tests.support.calendars import PASSWORD, USER, Radicale

from .conftest import soon, vevent
from .test_push import remote_events

agentdraft = pytest.importorskip("agentdraft")


@pytest.fixture(scope="module")
def served(redis_server: Any, key_file: Path) -> Iterator[HttpServer]:
    server = start_server(
        redis_server.url,
        env={
            "AGENTDRAFT_CONNECTOR_KEY_FILE": str(key_file),
            "AGENTDRAFT_CONNECTOR_ALLOW_HOSTS": "127.0.0.1",  # the Radicale here
        },
    )
    yield server
    server.stop()


def signed_in(url: str, email: str) -> httpx.Client:
    web = httpx.Client(base_url=url, timeout=30)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
    return web


class _Cal:
    """What remote_events needs: the person's view of one calendar."""

    def __init__(self, server: Radicale) -> None:
        self.server = server
        self.calendar = server.new_calendar()


def test_connect_sync_block_push_and_remove_over_http(
    served: HttpServer, radicale: Radicale
) -> None:
    web = signed_in(served.url, "connect@example.com")
    cal = _Cal(radicale)
    cal.calendar.add_event(vevent("http-1", soon(1, 10), soon(1, 11)))
    r = web.post(
        "/v1/dashboard/connectors",
        json={"url": str(cal.calendar.url), "username": USER, "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    made = r.json()
    cid = made["connector_id"]
    assert PASSWORD not in r.text and "password" not in made
    listed = web.get("/v1/dashboard/connectors").json()
    assert [c["connector_id"] for c in listed] == [cid] and PASSWORD not in str(listed)
    one = web.get(f"/v1/dashboard/connectors/{cid}").json()
    assert one["status"]["blocks"] == 1 and one["status"]["last_pull_at"]

    agent = web.post("/v1/dashboard/agents", json={"name": "bot", "priority": 1}).json()
    bot = agentdraft.Client(api_key=agent["plaintext_key"], base_url=served.url)
    with pytest.raises(agentdraft.Conflict) as exc:
        bot.bookings.commit(start=soon(1, 10, 15), end=soon(1, 10, 45))
    assert exc.value.reason == "external_event"
    avail = httpx.get(
        f"{served.url}/v1/availability",
        params={"range_start": soon(1, 9).isoformat(), "range_end": soon(1, 12).isoformat()},
        headers={"Authorization": f"Bearer {agent['plaintext_key']}"},
    ).json()
    assert [f["connector_id"] for f in avail["calendars"]] == [cid] and avail["stale"] is False
    starts = {x["start"] for x in avail["slots"]}
    assert soon(1, 9, 30).isoformat() in starts and soon(1, 10).isoformat() not in starts

    # A person adds another event; the owner asks for a sync now
    cal.calendar.add_event(vevent("http-2", soon(1, 13), soon(1, 14)))
    r = web.post(f"/v1/dashboard/connectors/{cid}/sync")
    assert r.status_code == 200, r.text  # a pull the worker was running is waited for
    assert not r.json()["full"] and r.json()["added"] in (0, 1)  # 0: the worker's pull had it
    assert web.get(f"/v1/dashboard/connectors/{cid}").json()["status"]["blocks"] == 2

    # The server's own sync worker pushes the winner's booking
    won = bot.bookings.commit(start=soon(1, 15), end=soon(1, 16), title="Pushed by serve")
    deadline = time.monotonic() + 20
    while f"agentdraft-{won.booking_id}" not in remote_events(cal):  # type: ignore[arg-type]
        assert time.monotonic() < deadline, "the served worker never pushed the booking"
        time.sleep(0.1)

    other = signed_in(served.url, "someone-else@example.com")
    assert other.get(f"/v1/dashboard/connectors/{cid}").status_code == 404
    assert other.delete(f"/v1/dashboard/connectors/{cid}").status_code == 404
    assert web.delete(f"/v1/dashboard/connectors/{cid}").status_code == 204
    assert web.get(f"/v1/dashboard/connectors/{cid}").status_code == 404


def test_bad_input_and_bad_credentials_are_typed_4xx(
    served: HttpServer, radicale: Radicale
) -> None:
    web = signed_in(served.url, "bad-input@example.com")
    cal = radicale.new_calendar()
    r = web.post("/v1/dashboard/connectors", json={"url": str(cal.url), "mode": "both"})
    assert r.status_code == 422 and r.json()["error"]
    r = web.post(
        "/v1/dashboard/connectors",
        json={"url": str(cal.url), "username": USER, "password": "wrong"},
    )
    assert r.status_code == 422 and r.json()["error"] == "connector_auth_failed"
    assert web.get("/v1/dashboard/connectors").json() == []
    assert web.get("/v1/dashboard/connectors").status_code == 200
    assert httpx.get(f"{served.url}/v1/dashboard/connectors").status_code == 401
