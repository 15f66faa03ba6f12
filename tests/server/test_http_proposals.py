"""Multi-slot proposals over real HTTP: ``/v1/scheduling/proposals`` on ``coordinator serve``.

The official SDK has no proposals surface, so these speak JSON with httpx, as an
agent in any language would.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from coordinator import Coordinator
from tests.support.servers import RedisServer

from .conftest import HttpServer, start_server

BASE = datetime(2031, 3, 3, 10, 0, tzinfo=UTC)


def slot(minutes: int, weight: float | None = None) -> dict[str, Any]:
    s: dict[str, Any] = {
        "start_time": (BASE + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "end_time": (BASE + timedelta(minutes=minutes + 60)).isoformat().replace("+00:00", "Z"),
    }
    if weight is not None:
        s["weight"] = weight
    return s


@dataclass
class Agent:
    agent_id: str
    http: httpx.Client


@pytest.fixture
def agents(http_server: HttpServer, http_coord: Coordinator) -> Iterator[dict[str, Agent]]:
    """top (priority 1), organizer (3), alice (4), bob (5), each with its own HTTP client."""
    owner = http_coord.owners.create()
    out = {}
    for name, prio in (("top", 1), ("organizer", 3), ("alice", 4), ("bob", 5)):
        a = http_coord.agents.create(owner.user_id, name=name, priority=prio)
        out[name] = Agent(
            a.agent_id,
            httpx.Client(
                base_url=http_server.url,
                headers={"Authorization": f"Bearer {a.api_key}"},
                timeout=10,
            ),
        )
    yield out
    for a in out.values():
        a.http.close()


def create(agents: dict[str, Agent], slots: list[dict[str, Any]], **kw: Any) -> dict[str, Any]:
    body = {
        "title": "Q2 planning sync",
        "participant_agent_ids": [agents["alice"].agent_id, agents["bob"].agent_id],
        "slots": slots,
        **kw,
    }
    r = agents["organizer"].http.post("/v1/scheduling/proposals", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_seed_004_flow_over_http(agents: dict[str, Agent]) -> None:
    p = create(
        agents,
        [slot(0, 2.0), slot(24 * 60), slot(48 * 60, 1.5)],
        organizer_agent_id=agents["organizer"].agent_id,
    )
    assert p["status"] == "pending" and p["id"].startswith("spr_")
    assert p["organizer_agent_id"] == agents["organizer"].agent_id
    fetched = agents["alice"].http.get(f"/v1/scheduling/proposals/{p['id']}").json()
    slot_ids = [s["id"] for s in fetched["slots"]]
    assert [s["weight"] for s in fetched["slots"]] == [2.0, 1.0, 1.5]
    r = agents["alice"].http.post(
        f"/v1/scheduling/proposals/{p['id']}/respond",
        json={
            "agent_id": agents["alice"].agent_id,
            "response": "accept",
            "selected_slot_id": slot_ids[1],
        },
    )
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = agents["bob"].http.post(
        f"/v1/scheduling/proposals/{p['id']}/respond",
        json={
            "response": "counter",
            "selected_slot_id": slot_ids[1],
            "counter_slots": [slot(72 * 60)],
            "message": "or Thursday",
        },
    )
    done = r.json()
    assert done["status"] == "confirmed" and done["resolved_slot"]["id"] == slot_ids[1]
    booking = agents["organizer"].http.get(f"/v1/bookings/{done['created_event_id']}").json()
    assert booking["status"] == "COMMITTED"
    assert done["responses"][1]["counter_slots"][0]["start_time"].startswith("2031-03-06T10:00")
    listed = (
        agents["bob"].http.get("/v1/scheduling/proposals", params={"status": "confirmed"}).json()
    )
    assert [x["id"] for x in listed] == [p["id"]]
    assert agents["top"].http.get("/v1/scheduling/proposals").json() == []


def test_resolve_early_and_all_declined_answer_seed_004_shapes(agents: dict[str, Agent]) -> None:
    p = create(agents, [slot(0), slot(120)])
    agents["alice"].http.post(
        f"/v1/scheduling/proposals/{p['id']}/respond",
        json={"response": "accept", "selected_slot_id": p["slots"][1]["id"]},
    )
    r = agents["organizer"].http.post(f"/v1/scheduling/proposals/{p['id']}/resolve")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "confirmed" and body["resolved_slot"]["id"] == p["slots"][1]["id"]
    assert body["resolved_slot"]["start_time"].startswith("2031-03-03T12:00")
    q = create(agents, [slot(300)])
    agents["alice"].http.post(
        f"/v1/scheduling/proposals/{q['id']}/respond", json={"response": "decline"}
    )
    r = agents["organizer"].http.post(f"/v1/scheduling/proposals/{q['id']}/resolve")
    assert r.json()["status"] == "cancelled" and r.json()["reason"] == "all_declined"


def test_typed_errors_over_http(agents: dict[str, Agent]) -> None:
    p = create(agents, [slot(0)])
    url = f"/v1/scheduling/proposals/{p['id']}"
    outsider = agents["top"].http.post(f"{url}/respond", json={"response": "decline"})
    assert outsider.status_code == 403 and outsider.json()["error"] == "forbidden"
    assert agents["alice"].http.post(f"{url}/resolve").status_code == 403
    first = agents["alice"].http.post(f"{url}/respond", json={"response": "decline"})
    assert first.status_code == 200
    dup = agents["alice"].http.post(f"{url}/respond", json={"response": "decline"})
    assert dup.status_code == 409 and dup.json()["error"] == "duplicate_response"
    assert agents["organizer"].http.post(f"{url}/cancel").json()["reason"] == "organizer_cancelled"
    late = agents["bob"].http.post(f"{url}/respond", json={"response": "decline"})
    assert late.status_code == 409 and late.json()["error"] == "proposal_not_pending"
    assert late.json()["proposal_status"] == "cancelled"
    missing = agents["alice"].http.get("/v1/scheduling/proposals/spr_nope")
    assert missing.status_code == 404 and missing.json()["error"] == "proposal_not_found"
    bad = agents["organizer"].http.post(
        "/v1/scheduling/proposals",
        json={
            "participant_agent_ids": [agents["alice"].agent_id],
            "slots": [{"start_time": slot(60)["start_time"], "end_time": slot(0)["start_time"]}],
        },
    )
    assert bad.status_code == 422 and bad.json()["field"] == "slots[0].end_time"
    unknown = agents["organizer"].http.post(
        "/v1/scheduling/proposals",
        json={"participant_agent_ids": ["agt_nobody"], "slots": [slot(0)]},
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "participant_agent_ids[0]"
    too_many = agents["organizer"].http.post(
        "/v1/scheduling/proposals",
        json={
            "participant_agent_ids": [agents["alice"].agent_id],
            "slots": [slot(i * 60) for i in range(21)],
        },
    )
    assert too_many.status_code == 422 and "error" in too_many.json()
    assert agents["organizer"].http.get("/v1/scheduling/proposals").json()[0]["id"] == p["id"]


def test_a_lost_resolution_is_a_409_naming_the_winner(agents: dict[str, Agent]) -> None:
    p = create(agents, [slot(0, 3.0), slot(120)])
    won = agents["top"].http.post(
        "/v1/bookings",
        json={"start": slot(0)["start_time"], "end": slot(0)["end_time"], "mode": "commit"},
    )
    assert won.status_code == 201
    r = agents["organizer"].http.post(f"/v1/scheduling/proposals/{p['id']}/resolve")
    assert r.status_code == 409
    body = r.json()
    assert body["error"] == "resolution_failed" and body["cause"] == "outranked"
    assert body["winning_agent_id"] == agents["top"].agent_id
    assert body["winning_agent_priority"] == 1
    assert body["winning_booking_id"] == won.json()["booking_id"]
    assert body["remaining_slot_ids"] == [p["slots"][1]["id"]]
    assert body["proposal_status"] == "pending" and body["detail"]
    again = agents["organizer"].http.post(f"/v1/scheduling/proposals/{p['id']}/resolve")
    assert again.status_code == 200 and again.json()["resolved_slot"]["id"] == p["slots"][1]["id"]


def test_expiry_survives_a_server_restart(fresh_redis_server: RedisServer) -> None:
    coord = Coordinator.from_url(fresh_redis_server.url, run_proposal_timer=False)
    owner = coord.owners.create()
    org = coord.agents.create(owner.user_id, name="org", priority=1)
    guest = coord.agents.create(owner.user_id, name="guest", priority=2)
    server = start_server(fresh_redis_server.url)
    secs, micros = coord.redis.time()
    expires_ms = int(secs) * 1000 + int(micros) // 1000 + 1500
    try:
        r = httpx.post(
            f"{server.url}/v1/scheduling/proposals",
            headers={"Authorization": f"Bearer {org.api_key}"},
            json={
                "participant_agent_ids": [guest.agent_id],
                "slots": [slot(0)],
                "expires_at": datetime.fromtimestamp(expires_ms / 1000, tz=UTC).isoformat(),
            },
        )
        assert r.status_code == 201
        pid = r.json()["id"]
    finally:
        server.proc.kill()  # no goodbye: the server dies with the deadline still ahead
        server.proc.wait()
    key = coord.store.keys.proposals(owner.user_id)
    while time.time() * 1000 < expires_ms + 100:  # the deadline passes with no server up
        time.sleep(0.05)
    assert json.loads(coord.redis.hget(key, pid))["status"] == "pending"
    audit = coord.store.keys.audit(owner.user_id)
    last = coord.redis.xrevrange(audit, count=1)[0][0]
    second = start_server(fresh_redis_server.url)
    try:
        deadline = time.monotonic() + 15
        expired = None
        while expired is None and time.monotonic() < deadline:
            for _, entries in coord.redis.xread({audit: last}, block=500) or []:
                for eid, fields in entries:
                    last = eid
                    if fields["type"] == "proposal.expired" and fields["proposal_id"] == pid:
                        expired = fields
        assert expired is not None, "the restarted server never expired the proposal"
        assert int(expired["ts"]) >= expires_ms
        assert json.loads(coord.redis.hget(key, pid))["status"] == "expired"
    finally:
        second.stop()
        coord.close()
