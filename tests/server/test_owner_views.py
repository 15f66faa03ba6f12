"""Owner read views over HTTP (session cookie, a real ``coordinator serve``) and on
``coord.views``: bookings, one booking's trail, audit with verification, proposals,
and the webhook event catalog."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from coordinator import Coordinator
from coordinator.errors import NotFound, ValidationError
from coordinator.webhooks import deliveries
from coordinator.webhooks.deliveries import Delivery
from coordinator.webhooks.registry import EVENT_TYPES
from tests.support.servers import Backend

agentdraft = pytest.importorskip("agentdraft")

DAY = datetime(2032, 3, 2, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY + timedelta(hours=hour, minutes=minute)


def signed_in(url: str, email: str) -> httpx.Client:
    web = httpx.Client(base_url=url)
    token = web.post("/v1/auth/magic-link", json={"email": email}).json()["dev_token"]
    assert web.post("/v1/auth/verify", json={"token": token}).status_code == 200
    return web


def new_agent(web: httpx.Client, url: str, name: str, priority: int) -> Any:
    made = web.post("/v1/dashboard/agents", json={"name": name, "priority": priority}).json()
    client = agentdraft.Client(api_key=made["plaintext_key"], base_url=url)
    client.agent_id = made["agent_id"]
    return client


@pytest.fixture
def calendar(http_server: Any) -> dict[str, Any]:
    """One owner with four bookings: a commit evicted by a better agent, the winner,
    a released hold and a later commit."""
    web = signed_in(http_server.url, f"views-{datetime.now().timestamp()}@example.com")
    top = new_agent(web, http_server.url, "top", 1)
    low = new_agent(web, http_server.url, "low", 2)
    loser = low.bookings.commit(start=at(10), end=at(10, 30))
    winner = top.bookings.commit(start=at(10), end=at(10, 30))
    hold = top.bookings.hold(start=at(12), end=at(12, 30))
    top.bookings.release(hold.booking_id)
    late = low.bookings.commit(start=at(14), end=at(15))
    return {
        "web": web,
        "top": top,
        "low": low,
        "ids": [loser.booking_id, winner.booking_id, hold.booking_id, late.booking_id],
    }


def _ids(page: dict[str, Any]) -> list[str]:
    return [b["booking_id"] for b in page["bookings"]]


def test_bookings_list_filters_and_pages_in_start_order(calendar: dict[str, Any]) -> None:
    web, (loser, winner, hold, late) = calendar["web"], calendar["ids"]
    everything = web.get("/v1/dashboard/bookings").json()
    assert everything["next_cursor"] is None
    by_id = {b["booking_id"]: b for b in everything["bookings"]}
    assert set(by_id) == {loser, winner, hold, late}
    assert by_id[loser]["status"] == "EVICTED" and by_id[loser]["ended_by_booking_id"] == winner
    assert by_id[hold]["status"] == "RELEASED"
    starts = [b["start"] for b in everything["bookings"]]
    assert starts == sorted(starts) and _ids(everything)[-2:] == [hold, late]

    q = {"status": "COMMITTED"}
    assert sorted(_ids(web.get("/v1/dashboard/bookings", params=q).json())) == sorted(
        [winner, late]
    )
    q = {"agent_id": calendar["low"].agent_id}
    assert sorted(_ids(web.get("/v1/dashboard/bookings", params=q).json())) == sorted([loser, late])
    q = {"start": at(12, 15).isoformat(), "end": at(14).isoformat()}
    assert _ids(web.get("/v1/dashboard/bookings", params=q).json()) == [hold]

    walked: list[str] = []
    params: dict[str, Any] = {"limit": 1}
    while True:
        page = web.get("/v1/dashboard/bookings", params=params).json()
        assert len(page["bookings"]) == 1
        walked += _ids(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert walked == _ids(everything)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"status": "BOGUS"}, "status"),
        ({"start": "2032-03-02T10:00:00"}, "start"),
        ({"start": "yesterday"}, "start"),
        ({"start": "2032-03-02T10:00:00Z", "end": "2032-03-02T09:00:00Z"}, "end"),
        ({"agent_id": "not an id"}, "agent_id"),
        ({"cursor": "%%%"}, "cursor"),
        ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor"),
    ],
)
def test_bad_booking_queries_are_typed_422s(
    http_server: Any, params: dict[str, Any], field: str
) -> None:
    web = signed_in(http_server.url, "views-bad@example.com")
    r = web.get("/v1/dashboard/bookings", params=params)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_request" and body["field"] == field and body["detail"]


def test_one_booking_comes_with_its_audit_trail(calendar: dict[str, Any], http_server: Any) -> None:
    web, (loser, winner, _hold, _late) = calendar["web"], calendar["ids"]
    r = web.get(f"/v1/dashboard/bookings/{loser}")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["booking"]["status"] == "EVICTED"
    types = [e["type"] for e in detail["audit"]]
    assert types[0] == "booking.committed" and "booking.evicted" in types
    assert all(loser in str(e["fields"]) for e in detail["audit"])
    assert web.get(f"/v1/dashboard/bookings/{_hold}").json()["booking"]["status"] == "RELEASED"
    assert web.get("/v1/dashboard/bookings/bkg_nope").status_code == 404
    assert web.get("/v1/dashboard/bookings/nope").status_code == 422
    stranger = signed_in(http_server.url, "views-stranger@example.com")
    assert stranger.get(f"/v1/dashboard/bookings/{winner}").status_code == 404
    assert stranger.get("/v1/dashboard/bookings").json()["bookings"] == []
    assert httpx.get(f"{http_server.url}/v1/dashboard/bookings").status_code == 401


def test_audit_pages_and_reports_the_chain_verified(calendar: dict[str, Any]) -> None:
    web = calendar["web"]
    full = web.get("/v1/dashboard/audit", params={"limit": 1000}).json()
    assert full["verification"]["ok"] is True
    assert full["verification"]["entries"] == len(full["entries"]) >= 8
    ids = [e["id"] for e in full["entries"]]
    walked: list[str] = []
    params: dict[str, Any] = {"limit": 3, "verify": "false"}
    while True:
        page = web.get("/v1/dashboard/audit", params=params).json()
        assert page["verification"] is None
        walked += [e["id"] for e in page["entries"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert walked == ids
    future = web.get("/v1/dashboard/audit", params={"start": "2099-01-01T00:00:00Z"}).json()
    assert future["entries"] == [] and future["verification"]["ok"] is True
    for params, field in (
        ({"cursor": "x"}, "cursor"),
        ({"limit": 0}, "limit"),
        ({"end": "soon"}, "end"),
    ):
        r = web.get("/v1/dashboard/audit", params=params)
        assert (r.status_code, r.json()["field"]) == (422, field)


def test_proposals_are_listed_for_the_owner(
    calendar: dict[str, Any], http_coord: Coordinator
) -> None:
    web, top, low = calendar["web"], calendar["top"], calendar["low"]
    user_id = web.get("/v1/me/profile").json()["user_id"]
    made = http_coord.proposals.create(
        calendar_id=user_id,
        organizer_agent_id=top.agent_id,
        participant_agent_ids=[low.agent_id],
        slots=[{"start_time": at(16).isoformat(), "end_time": at(17).isoformat()}],
        title="sync",
    )
    listed = web.get("/v1/dashboard/proposals").json()
    assert [p["id"] for p in listed] == [made.id] and listed[0]["status"] == "pending"
    assert web.get("/v1/dashboard/proposals", params={"status": "expired"}).json() == []
    r = web.get("/v1/dashboard/proposals", params={"status": "nope"})
    assert (r.status_code, r.json()["field"]) == (422, "status")


def test_the_event_catalog_names_every_subscribable_event(http_server: Any) -> None:
    web = signed_in(http_server.url, "views-catalog@example.com")
    catalog = web.get("/v1/dashboard/webhooks/events").json()
    assert [e["type"] for e in catalog] == list(EVENT_TYPES)
    for e in catalog:
        assert e["description"] and "\n" not in e["description"]
        assert e["example"]["id"].startswith("evt_") and e["example"]["user_id"]
    assert httpx.get(f"{http_server.url}/v1/dashboard/webhooks/events").status_code == 401


# -- the Python surface ----------------------------------------------------------------


def test_views_on_the_python_surface(backend: Backend) -> None:
    url, folder = backend.url, backend.data_dir
    with Coordinator.from_url(url) if url else Coordinator.embedded(folder) as coord:
        _check_views(coord)


def _check_views(coord: Coordinator) -> None:
    owner = coord.owners.create()
    a = coord.agents.create(owner.user_id, name="a", priority=1)
    bot = coord.client(a.api_key)
    made = [bot.bookings.commit(start=at(h), end=at(h, 30)) for h in (9, 8, 11)]
    bot.bookings.cancel(made[2].booking_id)
    page = coord.views.bookings(owner.user_id, limit=2)
    assert [b.booking_id for b in page.bookings] == [made[1].booking_id, made[0].booking_id]
    rest = coord.views.bookings(owner.user_id, cursor=page.next_cursor)
    assert [b.booking_id for b in rest.bookings] == [made[2].booking_id]
    assert rest.next_cursor is None
    cancelled = coord.views.bookings(owner.user_id, status="CANCELLED").bookings
    assert [b.booking_id for b in cancelled] == [made[2].booking_id]
    detail = coord.views.booking(owner.user_id, made[2].booking_id)
    assert [e.type for e in detail.audit] == ["booking.committed", "booking.cancelled"]
    audit = coord.views.audit(owner.user_id)
    assert audit.verification is not None and audit.verification.ok
    since = audit.entries[2].ts  # a start bound and a cursor together
    walked, cursor = [], None
    while True:
        page = coord.views.audit(owner.user_id, start=since, cursor=cursor, limit=2, verify=False)
        walked += [e.id for e in page.entries]
        if (cursor := page.next_cursor) is None:
            break
    assert walked == [e.id for e in audit.entries if e.ts >= since]
    assert coord.views.proposals(owner.user_id) == []
    for kw, field in (
        ({"limit": True}, "limit"),
        ({"status": "committed"}, "status"),
        ({"start": "2032-03-02T10:00:00"}, "start"),
        ({"cursor": "???"}, "cursor"),
    ):
        with pytest.raises(ValidationError) as err:
            coord.views.bookings(owner.user_id, **kw)
        assert err.value.field == field
    with pytest.raises(NotFound):
        coord.views.booking(owner.user_id, "bkg_missing")


@pytest.fixture
def endpoint(
    http_server: Any, request: pytest.FixtureRequest
) -> Iterator[tuple[httpx.Client, str]]:
    """A signed-in owner and one registered endpoint, removed afterwards: a ``--dispatch``
    server on the shared Redis must not keep trying to deliver to it."""
    web = signed_in(http_server.url, f"{request.node.name}@example.com")
    made = web.post("/v1/dashboard/webhooks", json={"url": "https://hooks.example.com/x"})
    assert made.status_code == 201, made.text
    endpoint_id = made.json()["endpoint_id"]
    yield web, endpoint_id
    assert web.delete(f"/v1/dashboard/webhooks/{endpoint_id}").status_code == 204


def test_an_endpoints_delivery_log_is_read_by_its_owner_only(
    http_server: Any, http_coord: Coordinator, endpoint: tuple[httpx.Client, str]
) -> None:
    web, endpoint_id = endpoint
    user_id = web.get("/v1/me/profile").json()["user_id"]
    url = f"/v1/dashboard/webhooks/{endpoint_id}/deliveries"
    assert web.get(url).json() == []
    keys = http_coord.store.keys
    for n, code in ((1, 500), (2, 200)):
        entry = Delivery(
            event_id="evt_x", type="booking.committed", attempt=n, at=at(n), ok=code == 200,
            status_code=code, next_retry_at=at(n + 1) if code != 200 else None,
        )  # fmt: skip
        deliveries.record(http_coord.redis, keys, user_id, endpoint_id, entry)
    log = web.get(url).json()
    assert [(d["attempt"], d["status_code"], d["ok"]) for d in log] == [
        (2, 200, True),
        (1, 500, False),
    ]
    assert log[1]["next_retry_at"] is not None and log[0]["next_retry_at"] is None
    assert len(web.get(url, params={"limit": 1}).json()) == 1
    r = web.get(url, params={"limit": 0})
    assert (r.status_code, r.json()["field"]) == (422, "limit")
    stranger = signed_in(http_server.url, "views-deliveries-2@example.com")
    assert stranger.get(url).status_code == 404
    assert web.get("/v1/dashboard/webhooks/ep_missing/deliveries").status_code == 404


def test_the_owner_redelivers_a_kept_event_over_http(
    http_server: Any, http_coord: Coordinator, endpoint: tuple[httpx.Client, str]
) -> None:
    web, endpoint_id = endpoint
    bot = new_agent(web, http_server.url, "bot", 1)
    bot.bookings.commit(start=at(18), end=at(18, 30))
    user_id = web.get("/v1/me/profile").json()["user_id"]
    outbox = http_coord.store.keys.prefix(user_id) + "outbox"
    ((_, first),) = http_coord.redis.xrange(outbox)
    url = f"/v1/dashboard/webhooks/{endpoint_id}/deliveries/{first['id']}/redeliver"
    r = web.post(url)
    assert r.status_code == 202, r.text
    copies = [f for _, f in http_coord.redis.xrange(outbox)]
    assert [f["id"] for f in copies] == [first["id"]] * 2 and copies[1]["only"] == endpoint_id
    missing = f"/v1/dashboard/webhooks/{endpoint_id}/deliveries/evt_missing/redeliver"
    assert web.post(missing).status_code == 404
    stranger = signed_in(http_server.url, "views-redeliver-2@example.com")
    assert stranger.post(url).status_code == 404
    assert len(http_coord.redis.xrange(outbox)) == 2
