"""The front door (server/front.py) answers the hot calls as the full app would.

Hot requests skip FastAPI's middleware stack, so each duty of those layers is
checked here against the same request answered by the full app (a spelling the
hot handler hands back, or a repeated header the front door leaves alone): the
same status, header list and bytes; one request id and one access log line per
request, with the access log on.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx
import orjson
import pytest
import redis

from coordinator import Coordinator
from tests.support.servers import RedisServer

from .conftest import HttpServer, start_server

DAY = datetime(2033, 2, 7, tzinfo=UTC)
QUERY = (
    f"range_start={DAY:%Y-%m-%dT%H:%M:%SZ}&range_end={DAY + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
)


def _head(r: httpx.Response) -> list[tuple[bytes, bytes]]:
    """The raw header list as sent, less the clock."""
    return [(k.lower(), v) for k, v in r.headers.raw if k.lower() != b"date"]


@pytest.fixture
def key(http_coord: Coordinator) -> str:
    owner = http_coord.owners.create()
    return http_coord.agents.create(owner.user_id, name="front", priority=1).api_key


def test_hot_answers_carry_the_full_apps_header_list_and_bytes(
    http_server: HttpServer, key: str
) -> None:
    auth = {"Authorization": f"Bearer {key}"}
    url = f"{http_server.url}/v1/availability?{QUERY}"
    hot = httpx.get(url, headers=auth)
    # include_holds=1: only FastAPI's parser takes it, so the full app answers.
    full = httpx.get(f"{url}&include_holds=1", headers=auth)
    assert hot.status_code == full.status_code == 200
    assert _head(hot) == _head(full)
    assert [k for k, _ in _head(hot)] == [b"server", b"etag", b"content-length", b"content-type"]
    assert hot.content == full.content


def test_a_repeated_header_goes_to_the_full_app_with_the_same_answer(
    http_server: HttpServer, key: str
) -> None:
    body = {"start": f"{DAY:%Y-%m-%dT}09:00:00Z", "end": f"{DAY:%Y-%m-%dT}09:30:00Z"}
    made = httpx.post(
        f"{http_server.url}/v1/bookings", json=body, headers={"Authorization": f"Bearer {key}"}
    )
    assert made.status_code == 201
    path = f"{http_server.url}/v1/bookings/{made.json()['booking_id']}"
    hot = httpx.get(path, headers={"Authorization": f"Bearer {key}"})
    twice = httpx.get(
        path, headers=[("Authorization", f"Bearer {key}"), ("X-Pad", "a"), ("X-Pad", "b")]
    )
    assert hot.status_code == twice.status_code == 200
    assert hot.content == twice.content
    assert _head(hot) == _head(twice)
    assert [k for k, _ in _head(made)] == [b"server", b"content-length", b"content-type"]


def test_hot_domain_errors_are_the_full_apps_answers(http_server: HttpServer, key: str) -> None:
    wrong = {"Authorization": "Bearer avs_live_not_a_key"}
    hot = httpx.get(f"{http_server.url}/v1/availability?{QUERY}", headers=wrong)
    full = httpx.get(f"{http_server.url}/v1/availability?{QUERY}&include_holds=1", headers=wrong)
    assert hot.status_code == full.status_code == 401
    assert hot.content == full.content
    assert _head(hot) == _head(full)


def test_each_request_gets_one_request_id_and_one_log_line(http_redis, key: str) -> None:
    server = start_server(
        http_redis.url, extra=["--log-format", "json", "--log-level", "info"], capture=True
    )
    url = f"{server.url}/v1/availability?{QUERY}"
    try:
        for rid, query in (("hot-1", ""), ("handed-1", "&include_holds=1")):
            r = httpx.get(
                url + query, headers={"Authorization": f"Bearer {key}", "X-Request-ID": rid}
            )
            assert r.status_code == 200
            assert r.headers.get_list("x-request-id") == [rid]
    finally:
        server.stop()
    _, err = server.proc.communicate(timeout=10)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    for rid in ("hot-1", "handed-1"):
        mine = [rec for rec in records if rec.get("request_id") == rid]
        assert len(mine) == 1
        assert mine[0]["route"] == "/v1/availability" and mine[0]["status"] == 200
        assert mine[0]["agent_id"] is not None


def test_the_availability_answer_is_each_slots_start_and_end(
    http_server: HttpServer, http_coord: Coordinator, key: str
) -> None:
    """The answer writes each slot's own fields; they must be exactly start, then end."""
    booked = {"start": f"{DAY:%Y-%m-%dT}10:00:00Z", "end": f"{DAY:%Y-%m-%dT}11:00:00Z"}
    auth = {"Authorization": f"Bearer {key}"}
    assert httpx.post(f"{http_server.url}/v1/bookings", json=booked, headers=auth).is_success
    r = httpx.get(f"{http_server.url}/v1/availability?{QUERY}", headers=auth)
    found = http_coord.client(key).availability.list(
        start=f"{DAY:%Y-%m-%dT%H:%M:%SZ}", end=f"{DAY + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}"
    )
    assert 0 < len(found) < 95  # the booking took some
    # The answer as it was built before: a new {start, end} per slot.
    assert r.content == orjson.dumps(
        {
            "user_id": r.json()["user_id"],
            "slots": [{"start": s.start, "end": s.end} for s in found],
            "etag": found.etag,
            "rules_version": found.rules_version,
            "calendars": [f.model_dump() for f in found.calendars],
            "stale": found.stale,
        }
    )


def test_an_unexpected_failure_is_the_full_apps_500_and_the_worker_goes_on(
    http_server: HttpServer, http_redis: RedisServer, http_coord: Coordinator, key: str
) -> None:
    """A record no script can read (edited by hand) fails the read past every handler."""
    auth = {"Authorization": f"Bearer {key}"}
    made = [
        httpx.post(
            f"{http_server.url}/v1/bookings",
            json={"start": f"{DAY:%Y-%m-%dT}{h}:00:00Z", "end": f"{DAY:%Y-%m-%dT}{h}:30:00Z"},
            headers=auth,
        ).json()["booking_id"]
        for h in (14, 15)
    ]
    user_id = http_coord.client(key).agents.me().user_id
    r = redis.Redis.from_url(http_redis.url)
    try:
        r.hset(http_coord.store.keys.bookings(user_id), made[0], b'"not a record"')
    finally:
        r.close()
    path = f"{http_server.url}/v1/bookings/{made[0]}"
    hot = httpx.get(path, headers=auth)
    full = httpx.get(path, headers=[*auth.items(), ("X-Pad", "a"), ("X-Pad", "b")])
    assert hot.status_code == full.status_code == 500
    assert hot.json() == {"error": "internal_error", "detail": "internal error"}
    assert hot.content == full.content and _head(hot) == _head(full)
    assert httpx.get(f"{http_server.url}/v1/bookings/{made[1]}", headers=auth).status_code == 200


def test_a_query_string_read_once_is_checked_and_answered_the_same_every_time(
    http_server: HttpServer, key: str
) -> None:
    """The front door keeps its reading of each query string (server/hot.py); what the
    reading leads to, the checks included, happens again on every request."""
    auth = {"Authorization": f"Bearer {key}"}
    base = f"{http_server.url}/v1/availability?"
    good = [httpx.get(base + QUERY, headers=auth) for _ in range(3)]
    assert {r.status_code for r in good} == {200}
    assert len({r.content for r in good}) == 1
    backwards = f"range_start={DAY:%Y-%m-%dT}12:00:00Z&range_end={DAY:%Y-%m-%dT}11:00:00Z"
    refused = [httpx.get(base + backwards, headers=auth) for _ in range(2)]
    assert [r.status_code for r in refused] == [422, 422]
    assert refused[0].json()["field"] == "end" and refused[0].content == refused[1].content
    # a parameter given twice is never read here: FastAPI's route answers, every time
    twice = f"{QUERY}&duration_minutes=60&duration_minutes=30"
    handed = [httpx.get(base + twice, headers=auth) for _ in range(2)]
    assert handed[0].status_code == handed[1].status_code == 200
    assert handed[0].content == handed[1].content
    wrong = {"Authorization": "Bearer avs_live_not_a_key"}
    assert httpx.get(base + QUERY, headers=wrong).status_code == 401  # the key, again
