"""Counter-offers over real HTTP on ``coordinator serve``: ``/v1/bookings/{id}/counter(s)``.

The official SDK 0.1.3 has no counter calls, so the counter endpoints are spoken with
httpx (as any agent would); commits and their 409s go through the SDK itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import agentdraft
import httpx
import pytest

from coordinator import Coordinator
from tests.support.race import at_once

from .conftest import HttpServer

BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return BASE + timedelta(minutes=minutes)


def slot(minutes: int) -> dict[str, str]:
    return {"start": at(minutes).isoformat(), "end": at(minutes + 30).isoformat()}


@dataclass
class Agent:
    agent_id: str
    sdk: agentdraft.Client
    http: httpx.Client


@pytest.fixture
def agents(http_server: HttpServer, http_coord: Coordinator) -> Iterator[dict[str, Agent]]:
    """winner (priority 1), loser (2), other (3), third (4), each with SDK and httpx clients."""
    owner = http_coord.owners.create()
    out = {}
    for name, prio in (("winner", 1), ("loser", 2), ("other", 3), ("third", 4)):
        a = http_coord.agents.create(owner.user_id, name=name, priority=prio)
        out[name] = Agent(
            a.agent_id,
            agentdraft.Client(api_key=a.api_key, base_url=http_server.url),
            httpx.Client(
                base_url=http_server.url,
                headers={"Authorization": f"Bearer {a.api_key}"},
                timeout=30,
            ),
        )
    yield out
    for a in out.values():
        a.http.close()
        a.sdk.close()


def _lost_to(a: dict[str, Agent], minutes: int) -> str:
    """The winner books ``minutes``; the loser's SDK commit gets the 409 naming it."""
    won = a["winner"].sdk.bookings.commit(start=at(minutes), end=at(minutes + 30))
    with pytest.raises(agentdraft.Conflict) as lost:
        a["loser"].sdk.bookings.commit(start=at(minutes), end=at(minutes + 30))
    assert lost.value.winning_booking_id == won.booking_id
    return won.booking_id


def test_counter_accept_and_the_loser_books_the_freed_slot(agents: dict[str, Agent]) -> None:
    a = agents
    bid = _lost_to(a, 0)
    r = a["loser"].http.post(
        f"/v1/bookings/{bid}/counter", json={"proposed": [slot(60), slot(90)], "note": "Later?"}
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert {"counter_id", "booking_id", "proposed"} <= set(body)
    assert body["booking_id"] == bid and len(body["proposed"]) == 2
    cid = body["counter_id"]

    listed = a["winner"].http.get(f"/v1/bookings/{bid}/counters").json()
    assert [c["counter_id"] for c in listed["counters"]] == [cid]
    assert a["loser"].http.get(f"/v1/bookings/{bid}/counters").status_code == 403
    assert (
        a["third"]
        .http.post(f"/v1/bookings/{bid}/counters/{cid}/accept", json={"slot_index": 0})
        .status_code
        == 403
    )

    done = a["winner"].http.post(
        f"/v1/bookings/{bid}/counters/{cid}/accept", json={"slot_index": 1}
    )
    assert done.status_code == 200, done.text
    moved = done.json()
    assert moved["status"] == "accepted" and moved["booking"]["status"] == "COMMITTED"
    assert datetime.fromisoformat(moved["booking"]["start"]) == at(90)
    assert a["winner"].http.get(f"/v1/bookings/{bid}").json()["status"] == "MOVED"
    again = a["winner"].http.post(f"/v1/bookings/{bid}/counters/{cid}/reject")
    assert (again.status_code, again.json()["error"]) == (409, "counter_decided")
    # The loser reads its answer, then books the slot it wanted, through the SDK.
    assert a["loser"].http.get(f"/v1/bookings/{bid}/counters/{cid}").json()["status"] == (
        "accepted"
    )
    assert a["loser"].sdk.bookings.commit(start=at(0), end=at(30)).status == "COMMITTED"


def test_reject_keeps_the_booking(agents: dict[str, Agent]) -> None:
    a = agents
    bid = _lost_to(a, 200)
    cid = a["loser"].http.post(f"/v1/bookings/{bid}/counter", json={"proposed": [slot(260)]})
    cid = cid.json()["counter_id"]
    r = a["winner"].http.post(f"/v1/bookings/{bid}/counters/{cid}/reject")
    assert (r.status_code, r.json()["status"]) == (200, "rejected")
    assert a["winner"].http.get(f"/v1/bookings/{bid}").json()["status"] == "COMMITTED"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"proposed": []}, None),
        ({"proposed": [slot(60)] * 6}, None),
        ({"proposed": [{"start": "2031-03-03T11:00:00", "end": "2031-03-03T11:30:00"}]}, None),
        ({"proposed": [{"start": at(60).isoformat(), "end": at(30).isoformat()}]}, None),
        ({"proposed": [slot(60)], "note": "x" * 501}, None),
        ({"proposed": [slot(60)], "note": "bell\u0007"}, "note"),
        ({"proposed": [slot(60)], "extra": 1}, None),
        ({"proposed": "soon"}, None),
    ],
)
def test_bad_counter_bodies_are_typed_422s(
    agents: dict[str, Agent], body: dict[str, Any], field: str | None
) -> None:
    a = agents
    bid = _lost_to(a, 400)
    r = a["loser"].http.post(f"/v1/bookings/{bid}/counter", json=body)
    assert r.status_code == 422 and r.json()["error"] and r.json()["detail"], r.text
    if field:
        assert r.json()["field"] == field
    assert a["winner"].http.get(f"/v1/bookings/{bid}/counters").json()["counters"] == []


def test_bad_accept_bodies_are_typed_and_move_nothing(agents: dict[str, Agent]) -> None:
    a = agents
    bid = _lost_to(a, 500)
    cid = a["loser"].http.post(f"/v1/bookings/{bid}/counter", json={"proposed": [slot(560)]})
    cid = cid.json()["counter_id"]
    url = f"/v1/bookings/{bid}/counters/{cid}/accept"
    for body in (
        {"slot_index": 1},
        {"slot_index": -1},
        {"slot_index": "0"},
        {},
        {"slot_index": 1.5},
    ):
        r = a["winner"].http.post(url, json=body)
        assert r.status_code == 422 and r.json()["error"], (body, r.text)
    missing = a["winner"].http.post(
        f"/v1/bookings/{bid}/counters/cnt_0000000000000000/accept", json={"slot_index": 0}
    )
    assert (missing.status_code, missing.json()["error"]) == (404, "counter_not_found")
    assert a["winner"].http.get(f"/v1/bookings/{bid}").json()["status"] == "COMMITTED"


def test_two_losers_counter_at_once_over_http(agents: dict[str, Agent]) -> None:
    a = agents
    for r in range(5):
        bid = _lost_to(a, 1000 + r * 60)
        got = at_once(
            [
                lambda bid=bid: a["loser"].http.post(
                    f"/v1/bookings/{bid}/counter", json={"proposed": [slot(3000)]}
                ),
                lambda bid=bid: a["other"].http.post(
                    f"/v1/bookings/{bid}/counter", json={"proposed": [slot(3060)]}
                ),
            ]
        )
        assert [g.status_code for g in got] == [201, 201]
        listed = a["winner"].http.get(f"/v1/bookings/{bid}/counters").json()["counters"]
        assert sorted(c["agent_id"] for c in listed) == sorted(
            [a["loser"].agent_id, a["other"].agent_id]
        )


def test_accept_racing_a_third_agent_over_http_leaves_one_holder(
    agents: dict[str, Agent],
) -> None:
    a = agents
    for r in range(6):
        base = 4000 + r * 240
        bid = _lost_to(a, base)
        c = a["loser"].http.post(
            f"/v1/bookings/{bid}/counter", json={"proposed": [slot(base + 120)]}
        )
        cid = c.json()["counter_id"]
        accepted, grabbed = at_once(
            [
                lambda bid=bid, cid=cid: a["winner"].http.post(
                    f"/v1/bookings/{bid}/counters/{cid}/accept", json={"slot_index": 0}
                ),
                lambda base=base: a["third"].sdk.bookings.commit(
                    start=at(base + 120), end=at(base + 150), bump_window_seconds=0
                ),
            ]
        )
        original = a["winner"].http.get(f"/v1/bookings/{bid}").json()["status"]
        if accepted.status_code == 409:
            body = accepted.json()
            assert body["winning_agent_id"] == a["third"].agent_id
            assert body["winning_booking_id"] == grabbed.booking_id
            assert original == "COMMITTED"
        else:
            assert accepted.status_code == 200, accepted.text
            assert isinstance(grabbed, agentdraft.Conflict)
            assert grabbed.winning_booking_id == accepted.json()["new_booking_id"]
            assert original == "MOVED"
