"""The event-loop routes (server/hot.py) answer exactly as the FastAPI routes they shadow.

A request the hot route takes and the same request handed back to FastAPI (a
``Content-Type`` with a charset, a flag spelled ``1``) get the same bytes; bad
input gets FastAPI's own 422; domain errors keep their codes; and the pipelined
Redis connection survives a script flush and a killed connection.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import httpx
import orjson
import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coordinator import Coordinator
from coordinator.bookings import TimesOnly
from coordinator.errors import ValidationError
from coordinator.server.responses import booking_json
from coordinator.server.routes.bookings import times_only, write_arguments
from coordinator.server.schemas import BookingRequest
from tests.support.servers import RedisServer

from .conftest import HttpServer

DAY = datetime(2032, 5, 3, tzinfo=UTC)


def times_only_arguments(
    data: Any, idempotency_key: str | None
) -> tuple[Literal["commit"], dict[str, Any]] | None:
    """``write_arguments`` of a body ``times_only`` reads, or None: what the event-loop
    route's ``commit_times_async`` stands for (held to the request model's below)."""
    times = times_only(data)
    if times is None:
        return None
    return "commit", {
        "start": times[0],
        "end": times[1],
        "idempotency_key": idempotency_key,
        "buffer_before_min": None,
        "buffer_after_min": None,
        "metadata": None,
        "title": None,
        "invitee": None,
        "availability_etag": None,
        "bump_window_seconds": None,
        "with_conferencing": False,
    }


@pytest.fixture
def agent(http_coord: Coordinator) -> tuple[str, str]:
    """(api key, owner id) of a fresh priority-1 agent."""
    owner = http_coord.owners.create()
    return http_coord.agents.create(owner.user_id, name="hot", priority=1).api_key, owner.user_id


def _body(start: datetime, minutes: int = 30) -> bytes:
    end = start + timedelta(minutes=minutes)
    return f'{{"start":"{start.isoformat()}","end":"{end.isoformat()}"}}'.encode()


def _post(url: str, key: str, body: bytes, ctype: str = "application/json") -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": ctype}
    return httpx.post(f"{url}/v1/bookings", content=body, headers=headers)


def test_availability_on_the_loop_and_through_fastapi_is_the_same_answer(
    http_server: HttpServer, agent: tuple[str, str]
) -> None:
    key, _ = agent
    assert _post(http_server.url, key, _body(DAY + timedelta(hours=10))).status_code == 201
    end = DAY + timedelta(days=1)
    query = f"range_start={DAY:%Y-%m-%dT%H:%M:%SZ}&range_end={end:%Y-%m-%dT%H:%M:%SZ}"
    auth = {"Authorization": f"Bearer {key}"}
    hot = httpx.get(f"{http_server.url}/v1/availability?{query}", headers=auth)
    # include_holds=1 is a spelling only FastAPI's parser takes: the hot route hands it back.
    handed = httpx.get(f"{http_server.url}/v1/availability?{query}&include_holds=1", headers=auth)
    assert hot.status_code == handed.status_code == 200
    assert hot.content == handed.content
    assert hot.headers["etag"] == handed.headers["etag"]
    slots = hot.json()["slots"]
    # 95 half-hour starts on the quarter grid; those at 09:45, 10:00 and 10:15 overlap it
    assert len(slots) == 92
    assert {"start": "2032-05-03T10:00:00+00:00", "end": "2032-05-03T10:30:00+00:00"} not in slots


def test_a_commit_through_either_route_is_the_same_booking_the_engine_reads(
    http_server: HttpServer, http_coord: Coordinator, agent: tuple[str, str]
) -> None:
    key, _ = agent
    hot = _post(http_server.url, key, _body(DAY + timedelta(hours=8)))
    handed = _post(
        http_server.url, key, _body(DAY + timedelta(hours=9)), "application/json; charset=utf-8"
    )
    assert hot.status_code == handed.status_code == 201
    assert hot.json().keys() == handed.json().keys()
    engine = http_coord.client(key).bookings
    for answer in (hot, handed):
        booking_id = answer.json()["booking_id"]
        read = httpx.get(
            f"{http_server.url}/v1/bookings/{booking_id}",
            headers={"Authorization": f"Bearer {key}"},
        )
        assert read.status_code == 200
        assert read.json() == booking_json(engine.get(booking_id))
        assert answer.json() == {**read.json(), "waited_ms": answer.json()["waited_ms"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b'{"start": "2032-05-03T08:00:00Z"}', "end"),
        (b'{"start": 5, "end": "2032-05-03T08:30:00Z"}', "start"),
        (b'{"start": "2032-05-03T08:00:00Z", "end": "2032-05-03T08:30:00Z", "mode": "x"}', "mode"),
        (b"[1, 2]", "body"),
    ],
)
def test_a_body_the_hot_route_cannot_take_gets_fastapis_own_422(
    http_server: HttpServer, agent: tuple[str, str], body: bytes, field: str
) -> None:
    r = _post(http_server.url, agent[0], body)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid_request"
    assert r.json()["field"] == field


def test_domain_errors_on_the_hot_routes_keep_their_codes_and_headers(
    http_server: HttpServer, agent: tuple[str, str]
) -> None:
    key, _ = agent
    body = _body(DAY + timedelta(hours=14))
    first = _post(http_server.url, key, body)
    lost = _post(http_server.url, key, body)
    assert first.status_code == 201 and lost.status_code == 409
    assert lost.json()["winning_booking_id"] == first.json()["booking_id"]
    missing = httpx.post(
        f"{http_server.url}/v1/bookings",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    unknown = httpx.get(
        f"{http_server.url}/v1/bookings/bkg_nope", headers={"Authorization": f"Bearer {key}"}
    )
    assert unknown.status_code == 404 and unknown.json()["error"] == "not_found"


def test_the_pipelined_connection_survives_a_script_flush_and_a_killed_connection(
    http_server: HttpServer, http_redis: RedisServer, agent: tuple[str, str]
) -> None:
    key, _ = agent
    auth = {"Authorization": f"Bearer {key}"}
    r = redis.Redis.from_url(http_redis.url)
    try:
        r.script_flush()  # the server must load its scripts again (NOSCRIPT)
        r.function_flush()  # and its Function libraries (store/functions.py)
        r.config_resetstat()
        made = _post(http_server.url, key, _body(DAY + timedelta(hours=16)))
        assert made.status_code == 201
        # Loaded again as a library: the commit went out as FCALL, not EVALSHA.
        stats = r.info("commandstats")
        assert stats["cmdstat_fcall"]["calls"] >= 2  # missing, then loaded and run
        assert "cmdstat_evalsha" not in stats
        assert b"agentdraft_commit" in {lib[1] for lib in r.function_list()}
        booking_id = made.json()["booking_id"]
        r.client_kill_filter(_type="normal", skipme=True)  # every client connection drops
        statuses = []
        for _ in range(2):  # one call may be in flight as the socket dies: 503, never a hang
            got = httpx.get(f"{http_server.url}/v1/bookings/{booking_id}", headers=auth)
            statuses.append(got.status_code)
            if got.status_code == 200:
                break
            assert got.status_code == 503 and got.json()["error"] == "store_unavailable"
        assert statuses[-1] == 200
    finally:
        r.close()


def test_a_booking_read_on_the_loop_is_the_models_answer_byte_for_byte(
    http_server: HttpServer, http_coord: Coordinator, agent: tuple[str, str]
) -> None:
    """Plain records are written straight from the record (responses.plain_booking_json);
    a hold, a titled booking with an invitee and metadata, and one displaced by a
    better-ranked agent's commit (named: the model path) all read as the model writes them."""
    key, owner = agent
    auth = {"Authorization": f"Bearer {key}"}
    start = DAY + timedelta(hours=15)
    bodies = [
        _body(start),
        b'{"start":"2032-05-03T16:00:00Z","end":"2032-05-03T16:30:00Z","mode":"hold"}',
        b'{"start":"2032-05-03T17:00:00.250Z","end":"2032-05-03T17:45:00Z","title":"T \\u00e9",'
        b'"invitee":{"email":"a@example.com","name":"A"},"metadata":{"n":1.5,"k":[1,"x"]}}',
    ]
    ids = []
    for body in bodies:
        made = _post(http_server.url, key, body)
        assert made.status_code == 201, made.text
        ids.append(made.json()["booking_id"])
    low = http_coord.agents.create(owner, name="low", priority=5).api_key
    better = http_coord.agents.create(owner, name="better", priority=1).api_key
    held = b'{"start":"2032-05-03T18:00:00Z","end":"2032-05-03T18:30:00Z","mode":"hold"}'
    displaced = _post(http_server.url, low, held)
    assert displaced.status_code == 201
    http_coord.client(better).bookings.commit(
        start=DAY + timedelta(hours=18), end=DAY + timedelta(hours=18, minutes=30)
    )
    engine = http_coord.client(key).bookings
    for booking_id in ids:
        read = httpx.get(f"{http_server.url}/v1/bookings/{booking_id}", headers=auth)
        assert read.status_code == 200
        assert read.content == orjson.dumps(booking_json(engine.get(booking_id)))
    lost_id = displaced.json()["booking_id"]
    read = httpx.get(
        f"{http_server.url}/v1/bookings/{lost_id}", headers={"Authorization": f"Bearer {low}"}
    )
    assert read.json()["status"] == "INVALIDATED" and read.json()["ended_by_agent_name"] == "better"
    assert read.content == orjson.dumps(booking_json(http_coord.client(low).bookings.get(lost_id)))


@settings(max_examples=300, deadline=None)
@given(
    start=st.text(max_size=30),
    end=st.text(max_size=30),
    key=st.none() | st.text(min_size=1, max_size=10),
)
def test_a_times_only_body_gets_the_arguments_the_request_model_gives(
    start: str, end: str, key: str | None
) -> None:
    data = {"start": start, "end": end}
    assert times_only_arguments(data, key) == write_arguments(
        BookingRequest.model_validate(data), key
    )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.datetimes(timezones=st.just(UTC)).map(lambda t: t.isoformat()) | st.text(max_size=25),
    minutes=st.integers(-30, 600),
    key=st.none() | st.sampled_from(["retry-1", "x" * 255, "a b"]),
)
def test_a_times_only_commit_is_the_request_its_arguments_make(
    http_coord: Coordinator, agent: tuple[str, str], start: str, minutes: int, key: str | None
) -> None:
    """``commit_times_async`` checks a start and an end into the very request (or the very
    refusal) that the keyword arguments of ``times_only_arguments`` do through
    ``write_record_async``: same fields, its own booking id."""
    try:
        end = (datetime.fromisoformat(start) + timedelta(minutes=minutes)).isoformat()
    except (ValueError, OverflowError):
        end = start
    client = http_coord.client(agent[0]).bookings
    arguments = times_only_arguments({"start": start, "end": end}, key)
    assert arguments is not None
    mode, kwargs = arguments
    engine, ctx = client._bookings, client._ctx

    def outcome(build: Any) -> Any:
        try:
            return build()._replace(booking_id="")
        except ValidationError as refused:
            return (refused.field, str(refused))

    conferencing = kwargs.pop("with_conferencing")  # as write_record_async takes it
    via_arguments = outcome(
        lambda: engine._prepare(guarded=True, **client._on_loop(mode, conferencing, kwargs))
    )
    via_times = outcome(
        lambda: engine._times_request(
            TimesOnly(ctx.user_id, ctx.agent_id, ctx.key_hash, start, end, key)
        )
    )
    assert via_times == via_arguments


@pytest.mark.parametrize(
    "data",
    [
        {"start": "2032-05-03T08:00:00Z", "end": "2032-05-03T08:30:00Z", "mode": "hold"},
        {"start": "2032-05-03T08:00:00Z", "end": 5},
        {"start": "2032-05-03T08:00:00Z", "finish": "2032-05-03T08:30:00Z"},
        ["2032-05-03T08:00:00Z", "2032-05-03T08:30:00Z"],
    ],
)
def test_any_other_body_is_left_to_the_request_model(data: object) -> None:
    assert times_only_arguments(data, None) is None
